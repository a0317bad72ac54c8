"""Measurement commands: the benchmark and the evaluation (`health` registers itself, from cli/health.py)."""

from __future__ import annotations

import click

from cli.bench import bench
from cli.eval import evaluate_command


def register(group: click.Group) -> None:
    group.add_command(bench)
    group.add_command(evaluate_command)
