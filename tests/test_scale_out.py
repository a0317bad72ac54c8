"""Two processes sharing one Chroma server and one PostgreSQL, as a grown installation runs: the
same brief ingested by both at once is stored once, and two bot processes post a day's digest once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from config.settings import Settings
from store.digest.schema import digest_runs, digest_settings
from store.embedding import Embedder
from store.service import InsightStore
from tests.bot.fake_discord import BOT_TOKEN, CHANNEL_ID, GUILD_ID
from tests.conftest import REPO_ROOT, reset_postgres
from tests.discord_standin import DiscordStandIn
from tests.fakes import FakeEmbedder
from tests.servers import POSTGRES_SKIP_REASON, ChromaServer, postgres_url

# Every process says it is ready (imported, store open) and waits for the test's "go", which names
# one shared instant: so each process has provably started before the race, however slow the
# machine, instead of arriving after a fixed deadline and running alone.
_WAIT_FOR_GO = r"""
def wait_for_go(folder, worker):
    import time
    from pathlib import Path
    (Path(folder) / ("ready-" + worker)).write_text("ready")
    go = Path(folder) / "go"
    deadline = time.time() + 120
    while not go.exists():
        if time.time() > deadline:
            raise SystemExit("no go from the test")
        time.sleep(0.01)
    return float(go.read_text())
"""


async def _release_together(folder: Path, workers: list[str], processes: list[subprocess.Popen[str]], lead: float = 0.5) -> float:
    """Waits until every process is ready, then gives them one instant a little ahead."""
    deadline = time.time() + 120
    while not all((folder / f"ready-{worker}").exists() for worker in workers):
        failed = [process.returncode for process in processes if process.poll() is not None]
        assert not failed, f"a process ended before the barrier: exit codes {failed}"
        assert time.time() < deadline, "the processes never got ready"
        await asyncio.sleep(0.05)
    instant = time.time() + lead
    (folder / "go.tmp").write_text(repr(instant))
    (folder / "go.tmp").rename(folder / "go")
    return instant


_INGEST = (
    _WAIT_FOR_GO
    + r"""
import asyncio, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from config.settings import Settings
from store.service import InsightStore
from tests.fakes import FakeEmbedder

async def main():
    settings = Settings(data_dir=Path({data_dir!r}), chroma_url={chroma!r}, database_url={database!r}, chroma_collection={collection!r})
    async with await InsightStore.open(settings, FakeEmbedder()) as store:
        instant = wait_for_go({barrier_dir!r}, {worker!r})
        await asyncio.sleep(max(0.0, instant - time.time()))
        report = await store.ingest_paths([Path({brief!r})])
        assert not report.failed, report.failed

asyncio.run(main())
"""
)


async def test_two_processes_ingesting_the_same_brief_store_it_once(
    settings: Settings, chroma_server: ChromaServer, shared_briefs: Path, tmp_path: Path
) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    await reset_postgres(url)
    brief = shared_briefs / "000_5eecbfd325b0d2d0.txt"
    scripts = [
        _INGEST.format(
            repo=str(REPO_ROOT),
            data_dir=str(tmp_path / f"process-{number}"),
            chroma=chroma_server.url,
            database=url,
            collection=settings.chroma_collection,
            brief=str(brief),
            barrier_dir=str(tmp_path),
            worker=str(number),
        )
        for number in (1, 2)
    ]
    processes = [
        subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True) for script in scripts
    ]
    await _release_together(tmp_path, ["1", "2"], processes)
    outcomes = [
        (await asyncio.to_thread(process.wait, 120), process.stderr.read() if process.stderr else "") for process in processes
    ]
    assert [code for code, _ in outcomes] == [0, 0], outcomes

    shared = settings.model_copy(update={"chroma_url": chroma_server.url, "database_url": url})
    async with await InsightStore.open(shared, FakeEmbedder(), reconcile=False) as store:
        stats = await store.stats()
        assert (stats["insights"], stats["indexed"], stats["brief_links"], stats["briefs"]) == (11, 11, 10, 1)


@pytest.mark.model
async def test_two_bot_processes_on_one_postgres_and_chroma_server_post_the_digest_once(
    settings: Settings, chroma_server: ChromaServer, shared_briefs: Path, real_embedder: Embedder, tmp_path: Path
) -> None:
    """Two real `insight-recall run` processes, as two replicas of a grown installation, start
    together against one PostgreSQL, one Chroma server and one (stand-in) Discord, with a digest
    already due: after both have run their digest beat there is one post. (Their beats rarely
    overlap to the millisecond; the tight race is the barrier test below.)"""
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    await reset_postgres(url)
    shared = settings.model_copy(update={"chroma_url": chroma_server.url, "database_url": url})
    async with await InsightStore.open(shared, real_embedder) as store:
        await store.ingest_paths([shared_briefs])
        await store.digests.configure_channel(str(GUILD_ID), str(CHANNEL_ID))
        await store.digests.configure_time(str(GUILD_ID), "00:00", "UTC")  # due from the start of the day
        # Set up the day before: a post time that had passed when the settings were made is not owed.
        async with store.engine.begin() as connection:
            await connection.execute(update(digest_settings).values(updated_at=datetime.now(UTC) - timedelta(days=1)))

    standin = DiscordStandIn()
    await standin.start()
    logs = [tmp_path / f"bot-{number}.log" for number in (1, 2)]
    processes: list[subprocess.Popen[str]] = []
    try:
        for number, log_path in enumerate(logs, start=1):
            environment = {name: value for name, value in os.environ.items() if not name.startswith("INSIGHT_")}
            environment |= {
                "INSIGHT_DISCORD_TOKEN": BOT_TOKEN,
                "INSIGHT_DISCORD_API_BASE": standin.api_base,
                "INSIGHT_DATA_DIR": str(tmp_path / f"data-{number}"),
                "INSIGHT_DATABASE_URL": url,
                "INSIGHT_CHROMA_URL": chroma_server.url,
                "INSIGHT_CHROMA_COLLECTION": settings.chroma_collection,
                "INSIGHT_LOG_LEVEL": "DEBUG",
                "HF_HUB_OFFLINE": "1",
                "ANONYMIZED_TELEMETRY": "False",
            }
            with log_path.open("w") as log_file:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bot", "run"],
                        cwd=REPO_ROOT,
                        env=environment,
                        stdout=log_file,
                        stderr=log_file,
                        text=True,
                    )
                )

        def beats() -> list[int]:
            return [log_path.read_text(errors="replace").count("digest beat by") for log_path in logs]

        await standin.wait_for(lambda: all(count >= 1 for count in beats()), 120, "a digest beat in both processes")
        await asyncio.sleep(1.0)  # a post still in flight would show up here
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [await asyncio.to_thread(process.wait, 60) for process in processes]
        await standin.stop()

    outputs = [log_path.read_text(errors="replace") for log_path in logs]
    assert codes == [0, 0], [output[-2000:] for output in outputs]
    posts = [
        message
        for message in standin.fake.messages.values()
        if message.get("type") == 0 and message["channel_id"] == str(CHANNEL_ID)
    ]
    assert len(posts) == 1, f"{len(posts)} digest posts from two processes"
    posted_by = [output for output in outputs if ", 1 posted" in output]
    assert len(posted_by) == 1, "exactly one process reports the post"
    async with await InsightStore.open(shared, FakeEmbedder(), reconcile=False) as store:
        status = await store.digests.status(str(GUILD_ID))
    assert status.last_message_id == str(posts[0]["id"])
    assert BOT_TOKEN not in "".join(outputs)


_CLAIM_AT_BARRIER = (
    _WAIT_FOR_GO
    + r"""
