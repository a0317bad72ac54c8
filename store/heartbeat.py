"""The bot's heartbeat: files whose modification time says a loop is alive, so `insight-recall
health` (the container's health check, another process) can tell a running bot from a hung one.

One file per loop under ``<data dir>/heartbeat/``: ``gateway`` while connected to Discord, ``digest``
at every beat of the digest loop. A clean stop removes them (no bot, nothing to be stale); a file
older than its limit means that loop stopped while the process did not say so.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

HEARTBEAT_DIR = "heartbeat"
GATEWAY = "gateway"
DIGEST = "digest"
BEAT_SECONDS = 15.0
# Several missed beats, so a busy machine or one slow digest post is not reported as dead.
STALE_AFTER_SECONDS = {GATEWAY: 120.0, DIGEST: 300.0}


def heartbeat_dir(data_dir: Path) -> Path:
    return data_dir / HEARTBEAT_DIR


def beat(data_dir: Path, part: str) -> None:
    """Blocking (a small file write); the bot calls it from a worker thread."""
    folder = heartbeat_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / part
    path.touch()
    os.utime(path)


def stop(data_dir: Path, part: str) -> None:
    (heartbeat_dir(data_dir) / part).unlink(missing_ok=True)


def stale_parts(data_dir: Path, now: float | None = None) -> dict[str, str]:
    """Which loops have not beaten in time, with their age; empty when none runs or all are alive."""
    now = time.time() if now is None else now
    problems: dict[str, str] = {}
    for part, limit in STALE_AFTER_SECONDS.items():
        try:
            age = now - (heartbeat_dir(data_dir) / part).stat().st_mtime
        except FileNotFoundError:
            continue
        if age > limit:
            problems[f"bot {part}"] = f"no heartbeat for {age:.0f} s (limit {limit:.0f} s)"
    return problems
