"""The one translation of an outage (a database or vector index that is locked, unreachable or
gone for the moment) into the error people see: "try again shortly".

Every store entry point the fronts call (search, ingest, saves, digests) goes through
:func:`translate_outages` or :func:`outage_boundary`, so the same outage reads the same in every
command and is logged as an outage, not as a bug. The driver's own text stays in the chained
exception and out of the message, since it can name hosts and users.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from store.errors import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

UNAVAILABLE = "the insight store is unavailable, try again shortly"


def _chroma_outages() -> tuple[type[BaseException], ...]:
    import httpx
    from chromadb.errors import InternalError, NotFoundError

    # NotFoundError: the collection is gone for a moment (another process is rebuilding it); the
    # index reopens it by name once before this applies. InternalError: the server's 5xx.
    return httpx.TransportError, NotFoundError, InternalError


def is_outage(error: BaseException) -> bool:
    """True for errors that may go away by themselves: locks, lost connections, a server away."""
    if isinstance(error, StoreError):
        return False
    if isinstance(error, DBAPIError) and not isinstance(error, (OperationalError, InterfaceError)):
        # Integrity and programming errors are bugs or races the caller handles; a connection
        # dropped mid-statement is an outage whatever class the driver gives it.
        return bool(error.connection_invalidated)
    return isinstance(error, (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError, *_chroma_outages()))


class outage_boundary:
    """Raises :class:`StoreUnavailable` with the one message for an outage inside the block; a
    plain ``with`` around blocking code, ``async with`` beside other asynchronous context managers."""

    def __init__(self, operation: str) -> None:
        self._operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _trace: TracebackType | None) -> None:
        if error is None or not isinstance(error, Exception) or not is_outage(error):
            return
        log.warning("%s: the store is unreachable: %s", self._operation, type(error).__name__)
        raise StoreUnavailable(UNAVAILABLE) from error

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.__exit__(kind, error, trace)


def translate_outages(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """:func:`outage_boundary` around a whole coroutine function, named after it in the log."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        with outage_boundary(method.__qualname__):
            return await method(*args, **kwargs)

    return guarded


__all__ = ["UNAVAILABLE", "is_outage", "outage_boundary", "translate_outages"]
