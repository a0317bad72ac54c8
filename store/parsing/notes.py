"""Free-form notes: every paragraph (or bullet item) is one insight.

Headings are never insights, but they are kept as the subject of the notes under them, because a
person organising notes under "# Pricing" has told us what those notes are about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from store.model import BriefSource, ParsedBrief
from store.parsing.blocks import Block, has_words, split_blocks
from store.parsing.decode import EMPTY_MESSAGE, split_lines
from store.parsing.errors import ParseError
from store.text import clean_text

_FRONT_MATTER_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")
_FRONT_MATTER_MAX_LINES = 60


def parse_notes_text(text: str, origin: str) -> list[ParsedBrief]:
    source = BriefSource(kind="note", origin=origin)
    notes = notes_from_blocks(split_blocks(_without_front_matter(split_lines(text))), source, subject_from_headings=True)
    if not notes:
        if not clean_text(text):
            raise ParseError(EMPTY_MESSAGE)
        raise ParseError("no insights found: the file has only headings; write each insight as its own paragraph")
    return notes


def notes_from_blocks(blocks: Sequence[Block], source: BriefSource, *, subject_from_headings: bool) -> list[ParsedBrief]:
    notes: list[ParsedBrief] = []
    current = source
    for block in blocks:
        if block.heading:
            if subject_from_headings:
                current = BriefSource(source.kind, source.origin, clean_text(block.text) or None, source.date)
            continue
        text = block.text
        if has_words(text):
            notes.append(ParsedBrief(source=current, main=text))
    return notes


def _without_front_matter(lines: list[str]) -> list[str]:
    """Obsidian and static-site notes open with a YAML block of metadata that is not an insight."""
    if not lines or lines[0].strip() != "---" or len(lines) < 3 or not _FRONT_MATTER_KEY.match(lines[1].strip()):
        return lines
    for index in range(2, min(len(lines), _FRONT_MATTER_MAX_LINES)):
        if lines[index].strip() in ("---", "..."):
            return lines[index + 1 :]
    return lines
