"""Real servers for tests, started by the tests themselves on 127.0.0.1: a Chroma server (from the
chromadb package's own `chroma run`), and PostgreSQL when INSIGHT_TEST_POSTGRES_URL names one
(`.ci/run` starts it with scripts/test-services.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.discord_standin import free_port

CHROMA_START_SECONDS = 60.0


@dataclass
class ChromaServer:
    url: str
    process: subprocess.Popen[bytes]
    path: Path
    port: int

    def heartbeat(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def kill(self) -> None:
        """For fault tests: the server vanishes without a goodbye."""
        self.process.kill()
        self.process.wait(timeout=15)


def start_chroma_server(path: Path | None = None, port: int | None = None) -> ChromaServer:
    binary = Path(sys.executable).with_name("chroma")
    if not binary.exists():
        found = shutil.which("chroma")
        if found is None:
            raise RuntimeError("the `chroma` command from the chromadb package is not installed")
        binary = Path(found)
    path = path or Path(tempfile.mkdtemp(prefix="chroma-server-"))
    port = port or free_port()
    log_file = path.parent / f"{path.name}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [str(binary), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    server = ChromaServer(f"http://127.0.0.1:{port}", process, path, port)
    deadline = time.monotonic() + CHROMA_START_SECONDS
    while time.monotonic() < deadline:
        if server.heartbeat():
            return server
        if process.poll() is not None:
            break
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the Chroma server did not come up on port {port}:\n{log_file.read_text(errors='replace')[-3000:]}")


def postgres_url() -> str | None:
    return os.environ.get("INSIGHT_TEST_POSTGRES_URL") or None


# What a skipped PostgreSQL variant tells the person running the tests, so they can act on it.
POSTGRES_SKIP_REASON = (
    "no PostgreSQL: set INSIGHT_TEST_POSTGRES_URL to a postgresql+asyncpg:// URL of a throwaway database "
    "(scripts/test-services.sh start runs one and prints its URL) to run the PostgreSQL variants"
)
