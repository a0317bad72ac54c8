"""Bad input at the store: each case gets a clear message and nothing already stored is lost or
changed. Every test first fills the store, then feeds the bad input, then checks the store is as
it was."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from store.errors import InvalidInput
from store.service import InsightStore
from store.text import clean_text, insight_id


async def _snapshot(store: InsightStore) -> tuple[dict[str, object], dict[str, object]]:
    stats = await store.stats()
    return stats, (await store.search("custom chip flexibility algorithms", 5)).as_dict()


@pytest.fixture
async def filled(store: InsightStore, shared_briefs: Path) -> InsightStore:
    await store.ingest_paths([shared_briefs])
    return store


def _attachment_only_email() -> bytes:
    only = EmailMessage()
    only["Subject"] = "Your brief"
    only["From"] = "brief@example.com"
    only.add_attachment(b"%PDF-1.4 binary", maintype="application", subtype="pdf", filename="brief.pdf")
    return bytes(only)


BAD_FILES: dict[str, bytes] = {
    "empty.txt": b"",
    "binary.txt": bytes(range(256)) * 40,
    "latin1.txt": "Caf\u00e9 cr\u00e8me insights about na\u00efve models".encode("latin-1"),
    "headers-only.txt": b"Get your free personalized podcast brief\n\nWe scan new podcasts and send you the top 5 insights daily.\n",
    "attachments-only.eml": _attachment_only_email(),
    "all-bad.jsonl": b'{"text": ""}\n[1, 2]\nnot json\n',
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
async def test_a_bad_file_is_refused_clearly_and_changes_nothing(filled: InsightStore, tmp_path: Path, name: str) -> None:
    before = await _snapshot(filled)
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    report = await filled.ingest_paths([path])
    assert [failure["path"] for failure in report.failed] == [str(path)]
    message = report.failed[0]["error"]
    assert 10 < len(message) < 300 and "Traceback" not in message
    assert await _snapshot(filled) == before


async def test_a_file_over_the_size_limit_is_refused_without_reading_it_whole(filled: InsightStore, tmp_path: Path) -> None:
    before = await _snapshot(filled)
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    report = await filled.ingest_paths([path])
    assert "MB" in report.failed[0]["error"]
    assert await _snapshot(filled) == before


async def test_a_brief_without_related_insights_goes_in_as_its_main_insight(filled: InsightStore, tmp_path: Path) -> None:
    path = tmp_path / "lonely.txt"
    path.write_text(
        "Get your free personalized podcast brief\n\nWe scan new podcasts and send you the top 5 insights daily.\n\n"
        "Bandwidth, not compute, limits most inference servers today.\n",
        encoding="utf-8",
    )
    report = await filled.ingest_paths([path])
    assert (report.added, report.failed) == (1, [])


async def test_one_bad_json_line_among_good_ones_is_reported_by_number(filled: InsightStore, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join([json.dumps({"text": "Good line one."}), "{broken", json.dumps({"text": "Good line three."})]), encoding="utf-8"
    )
    report = await filled.ingest_paths([path])
    assert report.added == 2
    assert [problem["problem"][:6] for problem in report.problems] == ["line 2"]


async def test_a_path_that_does_not_exist_is_named(filled: InsightStore, tmp_path: Path) -> None:
    report = await filled.ingest_paths([tmp_path / "nope"])
    assert report.failed[0]["path"] == str(tmp_path / "nope")
    assert "not found" in report.failed[0]["error"] or "does not exist" in report.failed[0]["error"]


TEXTS = {
    "very long": "A long insight about compounding. " * 300,
    "one character": "x",
    "zero-width and right-to-left": "Zero\u200bwidth \u202ehidden\u202c text and \u05e9\u05dc\u05d5\u05dd mixed in.",
    "markdown and code": "**Bold** claim with `code` and\n```\nprint('block')\n```\nand a [link](https://example.com).",
    "mentions": "@everyone look: <@&123456789> and <@42> and @here should ping nobody.",
    "lone surrogate": "Broken \ud800 surrogate inside an insight.",
}


@pytest.mark.parametrize("kind", sorted(TEXTS))
async def test_odd_texts_are_stored_whole_and_found_again(filled: InsightStore, kind: str) -> None:
    text = TEXTS[kind]
    report = await filled.add_insight(text)
    assert report.added == 1
    hit = await filled.related(insight_id(text))
    # Whole: every character kept but the invisible ones (and a lone surrogate, which cannot be
    # stored, becomes one replacement mark); spacing is collapsed as for every insight.
    assert hit.text == clean_text(text)
    assert "\ud800" not in hit.text
    if kind == "very long":
        assert len(hit.text) == len(text.strip()) == 34 * 300 - 1
    if kind == "mentions":
        assert hit.text == text
    if kind == "lone surrogate":
        assert hit.text == "Broken ? surrogate inside an insight."
    found = await filled.search(hit.text[:500], 3)
    assert insight_id(text) in [result.id for result in found.hits], "found again by its own words"
    stats = await filled.stats()
    assert stats["insights"] == stats["indexed"] == 22


@pytest.mark.parametrize("text", ["", "   \n\t ", "\u200b\u200d\ufeff"])
async def test_an_empty_insight_is_refused_and_nothing_changes(filled: InsightStore, text: str) -> None:
    before = await _snapshot(filled)
    with pytest.raises(InvalidInput, match="empty"):
        await filled.add_insight(text)
    assert await _snapshot(filled) == before


async def test_a_6000_character_query_is_refused_with_the_limit(filled: InsightStore) -> None:
    with pytest.raises(InvalidInput, match="1000"):
        await filled.search("why " * 1500, 5)


async def test_a_folder_with_an_unreadable_file_reports_it_and_ingests_the_rest(
    filled: InsightStore, tmp_path: Path, shared_briefs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root (as in CI) can read everything, so the operating system's refusal is stood in for at the
    one call that reads a file."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    readable = folder / "readable.md"
    readable.write_text("Permissions should never stop the rest of a folder.", encoding="utf-8")
    locked = folder / "locked.md"
    locked.write_text("Nobody may read this one.", encoding="utf-8")
    original = Path.read_bytes

    def refuse_locked(self: Path) -> bytes:
        if self.name == "locked.md":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", refuse_locked)
    report = await filled.ingest_paths([folder])
    assert [(Path(failure["path"]).name, "permission denied" in failure["error"]) for failure in report.failed] == [
        ("locked.md", True)
    ]
    assert report.added == 1
