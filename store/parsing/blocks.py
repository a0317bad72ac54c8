"""Lines to paragraphs, reading the little Markdown that people put in notes and briefs.

Briefs and notes share this so that a bullet list, a quoted block or a heading means the same in
both: each bullet item is its own paragraph, a heading is never an insight, code stays as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from store.parsing.decode import is_blank
from store.text import clean_text

_FENCE = re.compile(r"^(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"#{1,6}(?:[ \t]+|$)")
_RULE = re.compile(r"^(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|={3,})$")
# Up to three digits so that a line opening with a year ("2024. ...") stays text.
_BULLET = re.compile(r"^(?:[-*+\u2022\u2023\u25e6\u25aa]|\d{1,3}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_QUOTE = re.compile(r"^(?:>[ \t]?)+")
_TITLE_MAX_CHARS = 80


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph, bullet item, heading or code block; ``lines`` keep the wrapping so that
    boilerplate can be recognised line by line."""

    lines: tuple[str, ...]
    heading: bool = False
    code: bool = False

    @property
    def text(self) -> str:
        return clean_text(" ".join(self.lines))

    @property
    def first_line(self) -> str:
        return next((line for line in self.lines if not is_blank(line)), "")


def split_blocks(lines: Iterable[str]) -> list[Block]:
    """Blank lines, bullets, headings and rules end a paragraph; wrapped lines join into one."""
    blocks: list[Block] = []
    current: list[str] = []
    fence: str | None = None
    code: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(Block(tuple(current)))
            current.clear()

    for raw in lines:
        line = raw.strip()
        if fence is not None:
            if line.startswith(fence) and not line.strip(fence[0]):
                blocks.append(Block(tuple(code), code=True))
                code = []
                fence = None
            else:
                code.append(line)
            continue
        line = _QUOTE.sub("", line).strip()
        fence_match = _FENCE.match(line)
        if fence_match:
            flush()
            fence = fence_match.group(1)
            continue
        if is_blank(line):
            flush()
            continue
        if _RULE.match(line):
            # A Setext underline makes the line above a heading, but only when that line reads like a
            # title; after a sentence the same "---" is a separator and the sentence an insight.
            if line[0] in "=-" and len(current) == 1 and _reads_like_title(current[0]):
                blocks.append(Block((current[0],), heading=True))
                current.clear()
            else:
                flush()
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            flush()
            blocks.append(Block((_heading_title(line[heading.end() :]),), heading=True))
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            line = line[bullet.end() :]
        current.append(line)
    if fence is not None and code:
        blocks.append(Block(tuple(code), code=True))
    flush()
    return blocks


def _heading_title(rest: str) -> str:
    """The title without an optional closing run of "#" (done in code: as a regex it backtracks)."""
    title = rest.strip()
    without_closing = title.rstrip("#")
    if without_closing != title and (not without_closing or without_closing[-1] in " \t"):
        return without_closing.strip()
    return title


def _reads_like_title(line: str) -> bool:
    text = clean_text(line)
    return 0 < len(text) <= _TITLE_MAX_CHARS and text[-1] not in ".!?;,"


def has_words(text: str) -> bool:
    """A paragraph of only punctuation or symbols (a stray "-", "...") is layout, not an insight."""
    return any(character.isalnum() for character in text)
