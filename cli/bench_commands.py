"""Operations commands: `health` (and the benchmark, when present)."""

from __future__ import annotations

import click

from cli.bench import bench
from cli.health import health


def register(group: click.Group) -> None:
    group.add_command(health)
    group.add_command(bench)
