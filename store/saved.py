"""Personal saved lists: the insights one person chose to keep, behind the bot's Save buttons.

Every method takes the owner's id and every statement filters on it, so there is no call that can
read, change or export somebody else's list. The id's shape is checked first so that a front's
mistake (an empty string, a display name with spaces, an id with a stray newline) fails loudly
instead of quietly starting a list of its own.
"""

from __future__ import annotations

import builtins
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store import sql_dialect
from store.errors import InsightNotFound, InvalidInput
from store.outages import outage_boundary
from store.schema import insights, saved_items
from store.text import looks_like_insight_id

# Discord snowflakes are digits; the wider alphabet lets the command line and tests use readable names.
_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_PER_PAGE = 100
MAX_LIMIT = 100
# Far below the bound-parameter limits of SQLite (32766) and PostgreSQL (65535).
_IN_CHUNK = 900
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class SavedItem:
    insight_id: str
    text: str
    saved_at: datetime


@dataclass(frozen=True, slots=True)
class SavedPage:
    items: tuple[SavedItem, ...]
    page: int
    per_page: int
    total: int
    pages: int


def _check_user(user_id: str) -> str:
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        raise InvalidInput("a user id is 1 to 32 letters, digits, '_' or '-' (a Discord user id is digits)")
    return user_id


