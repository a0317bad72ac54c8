"""The one error the parsers raise, so a front can show its message to a person as it is."""

from __future__ import annotations

from store.errors import StoreError


class ParseError(StoreError):
    """The whole file (or message) cannot be used.

    The message names the reason and what to do about it, because the bot and the command line show
    it verbatim; it never carries a traceback or internal detail.
    """
