"""/insight add and /insight ingest: for people with Manage Server, checked by the bot itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from store.service import InsightStore
from tests.bot.conftest import ALICE, LAUNCH_INSIGHTS, MANAGER
from tests.bot.fake_discord import EPHEMERAL
from tests.bot.harness import BotHarness


def _brief_upload(harness: BotHarness, shared_briefs: Path) -> dict[str, Any]:
    path = sorted(shared_briefs.glob("*.txt"))[0]
    return harness.fake.serve_attachment(path.name, path.read_bytes())


@pytest.mark.parametrize("command", ["insight add", "insight ingest"])
async def test_manager_commands_are_refused_without_manage_server(
    harness: BotHarness, seeded_store: InsightStore, command: str, shared_briefs: Path
) -> None:
    """ALICE's permissions lack the bit: as if a server admin had overridden Discord's default
    permissions, or Discord ignored them (it does, on subcommands)."""
    before = await seeded_store.repository.count()
    options = (
        {"text": "Managers only add insights."} if command == "insight add" else {"file": _brief_upload(harness, shared_briefs)}
    )

    exchange = await harness.slash(ALICE, command, **options)

    assert exchange.callback_type == 4
    assert int(exchange.callback.json["data"]["flags"]) & EPHEMERAL
    assert "Manage Server" in exchange.text
    assert await seeded_store.repository.count() == before
    assert not harness.fake.downloads(), "nothing is downloaded for someone who may not ingest"


async def test_manager_commands_are_refused_in_direct_messages(harness: BotHarness) -> None:
    exchange = await harness.slash(MANAGER, "insight add", in_guild=False, text="From a DM.")

    assert exchange.ephemeral
    assert "only works in a server" in exchange.text


async def test_add_by_a_manager_reports_counts(harness: BotHarness, seeded_store: InsightStore) -> None:
    exchange = await harness.slash(
        MANAGER, "insight add", text="Ground stations are the hidden bottleneck of small satellites.", related=LAUNCH_INSIGHTS[0]
    )

    assert exchange.callback_type == 5 and exchange.ephemeral
    assert "added 1, merged 1, unchanged 0, failed 0" in exchange.text
    assert await seeded_store.repository.count() == len(LAUNCH_INSIGHTS) + 2


async def test_ingest_of_a_brief_attachment_reports_the_same_counts_as_the_command_line(
    harness: BotHarness, seeded_store: InsightStore, shared_briefs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = _brief_upload(harness, shared_briefs)
    path = sorted(shared_briefs.glob("*.txt"))[0]
    # The command line, run for real on the same file into a store that has none of it either.
    first_line, again_line = await _command_line_ingest(path, tmp_path / "cli-data", monkeypatch)
    assert first_line.startswith("added ") and not first_line.startswith("added 0,")

    exchange = await harness.slash(MANAGER, "insight ingest", file=upload)

    assert exchange.callback_type == 5 and exchange.ephemeral
    assert [request.url for request in harness.fake.downloads()] == [upload["url"]]
    assert first_line in exchange.text
    again = await harness.slash(MANAGER, "insight ingest", file=upload)
    assert again_line in again.text and again_line.startswith("added 0, merged 0, unchanged")


async def _command_line_ingest(path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """`insight-recall ingest PATH` twice, as a user runs it (with the fake embedder behind the same
    seam the real start-up uses): its summary lines. In a thread, because the command line runs
    its own event loop."""
    from click.testing import CliRunner

    import cli.resources as cli_resources
    from cli.main import cli as command_line
    from tests.fakes import FakeEmbedder

    monkeypatch.setattr(cli_resources, "build_embedder", lambda _settings: FakeEmbedder())
    monkeypatch.setenv("INSIGHT_DATA_DIR", str(data_dir))
    lines = []
    for _ in range(2):
        result = await asyncio.to_thread(CliRunner().invoke, command_line, ["ingest", str(path)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        lines.append(result.stdout.strip().splitlines()[0])
    return lines[0], lines[1]


async def test_ingest_lists_a_failed_file_with_its_reason(harness: BotHarness) -> None:
    upload = harness.fake.serve_attachment("empty.txt", b"")

    exchange = await harness.slash(MANAGER, "insight ingest", file=upload)

    assert "added 0, merged 0, unchanged 0, failed 1" in exchange.text
    assert "failed: empty.txt:" in exchange.text


@pytest.mark.parametrize(
    ("filename", "size", "reason"),
    [
        ("huge-brief.txt", 9 * 1024 * 1024, "over the 8 MB limit"),
        ("slides.pdf", 2048, "upload a .txt, .md, .eml, .mbox, .jsonl or .ndjson file"),
        ("no-extension", 10, "upload a .txt"),
    ],
)
async def test_ingest_refuses_a_too_big_or_unsupported_attachment_before_downloading(
    harness: BotHarness, filename: str, size: int, reason: str
) -> None:
    upload = harness.fake.declare_attachment(filename, size)

    exchange = await harness.slash(MANAGER, "insight ingest", file=upload)

    assert exchange.callback_type == 4, "refused at once, without a 'thinking…' first"
    assert int(exchange.callback.json["data"]["flags"]) & EPHEMERAL
    assert reason in exchange.text and filename in exchange.text
    assert not harness.fake.downloads()
