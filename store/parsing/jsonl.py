"""JSON Lines exports: one brief per line, so one bad line should not cost the others."""

from __future__ import annotations

import json
from typing import Any

from store.model import BriefSource, ParsedBrief
from store.parsing.decode import EMPTY_MESSAGE, split_lines
from store.parsing.errors import ParseError
from store.text import clean_text

_REPORTED_IN_ERROR = 3


class _BadLine(Exception):
    """Why one line was skipped; becomes "line N: <reason>" in the file's problems."""


def parse_jsonl_text(text: str, origin: str) -> tuple[list[ParsedBrief], list[str]]:
    """Returns the good lines and a problem per bad line; raises only when no line is usable."""
    briefs: list[ParsedBrief] = []
    problems: list[str] = []
    for number, line in enumerate(split_lines(text.removeprefix("\ufeff")), start=1):
        if not clean_text(line):
            continue
        try:
            briefs.append(_brief(line, origin))
        except _BadLine as reason:
            problems.append(f"line {number}: {reason}")
    if not briefs:
        if not problems:
            raise ParseError(EMPTY_MESSAGE)
        shown = "; ".join(problems[:_REPORTED_IN_ERROR])
        more = f" (and {len(problems) - _REPORTED_IN_ERROR} more)" if len(problems) > _REPORTED_IN_ERROR else ""
        raise ParseError(f'no insights found: no line is a JSON object with a "text" field: {shown}{more}')
    return briefs, problems


def _brief(line: str, origin: str) -> ParsedBrief:
    try:
        value: Any = json.loads(line)
    except json.JSONDecodeError as error:
        raise _BadLine(f"invalid JSON ({error.msg} at column {error.colno})") from None
    except (ValueError, RecursionError):
        # Numbers beyond the int digit limit raise ValueError, very deep nesting RecursionError.
        raise _BadLine("invalid JSON (too deeply nested or a number too large)") from None
    if not isinstance(value, dict):
        raise _BadLine(f'expected a JSON object with a "text" field, found {_json_type(value)}')
    raw_text = value.get("text")
    if raw_text is None:
        raise _BadLine('missing "text"')
    if not isinstance(raw_text, str):
        raise _BadLine(f'"text" must be a string, found {_json_type(raw_text)}')
    main = clean_text(raw_text)
    if not main:
        raise _BadLine('"text" is empty')
    related = _related(value.get("related"))
    source = BriefSource(
        kind="jsonl",
        origin=_optional_string(value, "source") or origin,
        subject=_optional_string(value, "subject"),
        date=_optional_string(value, "date"),
    )
    return ParsedBrief(source=source, main=main, related=related)


def _related(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _BadLine('"related" must be a list of strings')
    return tuple(text for item in value if (text := clean_text(item)))


def _optional_string(value: dict[str, Any], key: str) -> str | None:
    field = value.get(key)
    if field is None:
        return None
    if not isinstance(field, str):
        raise _BadLine(f'"{key}" must be a string, found {_json_type(field)}')
    return clean_text(field) or None


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true/false", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
