"""How a process of this project ends: one set of numbers for the command line and the bot runner.

It lives beside the settings, below both fronts, so that neither has to import the other for it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # The work was tried and did not succeed (a store outage, a rejected token, a failed file).
    FAILED = 1
    # Nothing was tried: a setting or the command line itself was wrong (click uses 2 for usage too).
    CONFIG = 2
