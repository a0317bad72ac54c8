"""Saved lists and their exports, on a real SQLite file and, when INSIGHT_TEST_POSTGRES_URL is set,
on a real PostgreSQL: the guarantees that matter (one row per save under races, no reading another
person's list, literal search) are the database's to keep, so a fake would prove nothing."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import itertools
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import markdown_it
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.database import create_engine, initialise
from store.errors import InsightNotFound, InvalidInput, StoreError
from store.export import export_saved
from store.saved import SavedItem, SavedLists
from store.schema import insights, metadata, saved_items
from tests.servers import POSTGRES_SKIP_REASON

POSTGRES_URL_VARIABLE = "INSIGHT_TEST_POSTGRES_URL"
START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
ALICE = "111111111111111111"
BOB = "222222222222222222"


def make_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class StepClock:
    """Each save one second after the last, so "newest first" is tested on real differences."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return START + timedelta(seconds=next(self._ticks))


async def _add_insights(engine: AsyncEngine, *texts: str) -> list[str]:
    ids = [make_id(text) for text in texts]
    async with engine.begin() as connection:
        await connection.execute(
            insights.insert(), [{"id": id_, "text": text, "first_seen": START} for id_, text in zip(ids, texts, strict=True)]
        )
    return ids


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    else:
        url = os.environ.get(POSTGRES_URL_VARIABLE, "")
        if not url:
            pytest.skip(POSTGRES_SKIP_REASON)
    created = create_engine(url)
    try:
        if request.param == "postgresql":
            # The database is shared between runs: start from empty tables every time.
            async with created.begin() as connection:
                await connection.run_sync(metadata.drop_all)
        await initialise(created)
        yield created
    finally:
        await created.dispose()


@pytest.fixture
def lists(engine: AsyncEngine) -> SavedLists:
    return SavedLists(engine, clock=StepClock())


@pytest.fixture
async def three(engine: AsyncEngine) -> list[str]:
    return await _add_insights(
        engine,
        "Specialised models beat general ones on narrow tasks.",
        "Distribution matters more than the product in enterprise sales.",
        "Inference costs fall about tenfold a year.",
    )


async def _rows(engine: AsyncEngine, user_id: str | None = None) -> int:
    statement = select(func.count()).select_from(saved_items)
    if user_id is not None:
        statement = statement.where(saved_items.c.user_id == user_id)
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


# --- saving and removing -------------------------------------------------------------------------


async def test_save_then_save_again_keeps_one_row(lists: SavedLists, engine: AsyncEngine, three: list[str]) -> None:
    assert await lists.save(ALICE, three[0]) is True
    assert await lists.save(ALICE, three[0]) is False
    assert await _rows(engine, ALICE) == 1
    assert await lists.count(ALICE) == 1
    assert await lists.contains(ALICE, three) == {three[0]}


async def test_save_accepts_pasted_ids_with_spaces_and_capitals(lists: SavedLists, three: list[str]) -> None:
    assert await lists.save(ALICE, f"  {three[1].upper()} \n") is True
    assert await lists.contains(ALICE, [three[1]]) == {three[1]}


@pytest.mark.parametrize("unknown", ["0123456789abcdef", "not-an-id", "", "0123456789abcdef0"])
async def test_unknown_insight_is_not_found_and_nothing_is_stored(
    lists: SavedLists, engine: AsyncEngine, three: list[str], unknown: str
) -> None:
    with pytest.raises(InsightNotFound) as raised:
        await lists.save(ALICE, unknown)
    assert isinstance(raised.value, StoreError)
    assert await _rows(engine) == 0


