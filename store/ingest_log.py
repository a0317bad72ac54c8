"""Which files were ingested with which content, so that re-ingesting an unchanged file costs a
hash and one query instead of a parse and a write batch (a 10,000-line JSON Lines file took 7x less
time the second time, not the 20x a no-op should)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.schema import ingested_files

# Larger files are refused by the parser anyway; hashing them first would only cost time.
MAX_HASHED_BYTES = 20 * 1024 * 1024
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class IngestedFile:
    origin: str
    sha256: str
    occurrences: int
    problems: tuple[str, ...] = ()


def file_digest(path: Path) -> str | None:
    """The file's SHA-256, or None when it cannot be read or is too large (the parser then says why)."""
    try:
        if path.stat().st_size > MAX_HASHED_BYTES:
            return None
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


class IngestLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def lookup(self, origins: Sequence[str]) -> dict[str, IngestedFile]:
        found: dict[str, IngestedFile] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(origins), _LOOKUP_CHUNK):
                chunk = list(origins[start : start + _LOOKUP_CHUNK])
                rows = await connection.execute(select(ingested_files).where(ingested_files.c.origin.in_(chunk)))
                for row in rows:
                    found[row.origin] = IngestedFile(row.origin, row.sha256, row.occurrences, tuple(json.loads(row.problems)))
        return found

    async def record(self, files: Iterable[IngestedFile]) -> None:
        rows = {entry.origin: entry for entry in files}
        if not rows:
            return
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
            origins = list(rows)
            for start in range(0, len(origins), _LOOKUP_CHUNK):
                await connection.execute(
                    delete(ingested_files).where(ingested_files.c.origin.in_(origins[start : start + _LOOKUP_CHUNK]))
                )
            await connection.execute(
                ingested_files.insert(),
                [
                    {
                        "origin": entry.origin,
                        "sha256": entry.sha256,
                        "occurrences": entry.occurrences,
                        "problems": json.dumps(list(entry.problems), ensure_ascii=False),
                        "ingested_at": now,
                    }
                    for entry in rows.values()
                ],
            )
