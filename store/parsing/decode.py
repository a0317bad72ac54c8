"""Bytes to text, with the checks that let a person fix a bad file instead of ingesting noise."""

from __future__ import annotations

import codecs
import re

from store.parsing.errors import ParseError
from store.text import clean_text

MAX_FILE_BYTES = 20 * 1024 * 1024

# Random bytes often decode as valid UTF-8 made of control characters; text never has many of them.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_CONTROL_SHARE_LIMIT = 0.1
# Anything but whitespace and the invisible characters that ``clean_text`` removes.
_VISIBLE = re.compile(r"[^\s\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)

BINARY_MESSAGE = "binary file (not text): only text files (.txt, .md, .eml, .mbox, .jsonl) can be ingested"
EMPTY_MESSAGE = "no insights found: the file is empty"


def check_size(size: int) -> None:
    """Refuse early so that a huge upload is never decoded or held twice in memory."""
    if size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise ParseError(f"file is larger than the {limit} MB limit: split it into smaller files and ingest each")


def decode_text(data: bytes) -> str:
    """UTF-8 is the only encoding guessed at; UTF-16/32 are accepted only when a BOM proves them,
    because any other guess (Latin-1, cp1252) silently turns a wrong guess into wrong insights."""
    check_size(len(data))
    text = _decode(data)
    if "\x00" in text or _mostly_control(text):
        raise ParseError(BINARY_MESSAGE)
    text = normalise_newlines(text)
    if not clean_text(text):
        raise ParseError(EMPTY_MESSAGE)
    return text


def normalise_newlines(text: str) -> str:
    """Files from Windows (CRLF) and old Mac tools (CR) must split into the same lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_lines(text: str) -> list[str]:
    """Split only on newlines: ``str.splitlines`` also breaks on U+2028 and friends, which are
    legal inside a JSON string and inside a sentence."""
    return normalise_newlines(text).split("\n")


def is_blank(line: str) -> bool:
    """Blank as the store sees it: invisible characters alone do not make a line of text."""
    return _VISIBLE.search(line) is None


def _decode(data: bytes) -> str:
    for bom, encoding, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                raise ParseError(
                    f"not valid {name} text although it starts with a {name} marker: save it as UTF-8 and ingest again"
                ) from None
    if b"\x00" in data:
        raise ParseError(BINARY_MESSAGE)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError(
            "not UTF-8 text: save it as UTF-8 (most editors offer this under 'Save as' or 'Encoding') and ingest again"
        ) from None


def _mostly_control(text: str) -> bool:
    if not text:
        return False
    sample = text[:65536]
    return len(_CONTROL.findall(sample)) > _CONTROL_SHARE_LIMIT * len(sample)