async def test_insight_deleted_between_check_and_insert_is_not_found(
    lists: SavedLists, engine: AsyncEngine, three: list[str]
) -> None:
    """The foreign key closes the race the existence check leaves open: here the insight goes
    inside the save's own transaction, just before the insert."""
    from sqlalchemy import event

    fired: list[bool] = []

    def delete_first(connection, _cursor, statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        if not fired and statement.lstrip().upper().startswith("INSERT INTO SAVED_ITEMS"):
            fired.append(True)
            connection.execute(delete(insights).where(insights.c.id == three[0]))

    event.listen(engine.sync_engine, "before_cursor_execute", delete_first)
    try:
        with pytest.raises(InsightNotFound):
            await lists.save(ALICE, three[0])
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", delete_first)
    assert fired == [True]
    assert await _rows(engine) == 0


async def test_remove(lists: SavedLists, engine: AsyncEngine, three: list[str]) -> None:
    await lists.save(ALICE, three[0])
    await lists.save(ALICE, three[1])
    assert await lists.remove(ALICE, three[0]) is True
    assert await lists.remove(ALICE, three[0]) is False
    assert await lists.remove(ALICE, "0123456789abcdef") is False
    assert await lists.remove(ALICE, "not an id") is False
    assert [item.insight_id for item in await lists.all_items(ALICE)] == [three[1]]


async def test_deleting_an_insight_removes_it_from_lists(lists: SavedLists, engine: AsyncEngine, three: list[str]) -> None:
    await lists.save(ALICE, three[0])
    await lists.save(BOB, three[0])
    await lists.save(ALICE, three[1])
    async with engine.begin() as connection:
        await connection.execute(delete(insights).where(insights.c.id == three[0]))
    assert await lists.total() == 1
    assert [item.insight_id for item in await lists.all_items(ALICE)] == [three[1]]


@pytest.mark.parametrize("bad", ["", "x" * 33, "12 34", "123\n", "../etc", "ünïcode", None, 1234])
async def test_malformed_user_ids_are_refused_everywhere(
    lists: SavedLists, engine: AsyncEngine, three: list[str], bad: object
) -> None:
    calls = [
        lists.save(bad, three[0]),  # type: ignore[arg-type]
        lists.remove(bad, three[0]),  # type: ignore[arg-type]
        lists.list(bad),  # type: ignore[arg-type]
        lists.contains(bad, three),  # type: ignore[arg-type]
        lists.search(bad, "models"),  # type: ignore[arg-type]
        lists.count(bad),  # type: ignore[arg-type]
        lists.all_items(bad),  # type: ignore[arg-type]
        lists.autocomplete(bad, ""),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(InvalidInput):
            await call
    assert await _rows(engine) == 0


async def test_saved_at_is_aware_utc(engine: AsyncEngine, three: list[str]) -> None:
    lists = SavedLists(engine)
    before = datetime.now(UTC)
    await lists.save(ALICE, three[0])
    (item,) = await lists.all_items(ALICE)
    assert item.saved_at.tzinfo is not None and item.saved_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= item.saved_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_a_clock_in_another_zone_is_stored_as_the_same_instant(engine: AsyncEngine, three: list[str]) -> None:
    moment = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    lists = SavedLists(engine, clock=lambda: moment)
    await lists.save(ALICE, three[0])
    (item,) = await lists.all_items(ALICE)
    assert item.saved_at == moment and item.saved_at.tzinfo == UTC


# --- listing -------------------------------------------------------------------------------------


async def test_paging_newest_first(lists: SavedLists, engine: AsyncEngine) -> None:
    ids = await _add_insights(engine, *(f"Insight number {n}" for n in range(25)))
    for insight_id in ids:
        await lists.save(ALICE, insight_id)
    newest_first = list(reversed(ids))

    pages = [await lists.list(ALICE, page=page, per_page=10) for page in (1, 2, 3, 4)]
    assert [(p.page, p.per_page, p.total, p.pages) for p in pages] == [(n, 10, 25, 3) for n in (1, 2, 3, 4)]
    assert [len(p.items) for p in pages] == [10, 10, 5, 0]
    assert [item.insight_id for p in pages for item in p.items] == newest_first
    assert pages[0].items[0].text == "Insight number 24"
    assert isinstance(pages[0].items, tuple)
    assert [item.insight_id for item in await lists.all_items(ALICE)] == newest_first


async def test_ties_in_saved_at_are_ordered_by_id(engine: AsyncEngine) -> None:
    ids = await _add_insights(engine, *(f"Same moment {n}" for n in range(6)))
    lists = SavedLists(engine, clock=lambda: START)
    for insight_id in ids:
        await lists.save(ALICE, insight_id)
    assert [item.insight_id for item in await lists.all_items(ALICE)] == sorted(ids)


async def test_an_empty_list_has_one_empty_page(lists: SavedLists) -> None:
    listing = await lists.list(ALICE)
    assert (listing.items, listing.page, listing.total, listing.pages) == ((), 1, 0, 1)


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (-1, 10), (1, 0), (1, 101)])
async def test_bad_paging_is_invalid_input(lists: SavedLists, page: int, per_page: int) -> None:
    with pytest.raises(InvalidInput):
        await lists.list(ALICE, page=page, per_page=per_page)


