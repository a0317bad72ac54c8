"""Expanding the paths a person names into the files to ingest, reporting bad paths instead of failing."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from store.parsing.dispatch import SUPPORTED_EXTENSIONS

NOT_FOUND = "not found: check the path and try again"
NOT_READABLE = "cannot be read (permission denied): check its permissions"
NOT_REGULAR = "not a regular file or folder: only ordinary files can be ingested"


def iter_input_files(paths: Iterable[Path]) -> Iterator[Path | tuple[Path, str]]:
    """Files in a stable order, each at most once: a folder's files sorted by name, then its
    subfolders in name order, depth first.

    A file named explicitly is always yielded, whatever its extension, so its parse can say what
    is wrong with it; inside folders, hidden entries and unsupported extensions are skipped silently
    because folders hold such files (``.DS_Store``, images) as a matter of course.
    """
    seen: set[Path] = set()
    for path in paths:
        path = Path(path)
        try:
            is_dir = path.is_dir()
            is_file = path.is_file()
        except OSError:
            yield path, NOT_READABLE
            continue
        if is_dir:
            yield from _walk(path, seen)
        elif is_file:
            if _first_time(path, seen):
                yield path if os.access(path, os.R_OK) else (path, NOT_READABLE)
        elif path.exists():
            yield path, NOT_REGULAR
        else:
            yield path, NOT_FOUND


def _walk(folder: Path, seen: set[Path]) -> Iterator[Path | tuple[Path, str]]:
    """Iterative, with resolved folders remembered, so symlink loops and deep trees cannot recurse forever."""
    stack: list[Path] = [folder]
    visited: set[Path] = set()
    while stack:
        current = stack.pop()
        resolved = _resolved(current)
        if resolved in visited:
            continue
        visited.add(resolved)
        try:
            with os.scandir(current) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            yield current, NOT_READABLE
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            entry_path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError:
                continue
            if is_dir:
                # Visited after this folder's files; reversed so the stack pops them in name order.
                subfolders.append(entry_path)
            elif is_file and entry_path.suffix.lower() in SUPPORTED_EXTENSIONS and _first_time(entry_path, seen):
                yield entry_path if os.access(entry_path, os.R_OK) else (entry_path, NOT_READABLE)
        stack.extend(reversed(subfolders))


def _first_time(path: Path, seen: set[Path]) -> bool:
    """Naming a folder and a file inside it should not ingest the file twice."""
    resolved = _resolved(path)
    if resolved in seen:
        return False
    seen.add(resolved)
    return True


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()
