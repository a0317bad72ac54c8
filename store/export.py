"""Saved lists as files people take elsewhere: Markdown for notes apps, CSV for spreadsheets, JSON
for scripts.

Each format is built with its own rules in mind rather than by string pasting, because insight text
is free text from briefs and emails: it may hold newlines, Markdown markers, quotes or a leading
"=" that a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal, get_args

from store.errors import InvalidInput
from store.saved import SavedItem

ExportFormat = Literal["markdown", "csv", "json"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
FILENAME_STEM = "saved-insights"

# Spreadsheets (Excel, LibreOffice, Google Sheets) treat a cell that starts with one of these as a
# formula, so an insight such as '=HYPERLINK("https://evil", "click")' or '@SUM(...)' would run
# when someone opens their own export. A leading apostrophe makes the cell plain text in all of
# them (OWASP "CSV injection"). The cost is a visible apostrophe for a program reading the raw file,
# which is why only cells that start with one of these get it.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Line starts that CommonMark would read as a heading, quote, list, fence, thematic break, setext
# underline, HTML block, table or link reference definition (which would vanish) rather than as
# text of the current item.
_BLOCK_START = re.compile(r"^(?:[#>+*=_`~<|\[-])")
# An ordered-list marker is neutralised after its digits, where a backslash is a valid escape.
_ORDERED_START = re.compile(r"^(\d{1,9})([.)])")


def export_saved(items: Sequence[SavedItem], fmt: ExportFormat, user_label: str | None = None) -> tuple[str, bytes]:
    """Returns a suggested file name and the file's UTF-8 bytes; the caller decides whether they go
    to a Discord attachment, a file or stdout."""
    writers: dict[str, tuple[str, Callable[[Sequence[SavedItem], str | None], str]]] = {
        "markdown": ("md", _markdown),
        "csv": ("csv", _csv),
        "json": ("json", _json),
    }
    if fmt not in writers:
        raise InvalidInput(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    extension, write = writers[fmt]
    # "replace" so that a stray lone surrogate in old data costs one character, not the whole export.
    return f"{FILENAME_STEM}.{extension}", write(items, user_label).encode("utf-8", "replace")


def _iso(moment: datetime) -> str:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat()


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _markdown_lines(text: str) -> list[str]:
    """The insight's lines with their block markers neutralised by a backslash (which renders as
    nothing), so every line stays text inside its own bullet. Leading spaces go because four of
    them would turn a line into a code block; runs of blank lines shrink to one, which keeps the
    paragraph break without risking an item that ends early."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if lines and lines[-1]:
                lines.append("")
            continue
        line = "\\" + line if _BLOCK_START.match(line) else _ORDERED_START.sub(r"\1\\\2", line, count=1)
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _markdown(items: Sequence[SavedItem], user_label: str | None) -> str:
    label = _one_line(user_label or "")
    heading = f"# Saved insights — {label}" if label else "# Saved insights"
    count = len(items)
    summary = f"{count} saved insight{'s' if count != 1 else ''}, newest first." if count else "Nothing saved yet."
    out = [heading, "", summary, ""]
    for item in items:
        lines = _markdown_lines(item.text) or ["*(no text)*"]
        out.append(f"- {lines[0]}")
        # Two spaces is the content column of "- ": continuation lines stay inside the bullet.
        out.extend(f"  {line}" if line else "" for line in lines[1:])
        out.append("")
        out.append(f"  *Saved {_iso(item.saved_at)[:10]} · id `{_one_line(item.insight_id)}`*")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _csv(items: Sequence[SavedItem], _user_label: str | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["insight_id", "text", "saved_at"])
    for item in items:
        writer.writerow(
            [_spreadsheet_safe(item.insight_id), _spreadsheet_safe(item.text), _spreadsheet_safe(_iso(item.saved_at))]
        )
    return buffer.getvalue()


def _json(items: Sequence[SavedItem], _user_label: str | None) -> str:
    document = {
        "items": [{"id": item.insight_id, "text": item.text, "saved_at": _iso(item.saved_at)} for item in items],
        "count": len(items),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


__all__ = ["EXPORT_FORMATS", "ExportFormat", "export_saved"]
