"""Operations commands: `health` (and the benchmark, when present)."""

from __future__ import annotations

import click

from cli.health import health


def register(group: click.Group) -> None:
    group.add_command(health)
