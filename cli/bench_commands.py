"""The benchmark command (`health` registers itself, from cli/health.py)."""

from __future__ import annotations

import click

from cli.bench import bench


def register(group: click.Group) -> None:
    group.add_command(bench)
