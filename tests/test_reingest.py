"""Re-ingest by content hash: an unchanged file is recognised before it is parsed and reports what
its first ingest found; a changed file, a renamed one, or one whose write failed is parsed again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import store.parsing
from config.settings import Settings
from store.errors import StoreUnavailable
from store.service import InsightStore
from tests.conftest import open_test_store
from tests.fakes import FakeEmbedder


@pytest.fixture(params=["persistent", "postgres"])
async def sql_store(
    request: pytest.FixtureRequest, settings: Settings, fake_embedder: FakeEmbedder
) -> AsyncIterator[InsightStore]:
    async with await open_test_store(request.param, request, settings, fake_embedder) as opened:
        yield opened


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the store hands to the parser, in order."""
    seen: list[Path] = []
    original = store.parsing.parse_file

    def counting(path: Path):  # type: ignore[no-untyped-def]
        seen.append(path)
        return original(path)

    monkeypatch.setattr(store.parsing, "parse_file", counting)
    return seen


def _jsonl(path: Path, count: int, bad_line: bool = False) -> Path:
    lines = [
        json.dumps({"text": f"Insight number {number} about compounding habits.", "source": "feed"}) for number in range(count)
    ]
    if bad_line:
        lines.insert(1, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_an_unchanged_file_is_not_parsed_again(sql_store: InsightStore, tmp_path: Path, parses: list[Path]) -> None:
    feed = _jsonl(tmp_path / "feed.jsonl", 30, bad_line=True)
    first = await sql_store.ingest_paths([feed])
    assert (first.added, len(first.problems)) == (30, 1) and parses == [feed]

    again = await sql_store.ingest_paths([feed])
    assert parses == [feed], "the unchanged file was parsed a second time"
    assert (again.added, again.merged, again.unchanged) == (0, 0, 30)
    assert again.problems == first.problems, "the skipped line is still reported"


async def test_a_changed_file_is_parsed_and_its_new_insights_go_in(
    sql_store: InsightStore, tmp_path: Path, parses: list[Path]
) -> None:
    feed = _jsonl(tmp_path / "feed.jsonl", 10)
    await sql_store.ingest_paths([feed])
    _jsonl(feed, 12)
    report = await sql_store.ingest_paths([feed])
    assert parses == [feed, feed]
    assert (report.added, report.unchanged) == (2, 10)
    await sql_store.ingest_paths([feed])
    assert len(parses) == 2, "the new content was recorded after its ingest"


async def test_the_same_bytes_under_another_name_are_parsed(sql_store: InsightStore, tmp_path: Path, parses: list[Path]) -> None:
    feed = _jsonl(tmp_path / "feed.jsonl", 5)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(feed.read_bytes())
    await sql_store.ingest_paths([feed])
    report = await sql_store.ingest_paths([copy])
    assert parses == [feed, copy], "another origin is another source of the same insights"
    assert report.unchanged + report.merged == 5


async def test_a_failed_write_leaves_the_file_to_be_parsed_again(
    sql_store: InsightStore, tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _jsonl(tmp_path / "feed.jsonl", 5)
    original = sql_store.ingestor.ingest_briefs

    async def unavailable(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailable("the insight store is unavailable, try again shortly")

    monkeypatch.setattr(sql_store.ingestor, "ingest_briefs", unavailable)
    failed = await sql_store.ingest_paths([feed])
    assert failed.failed and failed.added == 0
    monkeypatch.setattr(sql_store.ingestor, "ingest_briefs", original)
    report = await sql_store.ingest_paths([feed])
    assert parses == [feed, feed] and report.added == 5


async def test_a_folder_re_ingest_counts_like_the_first(sql_store: InsightStore, shared_briefs: Path, parses: list[Path]) -> None:
    first = await sql_store.ingest_paths([shared_briefs])
    parsed_once = len(parses)
    again = await sql_store.ingest_paths([shared_briefs])
    assert len(parses) == parsed_once
    assert again.unchanged == first.added + first.merged + first.unchanged and again.added == again.merged == 0