async def test_stats_count_rows_and_people(lists: SavedLists, three: list[str]) -> None:
    assert (await lists.total(), await lists.users()) == (0, 0)
    await lists.save(ALICE, three[0])
    await lists.save(ALICE, three[1])
    await lists.save(BOB, three[0])
    assert (await lists.total(), await lists.users(), await lists.count(ALICE), await lists.count(BOB)) == (3, 2, 2, 1)


# --- one person's list is theirs alone -----------------------------------------------------------


async def test_another_person_cannot_see_change_or_export_a_list(lists: SavedLists, three: list[str]) -> None:
    for insight_id in three:
        await lists.save(ALICE, insight_id)

    listing = await lists.list(BOB)
    assert (listing.items, listing.total) == ((), 0)
    assert await lists.count(BOB) == 0
    assert await lists.contains(BOB, three) == set()
    assert await lists.search(BOB, "models") == []
    assert await lists.autocomplete(BOB, "") == []
    assert await lists.all_items(BOB) == []
    assert await lists.remove(BOB, three[0]) is False
    _name, body = export_saved(await lists.all_items(BOB), "json")
    assert json.loads(body) == {"items": [], "count": 0}

    assert await lists.count(ALICE) == 3
    assert await lists.contains(ALICE, three) == set(three)


# --- searching inside one's own list -------------------------------------------------------------


async def test_search_needs_every_word_in_any_order_and_ignores_case(
    lists: SavedLists, engine: AsyncEngine, three: list[str]
) -> None:
    for insight_id in three:
        await lists.save(ALICE, insight_id)
    assert [item.insight_id for item in await lists.search(ALICE, "MODELS  narrow")] == [three[0]]
    assert [item.insight_id for item in await lists.search(ALICE, "narrow models")] == [three[0]]
    assert await lists.search(ALICE, "models enterprise") == []
    assert [item.insight_id for item in await lists.search(ALICE, "S")] == [three[2], three[1], three[0]]
    assert [item.insight_id for item in await lists.search(ALICE, "s", limit=1)] == [three[2]]


async def test_search_only_looks_in_the_searchers_own_list(lists: SavedLists, engine: AsyncEngine, three: list[str]) -> None:
    await lists.save(ALICE, three[0])
    await lists.save(BOB, three[2])
    assert await lists.search(ALICE, "inference") == []
    assert [item.insight_id for item in await lists.search(BOB, "inference")] == [three[2]]


async def test_like_wildcards_in_a_query_match_literally(lists: SavedLists, engine: AsyncEngine) -> None:
    percent, near_percent, underscore, near_underscore, backslash, near_backslash = await _add_insights(
        engine,
        "Churn fell 100% after the fix.",
        "Churn fell 1000 after the fix.",
        "Name it snake_case everywhere.",
        "Name it snakeXcase everywhere.",
        r"Paths like C:\temp break scripts.",
        "Paths like C:temp break scripts.",
    )
    for insight_id in (percent, near_percent, underscore, near_underscore, backslash, near_backslash):
        await lists.save(ALICE, insight_id)

    assert [item.insight_id for item in await lists.search(ALICE, "100%")] == [percent]
    assert [item.insight_id for item in await lists.search(ALICE, "snake_case")] == [underscore]
    assert [item.insight_id for item in await lists.search(ALICE, r"c:\temp")] == [backslash]
    assert await lists.search(ALICE, "%") == [item for item in await lists.all_items(ALICE) if "%" in item.text]
    assert await lists.search(ALICE, "_") == [item for item in await lists.all_items(ALICE) if "_" in item.text]
    assert [item.insight_id for item in await lists.autocomplete(ALICE, "0% AFTER")] == [percent]
    assert [item.insight_id for item in await lists.autocomplete(ALICE, "e_c")] == [underscore]


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
async def test_an_empty_search_says_what_to_do(lists: SavedLists, query: str) -> None:
    with pytest.raises(InvalidInput, match="type a few words to search your saved insights"):
        await lists.search(ALICE, query)


