"""Podcast briefs: a header, one main insight, a "Related Insights" line, then related insights.

Boilerplate is recognised by a short list of whole-line patterns rather than by position, because
briefs arrive through many paths (saved text, forwarded email, HTML newsletters) that each add or
drop lines around the insights. A paragraph is skipped only when *every* line of it matches, so a
wrapped insight that happens to contain "unsubscribe" is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from store.model import BriefSource, ParsedBrief
from store.parsing.blocks import Block, has_words, split_blocks
from store.parsing.decode import EMPTY_MESSAGE, is_blank, split_lines
from store.parsing.errors import ParseError
from store.text import clean_text

# Matched against the stripped line, so no leading or trailing whitespace is left for the pattern to
# backtrack over (a long run of spaces would otherwise make it quadratic).
RELATED_HEADING = re.compile(
    r"(?:>[ \t]*)*(?:#{1,6}[ \t]*)?[*_]{0,3}related[ \t]+insights(?:[ \t]*\(\d+\))?[ \t]*:?[*_]{0,3}:?(?:[ \t]*#+)?",
    re.IGNORECASE,
)
_HEADING_MAX_CHARS = 80


def _patterns(*sources: str) -> re.Pattern[str]:
    """One alternation per list: a line is tested once per list, not once per pattern."""
    return re.compile("|".join(f"(?:{source})" for source in sources), re.IGNORECASE)


# Lines the brief service itself prints above the main insight; one of these marks a file as a brief.
BRIEF_HEADER = _patterns(
    r"get your free personali[sz]ed podcast brief[.!]?",
    r"we scan new podcasts and send you the top \d+ insights daily[.!]?",
)

# Lines that mail clients and newsletter tools add around the content.
GENERIC_BOILERPLATE = _patterns(
    r"(view|read|open)( this)?( email| message| brief| newsletter)? (in|on) (your |a |the )?(web ?)?browser[.!]?",
    r"(view|read) (it |this )?online[.!]?",
    r"(having )?trouble (viewing|reading) this( email| message)?\??.{0,60}",
    r"top( \d+)? insights( (for|from|of|today) ?[^.!?]{0,40})?:?",
    r"(your )?(daily |weekly |free )?(personali[sz]ed )?(podcast )?(brief|digest|insights)( for [^.!?]{0,40})?:?",
    r"-*\s*forwarded message\s*-*",
    r"begin forwarded message:?",
    r"(from|to|cc|date|sent|subject|reply-to):\s.*",
    r"(hi|hello|hey|dear)( [^.!?,]{1,40})?[,!:]?",
    r"(privacy policy|terms( of (service|use))?|contact us|preferences)([\s|\u00b7\u2022]+(privacy policy|terms( of (service|use))?|contact us|preferences))*",
    r"forward (this|it) to a friend[.!]?",
)

# Lines that open an email footer: once a paragraph after the insights starts with one, the rest of
# the text is footer (addresses and legal lines match no pattern, so stopping is the only way to leave
# them out). Each is a phrase at the start of a line, so an insight that merely mentions one survives.
FOOTER_START = _patterns(
    r"(click here to |to )?unsubscribe\b.*",
    r".{0,60}[|\u00b7\u2022]\s*unsubscribe\b.*",
    r"(you('re| are)|you were) receiving this.*",
    r"you received this (email|message|newsletter|brief).*",
    r"this (email|message|newsletter) was sent (to|by).*",
    r"(\u00a9|\(c\)\s*\d{4}|copyright\s*(\u00a9|\(c\))?\s*\d{4}).*",
    r"(manage|update|change) (your )?(email |subscription |notification )?(preferences|subscriptions?|settings)\b.*",
    r"(to stop receiving|if you (no longer|don't|do not) (wish|want) to receive).*",
    r"sent from my \S.{0,40}",
)
# A short line that mentions unsubscribing anywhere ("Don't want these? Unsubscribe.") is footer too,
# but only inside a paragraph that is boilerplate throughout.
FOOTER = _patterns(FOOTER_START.pattern, r".{0,60}\bunsubscribe\b.{0,60}")

_ANY_BOILERPLATE = _patterns(BRIEF_HEADER.pattern, GENERIC_BOILERPLATE.pattern, FOOTER.pattern)
_LINK = re.compile(r"\[([^\]\n]{0,200})\]\([^)\s]{0,500}\)")
# Boilerplate is short; a longer line is content, and skipping it keeps every pattern cheap.
_BOILERPLATE_MAX_CHARS = 1000
_URL = re.compile(r"<?https?://\S+>?")
_EDGE = " \t#>*_~`|:\u00b7\u2022-"
_PREVIEW_CHARS = 60


def is_related_heading(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) <= _HEADING_MAX_CHARS and RELATED_HEADING.fullmatch(stripped) is not None


def looks_like_brief(text: str) -> bool:
    """A "Related Insights" line or the service's own header; generic email chrome is not enough."""
    return any(is_related_heading(line) or _matches(BRIEF_HEADER, line) for line in split_lines(text))