import asyncio, json, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from config.settings import Settings
from store.service import InsightStore
from tests.fakes import FakeEmbedder

async def main():
    settings = Settings(data_dir=Path({data_dir!r}), chroma_url={chroma!r}, database_url={database!r}, chroma_collection={collection!r})
    won, late = [], []
    async with await InsightStore.open(settings, FakeEmbedder(), reconcile=False) as store:
        instant = wait_for_go({barrier_dir!r}, {worker!r})
        for number, day in enumerate({days!r}):
            # Every process claims each day at the same wall-clock instant; one that gets there
            # after it says so, because then it did not race.
            wait = instant + number * 1.0 - time.time()
            if wait < 0:
                late.append(day)
            await asyncio.sleep(max(0.0, wait))
            claim = await store.digests.claim({guild!r}, {channel!r}, day, {worker!r})
            if claim is not None:
                assert await store.digests.mark_posted(claim.run_id, {worker!r} + "-" + day)
                won.append(day)
    print(json.dumps({{"won": won, "late": late}}))

asyncio.run(main())
"""
)


async def test_processes_claiming_the_same_days_at_the_same_instant_get_each_day_once(
    settings: Settings, chroma_server: ChromaServer, shared_briefs: Path, tmp_path: Path
) -> None:
    """Three OS processes on one PostgreSQL claim the same five days, each day at one shared
    instant: every day is claimed and recorded by exactly one of them."""
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    await reset_postgres(url)
    guild, channel = "1200000000000000001", "1200000000000000002"
    shared = settings.model_copy(update={"chroma_url": chroma_server.url, "database_url": url})
    async with await InsightStore.open(shared, FakeEmbedder()) as store:
        await store.ingest_paths([shared_briefs])
        await store.digests.configure_channel(guild, channel)

    days = [f"2027-01-{day:02d}" for day in range(10, 15)]
    scripts = [
        _CLAIM_AT_BARRIER.format(
            repo=str(REPO_ROOT),
            data_dir=str(tmp_path / f"process-{worker}"),
            chroma=chroma_server.url,
            database=url,
            collection=settings.chroma_collection,
            days=days,
            barrier_dir=str(tmp_path),
            guild=guild,
            channel=channel,
            worker=worker,
        )
        for worker in ("a", "b", "c")
    ]
    processes = [
        subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for script in scripts
    ]
    await _release_together(tmp_path, ["a", "b", "c"], processes)
    outcomes = [await asyncio.to_thread(process.communicate, timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], [err[-1500:] for _, err in outcomes]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outcomes]
    assert [report["late"] for report in reports] == [[], [], []], "a process reached a day after its instant: nothing raced"
    won = [report["won"] for report in reports]
    assert sorted(day for days_won in won for day in days_won) == days, f"each day once: {won}"

    async with await InsightStore.open(shared, FakeEmbedder(), reconcile=False) as store, store.engine.connect() as connection:
        runs = (await connection.execute(select(digest_runs.c.local_date, digest_runs.c.status, digest_runs.c.message_id))).all()
    assert sorted(run.local_date for run in runs) == days
    assert all(run.status == "posted" and run.message_id for run in runs)