async def test_autocomplete(lists: SavedLists, engine: AsyncEngine) -> None:
    ids = await _add_insights(engine, *(f"Pricing lesson {n}" for n in range(30)), "Hiring is a pricing problem too.")
    for insight_id in ids:
        await lists.save(ALICE, insight_id)

    newest = await lists.autocomplete(ALICE, "  ")
    assert [item.insight_id for item in newest] == list(reversed(ids))[:25]
    assert [item.insight_id for item in await lists.autocomplete(ALICE, "HIRING is", limit=5)] == [ids[-1]]
    assert [item.insight_id for item in await lists.autocomplete(ALICE, "pricing", limit=2)] == [ids[-1], ids[-2]]
    assert await lists.autocomplete(ALICE, "lesson 7") == [item for item in newest if item.text == "Pricing lesson 7"]
    with pytest.raises(InvalidInput):
        await lists.autocomplete(ALICE, "", limit=0)


# --- concurrency ---------------------------------------------------------------------------------


async def test_fifteen_simultaneous_saves_of_one_item_give_one_row_and_one_true(
    lists: SavedLists, engine: AsyncEngine, three: list[str]
) -> None:
    outcomes = await asyncio.gather(*(lists.save(ALICE, three[0]) for _ in range(15)))
    assert sorted(outcomes) == [False] * 14 + [True]
    assert await _rows(engine) == 1


async def test_fifty_people_saving_and_removing_at_once(engine: AsyncEngine) -> None:
    lists = SavedLists(engine)
    ids = await _add_insights(engine, *(f"Shared insight {n}" for n in range(4)))
    users = [f"{700000000000000000 + n}" for n in range(50)]

    async def session(number: int, user_id: str) -> tuple[bool, ...]:
        # Everyone saves the same three items, double-clicks one, then removes another; the even
        # numbered people also save and remove a fourth so that saves and removes of one row race.
        outcomes = [
            await lists.save(user_id, ids[0]),
            await lists.save(user_id, ids[1]),
            await lists.save(user_id, ids[2]),
            await lists.save(user_id, ids[1]),
        ]
        outcomes.append(await lists.remove(user_id, ids[0]))
        if number % 2 == 0:
            outcomes.append(await lists.save(user_id, ids[3]))
            outcomes.append(await lists.remove(user_id, ids[3]))
        return tuple(outcomes)

    results = await asyncio.gather(*(session(n, user) for n, user in enumerate(users)))
    for number, outcome in enumerate(results):
        assert outcome == ((True, True, True, False, True, True, True) if number % 2 == 0 else (True, True, True, False, True))
    counts = await asyncio.gather(*(lists.count(user) for user in users))
    assert counts == [2] * 50
    assert (await lists.total(), await lists.users()) == (100, 50)
    assert await lists.contains(users[7], ids) == {ids[1], ids[2]}


# --- exports -------------------------------------------------------------------------------------

TRICKY = (
    "Line one of a long insight\n# not a heading\n- not a bullet\n\n\n    not code\n1. not a list\n[ref]: https://example.com\n---",
    '=HYPERLINK("https://example.com","click")',
    "+1 555 0100 is a phone number",
    "-5% growth, sadly",
    "@SUM(A1:A2)",
    "\tindented by a tab",
    'Quotes "inside", commas, and ünïcödé ✓',
)


def _items(*texts: str) -> list[SavedItem]:
    return [SavedItem(make_id(text), text, START - timedelta(minutes=n)) for n, text in enumerate(texts)]


