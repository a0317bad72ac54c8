"""Start-up for the command line: the model and the store, built once per command, and the one
place where a command's store work is run and a store error becomes the command's error message."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from config.exit_codes import ExitCode
from config.settings import Settings
from store import StoreError, build_embedder, open_saved_lists

if TYPE_CHECKING:
    from store import InsightStore, SavedLists

__all__ = ["build_embedder", "open_store", "run_async", "sample_briefs_dir", "with_saved_lists", "with_store"]

T = TypeVar("T")


async def open_store(settings: Settings, *, reconcile: bool = True) -> InsightStore:
    # Imported here so that --help and --version import nothing of the store's machinery; and
    # build_embedder is looked up in this module, so tests can hand in a fake embedder.
    from store import InsightStore

    return await InsightStore.open(settings, build_embedder(settings), reconcile=reconcile)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a command's coroutine; a store error (whose message is written for people) ends the
    command with that message and ExitCode.FAILED instead of a traceback."""
    try:
        return asyncio.run(coroutine)
    except StoreError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(ExitCode.FAILED)


def with_store(context: click.Context, work: Callable[[InsightStore], Awaitable[T]], *, reconcile: bool = False) -> T:
    """Opens the store, runs one command's work on it and closes it, whatever happens. Commands
    that write (ingest, demo) pass ``reconcile`` so SQL and the index agree before they add."""

    async def opened() -> T:
        async with await open_store(context.obj["settings"], reconcile=reconcile) as store:
            return await work(store)

    return run_async(opened())


def with_saved_lists(context: click.Context, work: Callable[[SavedLists], Awaitable[T]]) -> T:
    """As with_store, for the saved-list commands, which need SQL only (no Chroma, no model)."""

    async def opened() -> T:
        async with open_saved_lists(context.obj["settings"]) as lists:
            return await work(lists)

    return run_async(opened())


def sample_briefs_dir() -> Path:
    return Path(str(resources.files("store") / "samples"))
