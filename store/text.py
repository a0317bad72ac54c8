"""Text normalisation and the stable insight id derived from it.

The id is what makes re-ingest idempotent and merges an insight that two briefs share, so the
normalisation must ignore differences that do not change the insight (case, spacing, typographic
quotes and dashes, invisible characters) and nothing else.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

ID_LENGTH = 16
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")
_ID_SHAPE = re.compile(rf"^[0-9a-f]{{{ID_LENGTH}}}$")
_TYPOGRAPHY = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u00a0": " "}
)


def clean_text(text: str) -> str:
    """The text as stored and shown: invisible characters and lone surrogates removed, spacing collapsed."""
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def normalise_for_id(text: str) -> str:
    text = unicodedata.normalize("NFKC", clean_text(text)).translate(_TYPOGRAPHY)
    return _SPACES.sub(" ", text).strip().casefold()


def insight_id(text: str) -> str:
    return hashlib.sha256(normalise_for_id(text).encode("utf-8")).hexdigest()[:ID_LENGTH]


def looks_like_insight_id(value: str) -> bool:
    return bool(_ID_SHAPE.match(value.strip().lower()))


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
