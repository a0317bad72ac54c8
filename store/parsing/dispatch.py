"""Choosing a parser by file name, for files on disk and for attachments held in memory alike."""

from __future__ import annotations

import stat
from pathlib import Path

from store.model import BriefSource, ParsedBrief, ParsedFile
from store.parsing.brief import looks_like_brief, parse_brief_text
from store.parsing.decode import EMPTY_MESSAGE, check_size, decode_text
from store.parsing.email_parser import parse_email_bytes, parse_mbox_bytes
from store.parsing.errors import ParseError
from store.parsing.jsonl import parse_jsonl_text
from store.parsing.notes import parse_notes_text

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".text"})
EMAIL_EXTENSIONS = frozenset({".eml"})
MBOX_EXTENSIONS = frozenset({".mbox"})
JSONL_EXTENSIONS = frozenset({".jsonl", ".ndjson"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | EMAIL_EXTENSIONS | MBOX_EXTENSIONS | JSONL_EXTENSIONS
_SUPPORTED_LIST = ".txt, .md, .eml, .mbox, .jsonl or .ndjson"


def parse_file(path: Path) -> ParsedFile:
    """Every failure, including the file vanishing or being unreadable, comes out as ParseError so
    a caller ingesting a folder can report it and carry on with the next file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ParseError("not found: check the path and try again") from None
    except OSError as error:
        raise ParseError(f"cannot be read ({error.strerror or 'unknown error'}): check the path and its permissions") from None
    if stat.S_ISDIR(info.st_mode):
        raise ParseError("is a folder, not a file: pass the folder to ingest to read every file in it")
    if not stat.S_ISREG(info.st_mode):
        raise ParseError("not a regular file: only ordinary files can be ingested")
    check_size(info.st_size)
    try:
        data = path.read_bytes()
    except PermissionError:
        raise ParseError("cannot be read (permission denied): check the file's permissions") from None
    except OSError as error:
        raise ParseError(f"cannot be read ({error.strerror or 'unknown error'}): check the file and try again") from None
    return _parse(data, path, str(path))


def parse_bytes(data: bytes, filename: str | Path) -> ParsedFile:
    """The same as :func:`parse_file` for content already in memory, such as a Discord attachment;
    ``filename`` picks the parser and becomes the origin of what is found."""
    return _parse(data, Path(filename), str(filename))


def _parse(data: bytes, path: Path, origin: str) -> ParsedFile:
    check_size(len(data))
    result = ParsedFile(path=path)
    extension = path.suffix.lower()
    if extension in EMAIL_EXTENSIONS:
        result.briefs = parse_email_bytes(data, origin, problems=result.problems)
    elif extension in MBOX_EXTENSIONS:
        result.briefs, result.problems = parse_mbox_bytes(data, origin)
    elif extension in JSONL_EXTENSIONS:
        result.briefs, result.problems = parse_jsonl_text(decode_text(data), origin)
    elif extension in TEXT_EXTENSIONS:
        result.briefs = _text_briefs(decode_text(data), origin, result.problems)
    else:
        result.briefs = _text_briefs(_sniffed_text(data, extension), origin, result.problems)
    return result


def _text_briefs(text: str, origin: str, problems: list[str]) -> list[ParsedBrief]:
    if looks_like_brief(text):
        return [parse_brief_text(text, BriefSource(kind="brief", origin=origin), problems=problems)]
    return parse_notes_text(text, origin)


def _sniffed_text(data: bytes, extension: str) -> str:
    """An unknown extension is read as text when it is text, since notes often come as .log or no
    extension at all; anything else gets a message naming the formats that work."""
    try:
        return decode_text(data)
    except ParseError as error:
        if str(error) == EMPTY_MESSAGE:
            raise
        kind = f"'{extension}'" if extension else "(no extension)"
        raise ParseError(f"unsupported file type {kind} and not UTF-8 text: ingest {_SUPPORTED_LIST} files") from None