def is_boilerplate_line(line: str) -> bool:
    """A line that is only a link or decoration counts too: newsletters print bare tracking URLs."""
    if len(line) <= _BOILERPLATE_MAX_CHARS and not _plain(line):
        return not is_blank(line)
    return _matches(_ANY_BOILERPLATE, line)


def is_boilerplate(block: Block) -> bool:
    lines = [line for line in block.lines if not is_blank(line)]
    return not block.code and bool(lines) and all(is_boilerplate_line(line) for line in lines)


def starts_footer(block: Block) -> bool:
    if block.code or block.heading:
        return False
    if _matches(FOOTER_START, block.first_line):
        return True
    return is_boilerplate(block) and any(_matches(FOOTER, line) for line in block.lines)


def parse_brief_text(text: str, source: BriefSource, *, problems: list[str] | None = None) -> ParsedBrief:
    """The main insight is the first paragraph that is not boilerplate (after the service's header
    lines when they are present).

    Any further paragraphs before "Related Insights" are left out and described in ``problems``
    rather than guessed at: joining them or taking the last one would store a wrong insight
    silently, while a note lets the person check the file.
    """
    notes = problems if problems is not None else []
    lines = split_lines(text)
    heading_at = next((index for index, line in enumerate(lines) if is_related_heading(line)), None)
    head = lines if heading_at is None else lines[:heading_at]
    tail = [] if heading_at is None else lines[heading_at + 1 :]
    # The service's header sits right above the main insight, so whatever precedes it (a note
    # added when forwarding, the forwarded-message block) belongs to the envelope, not the brief.
    head = head[_after_service_header(head) :]

    candidates = _head_paragraphs(split_blocks(head))
    related = _related_paragraphs(split_blocks(tail))

    if not candidates:
        if related:
            raise ParseError('no main insight found: put the main insight above the "Related Insights" line')
        if not clean_text(text):
            raise ParseError(EMPTY_MESSAGE)
        raise ParseError("no insights found: the brief has only header or footer lines")
    main, extra = candidates[0], candidates[1:]
    if extra:
        where = (
            'before "Related Insights"'
            if heading_at is not None
            else 'after the main insight (there is no "Related Insights" line)'
        )
        notes.append(
            f"left out {len(extra)} paragraph(s) {where}; only the first is kept as the main insight"
            f" (left out: {_preview(extra[0])!r})"
        )
    return ParsedBrief(source=source, main=main, related=tuple(related))


def _after_service_header(lines: Sequence[str]) -> int:
    """Index just past the first group of header lines (blank and boilerplate lines may sit between
    them); only the first group, because newsletters repeat the same line as a footer link."""
    start = next((index for index, line in enumerate(lines) if _matches(BRIEF_HEADER, line)), None)
    if start is None:
        return 0
    end = start
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if is_blank(line):
            continue
        if not is_boilerplate_line(line):
            break
        if _matches(BRIEF_HEADER, line):
            end = index
    return end + 1


def _head_paragraphs(blocks: Sequence[Block]) -> list[str]:
    """Before the main insight a footer-like paragraph is header chrome and is skipped; after it, a
    footer ends the text (this matters for briefs without a "Related Insights" section)."""
    found: list[str] = []
    for block in blocks:
        if block.heading:
            continue
        if starts_footer(block):
            if found:
                break
            continue
        if is_boilerplate(block):
            continue
        text = block.text
        if has_words(text):
            found.append(text)
    return found


def _related_paragraphs(blocks: Sequence[Block]) -> list[str]:
    found: list[str] = []
    for block in blocks:
        if block.heading:
            continue
        if starts_footer(block):
            break
        if is_boilerplate(block):
            continue
        text = block.text
        if has_words(text):
            found.append(text)
    return found


def _preview(text: str) -> str:
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1].rstrip() + "\u2026"


@lru_cache(maxsize=1024)
def _plain(line: str) -> str:
    """Markdown links, URLs and decoration stripped, so "[View in browser](https://...)" matches.

    Cached because each line is tested against several lists in a row."""
    if "](" in line:
        line = _LINK.sub(r"\1", line)
    if "://" in line:
        line = _URL.sub(" ", line)
    return clean_text(line).strip(_EDGE).strip()


def _matches(pattern: re.Pattern[str], line: str) -> bool:
    if len(line) > _BOILERPLATE_MAX_CHARS:
        return False
    plain = _plain(line)
    return bool(plain) and pattern.fullmatch(plain) is not None
