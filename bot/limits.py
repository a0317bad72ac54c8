"""Discord's size limits in one place, applied by cutting text with "…" instead of failing.

Discord rejects a whole message when one part is a character too long, and insight text is free
text of any length, so everything the bot sends passes through here last. Lengths are counted in
UTF-16 code units, which is never less than the code-point count Discord is documented to use: a
message that fits by this measure fits by either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import discord

ELLIPSIS = "…"

CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS_PER_EMBED = 25
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL = 6000
CHOICE_NAME = 100
CHOICE_VALUE = 100
CHOICES = 25
BUTTON_LABEL = 80

# Discord refuses an empty field name or value; a zero-width space is the usual stand-in.
_BLANK = "\u200b"


def text_length(text: str) -> int:
    """How long Discord may consider ``text`` to be, at the strictest (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit``, otherwise its start and "…" in exactly ``limit`` units."""
    if limit <= 0:
        return ""
    if text_length(text) <= limit:
        return text
    budget = limit - text_length(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for character in text:
        width = text_length(character)
        if used + width > budget:
            break
        kept.append(character)
        used += width
    return "".join(kept) + ELLIPSIS


def fit_content(content: str | None) -> str | None:
    return None if content is None else truncate(content, CONTENT)


def embed_length(embed: discord.Embed) -> int:
    """The count Discord checks against 6000: title, description, field names and values,
    footer text and author name."""
    return sum(text_length(part) for part in _counted_texts(_document(embed)))


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """A copy of ``embed`` with every part within its own limit and at most 25 fields."""
    data = _document(embed)
    _fit_parts(data)
    return discord.Embed.from_dict(data)


def fit_embeds(embeds: Iterable[discord.Embed]) -> list[discord.Embed]:
    """At most ten embeds, each within its part limits, together within 6000 units; when the sum
    is too long the longest parts are shortened first, so short labels survive and one huge
    insight does not squeeze out the rest."""
    documents = [_document(embed) for embed in list(embeds)[:EMBEDS_PER_MESSAGE]]
    for data in documents:
        _fit_parts(data)
    excess = sum(text_length(text) for data in documents for text in _counted_texts(data)) - EMBED_TOTAL
    while excess > 0:
        holder, key = max(_counted_slots(documents), key=lambda slot: text_length(slot[0][slot[1]]))
        current = text_length(holder[key])
        target = max(1, current - excess)
        if target >= current:
            break  # unreachable with Discord's per-part limits, kept as a guard against looping
        holder[key] = truncate(holder[key], target)
        excess -= current - text_length(holder[key])
    return [discord.Embed.from_dict(data) for data in documents]


def within_limits(content: str | None, embeds: Iterable[discord.Embed]) -> bool:
    """True when a message with this content and these embeds would be accepted; for tests and
    for assertions at the edges."""
    listed = list(embeds)
    if content is not None and text_length(content) > CONTENT:
        return False
    if len(listed) > EMBEDS_PER_MESSAGE:
        return False
    total = 0
    for embed in listed:
        data = _document(embed)
        for holder, key, limit in _limited_slots(data):
            if text_length(holder[key]) > limit:
                return False
        fields = data.get("fields", [])
        if len(fields) > FIELDS_PER_EMBED or any(not field.get("name") or not field.get("value") for field in fields):
            return False
        total += sum(text_length(text) for text in _counted_texts(data))
    return total <= EMBED_TOTAL


def _document(embed: discord.Embed) -> dict[str, Any]:
    """The embed as the plain dict this module edits (discord.py types it as a closed TypedDict)."""
    return cast("dict[str, Any]", embed.to_dict())


def _fit_parts(data: dict[str, Any]) -> None:
    if "fields" in data:
        data["fields"] = data["fields"][:FIELDS_PER_EMBED]
        for field in data["fields"]:
            field["name"] = str(field.get("name") or "").strip() or _BLANK
            field["value"] = str(field.get("value") or "").strip() or _BLANK
    for holder, key, limit in _limited_slots(data):
        holder[key] = truncate(str(holder[key]), limit)


def _limited_slots(data: dict[str, Any]) -> list[tuple[dict[str, Any], str, int]]:
    slots: list[tuple[dict[str, Any], str, int]] = []
    for key, limit in (("title", EMBED_TITLE), ("description", EMBED_DESCRIPTION)):
        if isinstance(data.get(key), str):
            slots.append((data, key, limit))
    for section, key, limit in (("footer", "text", FOOTER_TEXT), ("author", "name", AUTHOR_NAME)):
        holder = data.get(section)
        if isinstance(holder, dict) and isinstance(holder.get(key), str):
            slots.append((holder, key, limit))
    for field in data.get("fields", []):
        slots.append((field, "name", FIELD_NAME))
        slots.append((field, "value", FIELD_VALUE))
    return slots


def _counted_slots(documents: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    return [(holder, key) for data in documents for holder, key, _ in _limited_slots(data)]


def _counted_texts(data: dict[str, Any]) -> list[str]:
    return [str(holder[key]) for holder, key, _ in _limited_slots(data)]


__all__ = [
    "AUTHOR_NAME",
    "BUTTON_LABEL",
    "CHOICES",
    "CHOICE_NAME",
    "CHOICE_VALUE",
    "CONTENT",
    "ELLIPSIS",
    "EMBEDS_PER_MESSAGE",
    "EMBED_DESCRIPTION",
    "EMBED_TITLE",
    "EMBED_TOTAL",
    "FIELDS_PER_EMBED",
    "FIELD_NAME",
    "FIELD_VALUE",
    "FOOTER_TEXT",
    "embed_length",
    "fit_content",
    "fit_embed",
    "fit_embeds",
    "text_length",
    "truncate",
    "within_limits",
]
