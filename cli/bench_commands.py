"""Operations commands: `health`, the benchmark and the evaluation."""

from __future__ import annotations

import click

from cli.bench import bench
from cli.eval import evaluate_command
from cli.health import health


def register(group: click.Group) -> None:
    group.add_command(health)
    group.add_command(bench)
    group.add_command(evaluate_command)