def _check_limit(limit: int, name: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"{name} must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def _normalise_id(insight_id: str) -> str:
    # Ids are stored as lowercase hex; people paste them with stray spaces or in capitals.
    return insight_id.strip().lower() if isinstance(insight_id, str) else ""


def _utc(moment: datetime) -> datetime:
    # SQLite hands back the naive UTC wall time we stored; PostgreSQL an aware time in the session's zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def like_contains(fragment: str) -> str:
    """A LIKE pattern matching ``fragment`` anywhere, literally: without escaping, a user who types
    "100%" or "snake_case" would match far more than they typed."""
    escaped = fragment.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def _text_contains(fragment: str) -> ColumnElement[bool]:
    # Python's lower() rather than casefold(), so the pattern is lowered the way SQL lower() lowers text.
    return func.lower(insights.c.text).like(like_contains(fragment.lower()), escape=_LIKE_ESCAPE)


def _count_of(user_id: str) -> Select[Any]:
    return select(func.count()).select_from(saved_items).where(saved_items.c.user_id == _check_user(user_id))


def _item(row: Any) -> SavedItem:
    return SavedItem(insight_id=row.insight_id, text=row.text, saved_at=_utc(row.saved_at))


def _now() -> datetime:
    return datetime.now(UTC)


class SavedLists:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = _now) -> None:
        """``clock`` exists so tests can give each save its own moment: saves in a tight loop can
        share a microsecond, and "newest first" is then only as good as the tie-break."""
        self._engine = engine
        self._clock = clock

    def _owned(self, user_id: str) -> Select[Any]:
        """The one query every read starts from, so that no read can forget the owner filter."""
        return (
            select(saved_items.c.insight_id, insights.c.text, saved_items.c.saved_at)
            .join(insights, insights.c.id == saved_items.c.insight_id)
            .where(saved_items.c.user_id == _check_user(user_id))
            .order_by(saved_items.c.saved_at.desc(), saved_items.c.insight_id)
        )

    async def _items(self, statement: Select[Any]) -> list[SavedItem]:
        async with outage_boundary("saved lists"), self._engine.connect() as connection:
            return [_item(row) for row in await connection.execute(statement)]

    async def save(self, user_id: str, insight_id: str) -> bool:
        """True when newly saved and False when it already was, decided by the database's own
        conflict handling, so that a double-clicked button or two devices at once still give one
        row and one "saved"."""
        user_id = _check_user(user_id)
        wanted = _normalise_id(insight_id)
        if not looks_like_insight_id(wanted):
            raise InsightNotFound(str(insight_id))
        statement = (
            sql_dialect.insert(self._engine, saved_items)
            .values(user_id=user_id, insight_id=wanted, saved_at=_utc(self._clock()))
            .on_conflict_do_nothing(index_elements=[saved_items.c.user_id, saved_items.c.insight_id])
        )
        try:
            async with outage_boundary("saved lists"), self._engine.begin() as connection:
                found = await connection.scalar(select(insights.c.id).where(insights.c.id == wanted))
                if found is None:
                    raise InsightNotFound(wanted)
                result = await connection.execute(statement)
                return result.rowcount == 1
        except IntegrityError as error:
            # The insight was deleted between the check and the insert; the foreign key caught it.
            raise InsightNotFound(wanted) from error

    async def remove(self, user_id: str, insight_id: str) -> bool:
        user_id = _check_user(user_id)
        wanted = _normalise_id(insight_id)
        async with outage_boundary("saved lists"), self._engine.begin() as connection:
            result = await connection.execute(
                saved_items.delete().where(and_(saved_items.c.user_id == user_id, saved_items.c.insight_id == wanted))
            )
            return result.rowcount > 0

    async def list(self, user_id: str, *, page: int = 1, per_page: int = 10) -> SavedPage:
        """A page past the end is empty rather than an error: the list may have shrunk (an item
        removed from another device) while someone was paging through it."""
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise InvalidInput("page numbers start at 1")
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be a whole number from 1 to {MAX_PER_PAGE}")
        statement = self._owned(user_id).limit(per_page).offset((page - 1) * per_page)
        async with outage_boundary("saved lists"), self._engine.connect() as connection:
            total = int((await connection.execute(_count_of(user_id))).scalar_one())
            items = tuple(_item(row) for row in await connection.execute(statement)) if (page - 1) * per_page < total else ()
        return SavedPage(items=items, page=page, per_page=per_page, total=total, pages=max(1, math.ceil(total / per_page)))

    async def contains(self, user_id: str, insight_ids: Sequence[str]) -> set[str]:
        user_id = _check_user(user_id)
        wanted = sorted({value for value in insight_ids if isinstance(value, str)})
        found: set[str] = set()
        async with outage_boundary("saved lists"), self._engine.connect() as connection:
            for start in range(0, len(wanted), _IN_CHUNK):
                rows = await connection.execute(
                    select(saved_items.c.insight_id).where(
                        and_(saved_items.c.user_id == user_id, saved_items.c.insight_id.in_(wanted[start : start + _IN_CHUNK]))
                    )
                )
                found.update(row[0] for row in rows)
        return found

    async def search(self, user_id: str, query: str, limit: int = 10) -> builtins.list[SavedItem]:
        """Every word must appear, in any order: people remember a couple of words of what they
        saved, not the sentence, and each extra word should narrow the list, not widen it."""
        words = list(dict.fromkeys(query.lower().split())) if isinstance(query, str) else []
        if not words:
            raise InvalidInput("type a few words to search your saved insights")
        statement = self._owned(user_id).where(and_(*(_text_contains(word) for word in words))).limit(_check_limit(limit))
        return await self._items(statement)

    async def autocomplete(self, user_id: str, prefix: str, limit: int = 25) -> builtins.list[SavedItem]:
        """The typed fragment is matched as one piece (spaces included), since it is what someone is
        typing right now; nothing typed yet shows the newest, the likeliest to be wanted."""
        statement = self._owned(user_id).limit(_check_limit(limit))
        fragment = prefix.strip() if isinstance(prefix, str) else ""
        if fragment:
            statement = statement.where(_text_contains(fragment))
        return await self._items(statement)

    async def all_items(self, user_id: str) -> builtins.list[SavedItem]:
        return await self._items(self._owned(user_id))

    async def count(self, user_id: str) -> int:
        return await self._scalar(_count_of(user_id))

    async def total(self) -> int:
        return await self._scalar(select(func.count()).select_from(saved_items))

    async def users(self) -> int:
        return await self._scalar(select(func.count(func.distinct(saved_items.c.user_id))))

    async def _scalar(self, statement: Select[Any]) -> int:
        async with outage_boundary("saved lists"), self._engine.connect() as connection:
            return int((await connection.execute(statement)).scalar_one())


__all__ = ["MAX_LIMIT", "MAX_PER_PAGE", "SavedItem", "SavedLists", "SavedPage", "like_contains"]