async def test_exports_parse_back_with_the_same_items(lists: SavedLists, engine: AsyncEngine) -> None:
    ids = await _add_insights(engine, "Plain first insight.", 'Second, with a comma and "quotes".', "Third: ünïcödé ✓")
    for insight_id in ids:
        await lists.save(ALICE, insight_id)
    items = await lists.all_items(ALICE)

    name, body = export_saved(items, "json")
    assert name == "saved-insights.json"
    document = json.loads(body.decode("utf-8"))
    assert document["count"] == 3
    assert [(e["id"], e["text"], datetime.fromisoformat(e["saved_at"])) for e in document["items"]] == [
        (i.insight_id, i.text, i.saved_at) for i in items
    ]
    assert "ünïcödé ✓" in body.decode("utf-8")  # not \u-escaped

    name, body = export_saved(items, "csv")
    assert name == "saved-insights.csv"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    assert [(r["insight_id"], r["text"], datetime.fromisoformat(r["saved_at"])) for r in rows] == [
        (i.insight_id, i.text, i.saved_at) for i in items
    ]

    name, body = export_saved(items, "markdown", user_label="Alice")
    assert name == "saved-insights.md"
    text = body.decode("utf-8")
    assert text.startswith("# Saved insights — Alice\n")
    for item in items:
        assert f"- {item.text}\n" in text
        assert f"*Saved {item.saved_at:%Y-%m-%d} · id `{item.insight_id}`*" in text


def test_csv_guards_against_spreadsheet_formulas() -> None:
    items = _items(*TRICKY)
    rows = list(csv.reader(io.StringIO(export_saved(items, "csv")[1].decode("utf-8"), newline="")))
    assert rows[0] == ["insight_id", "text", "saved_at"]
    cells = [row[1] for row in rows[1:]]
    assert len(cells) == len(TRICKY)
    for original, cell in zip(TRICKY, cells, strict=True):
        dangerous = original[:1] in ("=", "+", "-", "@", "\t", "\r")
        assert cell == ("'" + original if dangerous else original)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_markdown_keeps_one_bullet_per_insight() -> None:
    items = _items(*TRICKY, "")
    text = export_saved(items, "markdown")[1].decode("utf-8")

    tokens = markdown_it.MarkdownIt("commonmark").parse(text)
    top_level = [t.type for t in tokens if t.level == 0 and t.nesting >= 0 and t.type.endswith("_open")]
    assert top_level == ["heading_open", "paragraph_open", "bullet_list_open"]
    depth_one = [t for t in tokens if t.level == 1 and t.type == "list_item_open"]
    assert len(depth_one) == len(items)
    inside = {t.type for t in tokens if t.level > 1}
    assert not inside & {"heading_open", "bullet_list_open", "ordered_list_open", "code_block", "fence", "hr", "blockquote_open"}

    rendered = markdown_it.MarkdownIt("commonmark").render(text)
    for fragment in ("# not a heading", "- not a bullet", "not code", "1. not a list", "[ref]: https://example.com"):
        assert fragment in rendered
    # The multi-line insight's continuation lines are indented into its bullet.
    assert "- Line one of a long insight\n  \\# not a heading\n  \\- not a bullet\n\n  not code\n" in text


def test_empty_exports_are_still_valid_files() -> None:
    assert json.loads(export_saved([], "json")[1]) == {"items": [], "count": 0}
    assert list(csv.reader(io.StringIO(export_saved([], "csv")[1].decode("utf-8")))) == [["insight_id", "text", "saved_at"]]
    markdown = export_saved([], "markdown")[1].decode("utf-8")
    assert markdown.startswith("# Saved insights\n") and "Nothing saved yet." in markdown


def test_an_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(InvalidInput) as raised:
        export_saved(_items("x"), "xml")  # type: ignore[arg-type]
    assert all(name in str(raised.value) for name in ("markdown", "csv", "json"))


def test_export_times_are_utc_iso_8601() -> None:
    moment = datetime(2024, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    (entry,) = json.loads(export_saved([SavedItem("0123456789abcdef", "x", moment)], "json")[1])["items"]
    assert entry["saved_at"] == "2024-03-02T04:30:00+00:00"


async def test_search_in_own_list_folds_the_case_of_accented_letters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from store.database import create_engine, initialise
    from store.saved import SavedLists
    from store.schema import insights

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/unicode.db")
    await initialise(engine)
    async with engine.begin() as connection:
        await connection.execute(
            insights.insert().values(id="a" * 16, text="L'École des Mines trains ENGINEERS.", first_seen=datetime.now(UTC))
        )
    lists = SavedLists(engine)
    await lists.save("7", "a" * 16)
    assert [item.insight_id for item in await lists.search("7", "école engineers")] == ["a" * 16]
    await engine.dispose()
