"""What a person typed into an option that autocompletes to an id, read the way they meant it.

Discord sends whatever is in the box when Enter is pressed, picked from the list or not: an id
(picked), words (typed and not picked), or something id-like but broken (pasted badly). Words are
resolved by the commands to the item they match best; a broken id, or nothing at all, is refused
here, before anything is deferred, because no store call can make it right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from store import ID_LENGTH, MAX_QUERY_CHARS, InvalidInput, clean_text, looks_like_insight_id

_HEX_RUN = re.compile(r"[0-9a-f]+")
PICK_FROM_THE_LIST = "pick an item from the list as you type"


@dataclass(frozen=True, slots=True)
class Typed:
    """Exactly one of ``insight_id`` and ``words`` is set."""

    insight_id: str | None = None
    words: str | None = None


def id_or_words(value: str, what: str = "insight") -> Typed:
    cleaned = clean_text(value)
    if not cleaned:
        raise InvalidInput(f"the {what} is empty: type a few words from it, then {PICK_FROM_THE_LIST}")
    lowered = cleaned.lower()
    if looks_like_insight_id(lowered):
        return Typed(insight_id=lowered)
    if _HEX_RUN.fullmatch(lowered) and any(character.isdigit() for character in lowered) and len(lowered) >= 10:
        raise InvalidInput(
            f"'{cleaned[:40]}' is not an insight id: ids are {ID_LENGTH} characters of 0-9 and a-f, "
            f"this one has {len(lowered)}; {PICK_FROM_THE_LIST}"
        )
    return Typed(words=cleaned)


def query_or_refusal(value: str, what: str = "query", limit: int = MAX_QUERY_CHARS) -> str:
    """A search query with something in it and not too long; only spaces (or invisible
    characters) is refused, as is anything Discord should have cut and did not."""
    cleaned = clean_text(value)
    if not cleaned:
        raise InvalidInput(f"the {what} is empty: type a few words about the idea you want to recall")
    if len(cleaned) > limit:
        raise InvalidInput(f"the {what} is {len(cleaned)} characters long: keep it under {limit}")
    return cleaned


__all__ = ["PICK_FROM_THE_LIST", "Typed", "id_or_words", "query_or_refusal"]
