"""Ingest against real Chroma and real SQLite: idempotence, merging, relations, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.settings import Settings
from store.errors import DataDirectoryLocked
from store.service import InsightStore
from store.text import insight_id
from tests.fakes import FakeEmbedder, FixedEmbedder

SHARED_OPENAI = "OpenAI is designing its custom chip for flexibility"


def _text_starting(texts: list[str], prefix: str) -> str:
    return next(text for text in texts if text.startswith(prefix))


async def test_shared_briefs_twice_adds_21_then_nothing(
    store: InsightStore, shared_briefs: Path, fake_embedder: FakeEmbedder
) -> None:
    first = await store.ingest_paths([shared_briefs])
    assert (first.added, first.merged, first.failed) == (21, 1, [])
    encoded_after_first = len(fake_embedder.encoded)
    assert encoded_after_first == 21

    second = await store.ingest_paths([shared_briefs])
    assert (second.added, second.merged, second.unchanged, second.failed) == (0, 0, 22, [])
    assert len(fake_embedder.encoded) == encoded_after_first, "re-ingest must embed nothing"
    stats = await store.stats()
    assert stats["insights"] == 21
    assert stats["indexed"] == 21
    assert stats["briefs"] == 2


async def test_insight_in_two_briefs_has_both_sources_and_union_of_relations(store: InsightStore, shared_briefs: Path) -> None:
    await store.ingest_paths([shared_briefs])
    texts = [row[1] for row in await store.repository.autocomplete("openai is designing", limit=5)]
    shared_id = insight_id(_text_starting(texts, SHARED_OPENAI))
    hit = await store.related(shared_id)
    origins = {Path(source.origin).name for source in hit.sources}
    assert origins == {"000_5eecbfd325b0d2d0.txt", "003_59fe5915b6d11283.txt"}
    assert {source.position for source in hit.sources} == {"related"}
    brief_related = [related for related in hit.related if related.reason == "brief"]
    assert sorted(related.text[:24] for related in brief_related) == ["A fundamental constraint", "The biggest performance "]
    assert all(related.id != shared_id for related in hit.related)


async def test_relations_are_read_in_both_directions(store: InsightStore, shared_briefs: Path) -> None:
    await store.ingest_paths([shared_briefs / "000_5eecbfd325b0d2d0.txt"])
    main_text = "A fundamental constraint today is that the model architecture used for training must be the same as the one used for inference. Future breakthroughs could come from lifting this constraint. This would allow for specialized models: one optimized for compute-intensive training and another for memory-intensive serving."
    main = await store.related(insight_id(main_text))
    assert [related.reason for related in main.related[:10]] == ["brief"] * 10
    one_related = main.related[0]
    back = await store.related(one_related.id)
    assert back.related[0].id == main.id
    assert back.related[0].reason == "brief"


async def test_near_duplicates_are_kept_and_linked_as_same_idea(settings: Settings, tmp_path: Path) -> None:
    first, second, other = (
        "Coffee after lunch ruins deep sleep.",
        "An afternoon espresso cuts your slow-wave sleep.",
        "Index funds beat most managers.",
    )
    embedder = FixedEmbedder({first: [1.0, 0.1, 0.0], second: [1.0, 0.12, 0.0], other: [0.0, 0.0, 1.0]})
    notes = tmp_path / "notes.md"
    notes.write_text(f"{first}\n\n{other}\n", encoding="utf-8")
    later = tmp_path / "later.md"
    later.write_text(f"{second}\n", encoding="utf-8")
    async with await InsightStore.open(settings, embedder) as store:
        report = await store.ingest_paths([notes, later])
        assert report.added == 3
        hit = await store.related(insight_id(second))
        same = [related for related in hit.related if related.reason == "same-idea"]
        assert [related.id for related in same] == [insight_id(first)]
        assert same[0].score is not None and same[0].score > 0.99
        unrelated = await store.related(insight_id(other))
        assert all(related.reason != "same-idea" for related in unrelated.related)


async def test_related_lists_brief_links_then_same_idea_links_then_neighbours(settings: Settings, tmp_path: Path) -> None:
    """The README's order, whatever the scores: the brief's own links first, then "same idea"
    links, then nearest neighbours. Here the brief's links are the least similar of all, so an
    order by score would put them last."""
    main, first, second = (
        "Inference cost falls when models are distilled.",
        "Regulators are slow to understand open weights.",
        "Hiring for research taste beats hiring for speed.",
    )
    twin, neighbour = ("Distilling a model cuts what inference costs.", "Quantised weights make serving cheaper.")
    embedder = FixedEmbedder(
        {
            main: [1.0, 0.05, 0.0, 0.0, 0.0],
            first: [0.0, 0.0, 1.0, 0.0, 0.0],
            second: [0.0, 0.0, 0.0, 1.0, 0.0],
            twin: [1.0, 0.0, 0.0, 0.0, 0.0],
            neighbour: [0.8, 0.0, 0.0, 0.0, 0.6],
        }
    )
    brief = tmp_path / "brief.txt"
    brief.write_text(f"{main}\n\nRelated Insights\n\n{first}\n\n{second}\n", encoding="utf-8")
    notes = tmp_path / "notes.md"
    notes.write_text(f"{twin}\n\n{neighbour}\n", encoding="utf-8")
    async with await InsightStore.open(settings, embedder) as store:
        assert (await store.ingest_paths([brief, notes])).added == 5
        hit = await store.related(insight_id(main))
    pairs = [(related.text, related.reason) for related in hit.related]
    assert sorted(pairs[:2]) == sorted([(first, "brief"), (second, "brief")])
    assert pairs[2:] == [(twin, "same-idea"), (neighbour, "similar")]


async def test_a_bad_file_is_reported_and_the_others_still_go_in(
    store: InsightStore, tmp_path: Path, shared_briefs: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "good.txt").write_text((shared_briefs / "000_5eecbfd325b0d2d0.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "broken.txt").write_bytes(b"\xff\xfe\x00\x00garbage\x00\x00\x00" * 10)
    (folder / "empty.md").write_text("   \n\n", encoding="utf-8")
    report = await store.ingest_paths([folder, tmp_path / "missing.txt"])
    failed = {Path(failure["path"]).name: failure["error"] for failure in report.failed}
    assert set(failed) == {"broken.txt", "empty.md", "missing.txt"}
    assert all(reason for reason in failed.values())
    assert report.added == 11
    assert (await store.stats())["insights"] == 11


async def test_json_lines_with_related_and_a_bad_line(store: InsightStore, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "text": "Small teams ship faster because fewer handoffs exist.",
                "related": ["Handoffs are where context is lost."],
                "source": "team-pod",
                "date": "2026-01-02",
            }
        ),
        "{not json",
        json.dumps({"text": "Interest rates set the price of every asset."}),
    ]
    path = tmp_path / "insights.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    report = await store.ingest_paths([path])
    assert report.added == 3
    assert report.failed == []
    assert any("line 2" in problem["problem"] for problem in report.problems)
    hit = await store.related(insight_id("Handoffs are where context is lost."))
    assert hit.related[0].reason == "brief"
    assert hit.sources[0].origin == "team-pod" and hit.sources[0].date == "2026-01-02"


async def test_reconcile_repairs_a_vector_index_that_lost_entries(store: InsightStore, shared_briefs: Path) -> None:
    await store.ingest_paths([shared_briefs])
    some = sorted(await store.repository.all_ids())[:5]
    store.index.delete(some)
    assert store.index.count() == 16
    repaired = await store.reconcile()
    assert (repaired.indexed, repaired.removed) == (5, 0)
    assert store.index.count() == 21


async def test_reindex_after_losing_the_chroma_directory_gives_the_same_results(
    settings: Settings, fake_embedder: FakeEmbedder, shared_briefs: Path
) -> None:
    import shutil

    async with await InsightStore.open(settings, fake_embedder) as store:
        await store.ingest_paths([shared_briefs])
        before = (await store.search("custom chip flexibility algorithms")).as_dict()
    shutil.rmtree(settings.chroma_dir)
    async with await InsightStore.open(settings, fake_embedder, reconcile=False) as store:
        assert store.index.count() == 0
        assert await store.reindex() == 21
        after = (await store.search("custom chip flexibility algorithms")).as_dict()
    assert after == before
    assert before["results"]


async def test_a_second_process_on_the_same_data_directory_is_refused(settings: Settings, fake_embedder: FakeEmbedder) -> None:
    async with await InsightStore.open(settings, fake_embedder):
        with pytest.raises(DataDirectoryLocked) as refused:
            await InsightStore.open(settings, fake_embedder)
        # The README's table of messages: "another insight-recall process is using …", and what to do.
        message = str(refused.value)
        assert message.startswith(f"another insight-recall process is using {settings.data_dir} ")
        assert "stop it first" in message and "INSIGHT_CHROMA_URL" in message
    reopened = await InsightStore.open(settings, fake_embedder)
    await reopened.close()


async def test_manual_add_with_related(store: InsightStore) -> None:
    report = await store.add_insight("Write the test before the fix.", related=["A failing test proves the bug exists."])
    assert report.added == 2
    again = await store.add_insight("Write the test before the fix.", related=["A failing test proves the bug exists."])
    assert (again.added, again.merged) == (0, 0)
    hit = await store.related(insight_id("write the test  before the fix."))
    assert [related.reason for related in hit.related][:1] == ["brief"]
