"""File parsers: podcast briefs (text, Markdown, email, mbox), free-form notes and JSON Lines.

Pure functions from bytes or text to :class:`~store.model.ParsedBrief` values; nothing here knows
about Discord, the database or embeddings, so the bot (attachments in memory) and the command line
(files and folders) share every rule about what counts as an insight.
"""

from __future__ import annotations

from store.parsing.brief import looks_like_brief, parse_brief_text
from store.parsing.decode import MAX_FILE_BYTES, decode_text
from store.parsing.dispatch import SUPPORTED_EXTENSIONS, parse_bytes, parse_file
from store.parsing.email_parser import parse_email_bytes, parse_mbox_bytes
from store.parsing.errors import ParseError
from store.parsing.jsonl import parse_jsonl_text
from store.parsing.notes import parse_notes_text
from store.parsing.walk import iter_input_files

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_EXTENSIONS",
    "ParseError",
    "decode_text",
    "iter_input_files",
    "looks_like_brief",
    "parse_brief_text",
    "parse_bytes",
    "parse_email_bytes",
    "parse_file",
    "parse_jsonl_text",
    "parse_mbox_bytes",
    "parse_notes_text",
]
