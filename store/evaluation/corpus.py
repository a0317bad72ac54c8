"""Which briefs the evaluation ingests, in one place, and how a query's expected key finds its insight.

An expected insight is named by a prefix of its text (normalised like insight ids, so case, spacing
and typographic quotes do not matter) instead of its full text or its id: the queries file stays
readable, and a key that stops matching exactly one insight is caught by a test instead of silently
scoring as a miss.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from store.text import insight_id, normalise_for_id

# The project's own sample briefs (sleep, investing, teams, AI systems) and the two shared sample
# briefs about AI chips, training and inference (copied into the repository).
CORPUS_FOLDERS = ("samples", "evaluation/briefs")


def corpus_paths() -> list[Path]:
    root = Path(str(resources.files("store")))
    return sorted(path for folder in CORPUS_FOLDERS for path in (root / folder).glob("*.txt"))


@cache
def corpus_texts() -> tuple[str, ...]:
    """Every distinct insight of the corpus, in file order, as the ingest path stores it."""
    # Imported here: the command line imports this package for its options, and commands that
    # parse nothing (stats, saved lists) should not import the parsers and their HTML library.
    from store.parsing import parse_file

    texts: dict[str, str] = {}
    for path in corpus_paths():
        for brief in parse_file(path).briefs:
            for text in (brief.main, *brief.related):
                texts.setdefault(insight_id(text), text)
    return tuple(texts.values())


@cache
def _normalised_corpus() -> tuple[tuple[str, str], ...]:
    return tuple((normalise_for_id(text), text) for text in corpus_texts())


def matching_texts(key: str) -> list[str]:
    wanted = normalise_for_id(key)
    return [text for normalised, text in _normalised_corpus() if normalised.startswith(wanted)]


class UnknownKey(LookupError):
    pass


def resolve(key: str) -> str:
    """The one corpus insight whose text starts with ``key``."""
    found = matching_texts(key)
    if len(found) != 1:
        raise UnknownKey(f"expected key {key!r} matches {len(found)} insights of the evaluation corpus, not one")
    return found[0]
