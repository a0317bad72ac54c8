"""Rendering never produces a message Discord would reject, whatever the insight text is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import limits, rendering
from bot.rendering import RenderedMessage
from store.model import IngestReport, RelatedInsight, SearchHit, SourceRef
from store.saved import SavedItem, SavedPage

# Everything Python strings hold except lone surrogates (clean_text removes them from insights).
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6000)
short_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
ids = st.text("0123456789abcdef", min_size=16, max_size=16)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_sendable(message: RenderedMessage) -> None:
    """Checks every Discord limit on the payload discord.py would send, measured both ways."""
    assert message.content is None or utf16(message.content) <= 2000
    assert len(message.embeds) <= 10
    total = 0
    for embed in message.embeds:
        data: dict[str, Any] = embed.to_dict()
        counted = [
            data.get("title", ""),
            data.get("description", ""),
            data.get("footer", {}).get("text", ""),
            data.get("author", {}).get("name", ""),
        ]
        assert utf16(data.get("title", "")) <= 256
        assert utf16(data.get("description", "")) <= 4096
        assert utf16(data.get("footer", {}).get("text", "")) <= 2048
        assert utf16(data.get("author", {}).get("name", "")) <= 256
        fields = data.get("fields", [])
        assert len(fields) <= 25
        for field in fields:
            assert 1 <= utf16(field["name"]) <= 256
            assert 1 <= utf16(field["value"]) <= 1024
            counted += [field["name"], field["value"]]
        total += sum(utf16(part) for part in counted)
        assert len(embed) <= 6000  # discord.py's own count (code points)
    assert total <= 6000


@st.composite
def hits(draw: st.DrawFn) -> SearchHit:
    related = draw(
        st.lists(
            st.builds(
                RelatedInsight,
                id=ids,
                text=texts,
                reason=st.sampled_from(["brief", "same-idea", "similar"]),
                score=st.none() | st.floats(-1, 1),
            ),
            max_size=30,
        )
    )
    sources = draw(
        st.lists(
            st.builds(
                SourceRef,
                kind=st.sampled_from(["brief", "email", "jsonl", "note", "manual"]),
                origin=short_texts,
                subject=st.none() | short_texts,
                date=st.none() | short_texts,
                position=st.sampled_from(["main", "related", "note"]),
            ),
            max_size=8,
        )
    )
    terms = draw(st.lists(short_texts, max_size=8))
    return SearchHit(
        id=draw(ids),
        text=draw(texts),
        score=draw(st.floats(-1, 1)),
        sources=tuple(sources),
        related=tuple(related),
        matched_terms=tuple(terms),
    )


saved_items = st.builds(SavedItem, insight_id=ids, text=texts, saved_at=st.just(datetime(2025, 5, 1, tzinfo=UTC)))

common = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@common
@given(query=texts, page_hits=st.lists(hits(), min_size=1, max_size=3), page=st.integers(1, 4))
def test_search_pages_fit(query: str, page_hits: list[SearchHit], page: int) -> None:
    assert_sendable(rendering.search_page(query, page_hits, first_number=page * 3 - 2, page=page, pages=4))
    assert_sendable(rendering.related_detail(page_hits[0]))
    assert_sendable(rendering.no_match(query))


@common
@given(items=st.lists(saved_items, max_size=10), query=texts, total=st.integers(0, 10_000))
def test_saved_lists_fit(items: list[SavedItem], query: str, total: int) -> None:
    page = SavedPage(items=tuple(items), page=1, per_page=max(1, len(items)), total=max(total, len(items)), pages=3)
    assert_sendable(rendering.saved_page(page))
    assert_sendable(rendering.saved_search(query, items))


@common
@given(
    failures=st.lists(st.fixed_dictionaries({"path": texts, "error": texts}), max_size=20),
    problems=st.lists(st.fixed_dictionaries({"path": short_texts, "problem": texts}), max_size=20),
    title=texts,
    values=st.dictionaries(st.sampled_from(["insights", "briefs", "indexed", "model", "chroma"]), st.integers() | texts),
)
def test_reports_and_stats_fit(
    failures: list[dict[str, str]], problems: list[dict[str, str]], title: str, values: dict[str, Any]
) -> None:
    assert_sendable(rendering.ingest_report(IngestReport(added=1, failed=failures, problems=problems), title))
    assert_sendable(rendering.stats(values))


@common
@given(text=texts)
def test_choice_names_fit(text: str) -> None:
    name = rendering.choice_name(text)
    assert 1 <= utf16(name) <= 100 and "\n" not in name


@common
@given(text=texts)
def test_rendered_insight_text_never_mentions_anyone(text: str) -> None:
    shown = rendering.safe(text)
    assert "@everyone" not in shown and "@here" not in shown
    assert "<@" not in shown.replace("<@\u200b", "")


def test_many_huge_embeds_are_cut_to_fit_together() -> None:
    embeds = [discord.Embed(title="t" * 300, description="d" * 5000) for _ in range(12)]
    for embed in embeds:
        for number in range(30):
            embed.add_field(name=f"n{number}" * 200, value="v" * 2000)

    fitted = limits.fit_embeds(embeds)

    assert_sendable(RenderedMessage(None, fitted))
    assert len(fitted) == 10
    assert all(embed.title and embed.title.endswith("…") for embed in fitted)
