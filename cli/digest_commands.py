"""Commands of the `insight-recall` line that belong to one feature; `register` adds them to the group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Adds this module's commands to the top-level group."""
