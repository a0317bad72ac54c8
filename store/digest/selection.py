"""Which five insights a channel's digest shows.

Every insight not shown in the channel in the last ``resurface_days`` (30) days is a candidate.
Its score is a weighted sum (weights in :class:`DigestWeights`):

    score = 1.0·freshness + 0.6·connectedness + 0.8·engagement

- freshness: 1 for an insight that is *new*, i.e. first seen after the channel's last posted digest
  was chosen and never shown there (all insights are new before the first digest); otherwise
  0.5 ** (age in days / 7), halving every week;
- connectedness: min(1, log(1 + explicit relations) / log(11)), plus 0.5 for the main insight of
  a brief (position "main" in insight_sources);
- engagement: min(1, log(1 + saves + digest feedback) / log(11)), where feedback is a reaction or
  vote on an earlier digest, in any channel.

Both logarithmic terms reach 1 at ten links or ten saves/votes: past that, more of the same says
little, and no one signal can drown out the others.

New insights are chosen first; older ones fill what is left and are marked resurfaced. Within
each group the choice is maximal marginal relevance over the embeddings (λ = 0.7: mostly score,
partly distance from what is already chosen), and two insights that are the same idea (an
explicit same-idea link, or cosine at or above the same-idea threshold) are never both chosen.

Scale: the scan is one aggregate query returning numbers only (no texts, no datetimes), scored in
numpy; vectors, links and texts are then read for a short list of the best few dozen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from store import sql_dialect
from store.digest.schema import digest_feedback, digest_items, digest_runs
from store.repository import InsightRepository
from store.schema import insight_sources, insights, relations, saved_items
from store.vector_index import VectorIndex

# MMR looks at this many of the best candidates of a group first, and widens the window (up to
# the cap) only when near-duplicates leave it short: the common case reads sixty vectors.
SHORTLIST = 60
SHORTLIST_CAP = 960


@dataclass(frozen=True, slots=True)
class DigestWeights:
    """The scoring knobs, kept together so the formula in the module docstring has one home."""

    freshness: float = 1.0
    connectedness: float = 0.6
    engagement: float = 0.8
    main_bonus: float = 0.5
    half_life_days: float = 7.0
    saturation: int = 10
    mmr_lambda: float = 0.7


@dataclass(frozen=True, slots=True)
class DigestPick:
    insight_id: str
    text: str
    score: float
    why: str
    resurfaced: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.insight_id,
            "text": self.text,
            "score": round(self.score, 4),
            "why": self.why,
            "resurfaced": self.resurfaced,
        }


@dataclass(frozen=True, slots=True)
class _Candidate:
    insight_id: str
    score: float
    new: bool
    why: str


@dataclass(frozen=True, slots=True)
class _Scored:
    """Column arrays for every candidate, so that 100k of them cost a few vector operations."""

    ids: list[str]
    score: np.ndarray
    new: np.ndarray
    links: np.ndarray
    main: np.ndarray
    saves: np.ndarray
    votes: np.ndarray
    age_days: np.ndarray
    shown_before: np.ndarray
    had_digest: bool

    def ranked(self, new: bool) -> np.ndarray:
        """Indices of one group, best first; ties keep id order (the query's order)."""
        members = np.flatnonzero(self.new == new)
        return members[np.argsort(-self.score[members], kind="stable")]


class DigestSelector:
    def __init__(
        self,
        engine: AsyncEngine,
        repository: InsightRepository,
        index: VectorIndex,
        same_idea_threshold: float,
        *,
        size: int = 5,
        resurface_days: int = 30,
        weights: DigestWeights | None = None,
    ) -> None:
        self._engine = engine
        self._repository = repository
        self._index = index
        self._threshold = same_idea_threshold
        self.size = size
        self.resurface_days = resurface_days
        self.weights = weights or DigestWeights()

    async def choose(self, channel_id: str | None, now: datetime) -> list[DigestPick]:
        """The picks for ``channel_id`` at ``now`` (None: as for a channel that never had one)."""
        scored = await self._score(channel_id, now)
        if scored is None:
            return []
        chosen: list[_Candidate] = []
        for group_is_new in (True, False):
            wanted = self.size - len(chosen)
            if wanted <= 0:
                break
            chosen += await self._diverse(scored, scored.ranked(group_is_new), chosen, wanted)
        texts = await self._repository.texts([candidate.insight_id for candidate in chosen])
        return [
            DigestPick(candidate.insight_id, texts[candidate.insight_id], candidate.score, candidate.why, not candidate.new)
            for candidate in chosen
            if candidate.insight_id in texts
        ]

    async def _diverse(self, scored: _Scored, order: np.ndarray, already: list[_Candidate], wanted: int) -> list[_Candidate]:
        window = SHORTLIST
        while True:
            group = [self._candidate(scored, int(position)) for position in order[:window]]
            ids = [candidate.insight_id for candidate in group + already]
            vectors = _normalised(await asyncio.to_thread(self._index.vectors_for, ids))
            same_idea = await self._same_idea_pairs(ids)
            picked = _mmr(group, already, wanted, vectors, same_idea, self._threshold, self.weights.mmr_lambda)
            if len(picked) >= wanted or window >= len(order) or window >= SHORTLIST_CAP:
                return picked
            window *= 4

    def _candidate(self, scored: _Scored, position: int) -> _Candidate:
        is_new = bool(scored.new[position])
        why = _why(
            is_new,
            scored.had_digest,
            bool(scored.main[position]),
            int(scored.links[position]),
            int(scored.saves[position]),
            int(scored.votes[position]),
            float(scored.age_days[position]),
            bool(scored.shown_before[position]),
            self.resurface_days,
        )
        return _Candidate(scored.ids[position], float(scored.score[position]), is_new, why)

    async def _score(self, channel_id: str | None, now: datetime) -> _Scored | None:
        now = now.astimezone(UTC)
        async with self._engine.connect() as connection:
            last_digest = await _last_digest_at(connection, channel_id)
            rows = (
                await connection.execute(
                    _features_query(sql_dialect.name_of(connection), channel_id, now, last_digest, self.resurface_days)
                )
            ).all()
        if not rows:
            return None
        ids, age, links, main, saves, votes, new, shown = zip(*rows, strict=True)
        weights = self.weights
        age_days = np.maximum(np.asarray(age, dtype=np.float64), 0.0)
        links_array = np.asarray(links, dtype=np.int64)
        main_array = np.asarray(main, dtype=bool)
        saves_array = np.asarray(saves, dtype=np.int64)
        votes_array = np.asarray(votes, dtype=np.int64)
        new_array = np.asarray(new, dtype=bool)
        saturation = np.log1p(weights.saturation)
        freshness = np.where(new_array, 1.0, 0.5 ** (age_days / weights.half_life_days))
        connectedness = np.minimum(1.0, np.log1p(links_array) / saturation) + weights.main_bonus * main_array
        engagement = np.minimum(1.0, np.log1p(saves_array + votes_array) / saturation)
        score = weights.freshness * freshness + weights.connectedness * connectedness + weights.engagement * engagement
        shown_array = np.asarray(shown, dtype=bool)
        return _Scored(
            list(ids),
            score,
            new_array,
            links_array,
            main_array,
            saves_array,
            votes_array,
            age_days,
            shown_array,
            last_digest is not None,
        )

    async def _same_idea_pairs(self, ids: Sequence[str]) -> set[tuple[str, str]]:
        if not ids:
            return set()
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(relations.c.low_id, relations.c.high_id).where(
                    and_(relations.c.kind == "same-idea", or_(relations.c.low_id.in_(ids), relations.c.high_id.in_(ids)))
                )
            )
            return {(low, high) for low, high in rows}


async def _last_digest_at(connection: AsyncConnection, channel_id: str | None) -> datetime | None:
    """When the channel's latest posted digest was chosen: what arrived after it is new."""
    if channel_id is None:
        return None
    found: datetime | None = (
        await connection.execute(
            select(func.max(digest_runs.c.claimed_at)).where(
                and_(digest_runs.c.channel_id == channel_id, digest_runs.c.status == "posted")
            )
        )
    ).scalar()
    if found is None:
        return None
    return (found if found.tzinfo else found.replace(tzinfo=UTC)).astimezone(UTC)


def _age_days(dialect: str, now: datetime) -> ColumnElement[Any]:
    return sql_dialect.days_between(dialect, now, insights.c.first_seen)


def _features_query(
    dialect: str, channel_id: str | None, now: datetime, last_digest: datetime | None, resurface_days: int
) -> Any:
    ends = select(relations.c.low_id.label("insight_id")).union_all(select(relations.c.high_id.label("insight_id"))).subquery()
    links = select(ends.c.insight_id, func.count().label("links")).group_by(ends.c.insight_id).subquery()
    mains = select(insight_sources.c.insight_id).where(insight_sources.c.position == "main").distinct().subquery()
    saves = select(saved_items.c.insight_id, func.count().label("saves")).group_by(saved_items.c.insight_id).subquery()
    votes = select(digest_feedback.c.insight_id, func.count().label("votes")).group_by(digest_feedback.c.insight_id).subquery()
    columns: list[Any] = [
        insights.c.id,
        _age_days(dialect, now),
        func.coalesce(links.c.links, 0),
        mains.c.insight_id.is_not(None),
        func.coalesce(saves.c.saves, 0),
        func.coalesce(votes.c.votes, 0),
    ]
    arrived_since = insights.c.first_seen > last_digest if last_digest is not None else literal(True)
    statement_from = (
        insights.outerjoin(links, links.c.insight_id == insights.c.id)
        .outerjoin(mains, mains.c.insight_id == insights.c.id)
        .outerjoin(saves, saves.c.insight_id == insights.c.id)
        .outerjoin(votes, votes.c.insight_id == insights.c.id)
    )
    if channel_id is None:
        statement = select(*columns, case((arrived_since, True), else_=False), literal(False)).select_from(statement_from)
    else:
        shown = (
            select(
                digest_items.c.insight_id,
                func.max(func.coalesce(digest_runs.c.posted_at, digest_runs.c.claimed_at)).label("shown_at"),
            )
            .join(digest_runs, digest_runs.c.id == digest_items.c.run_id)
            .where(and_(digest_runs.c.channel_id == channel_id, digest_runs.c.status == "posted"))
            .group_by(digest_items.c.insight_id)
            .subquery()
        )
        never_shown = shown.c.insight_id.is_(None)
        statement = (
            select(*columns, case((and_(never_shown, arrived_since), True), else_=False), shown.c.insight_id.is_not(None))
            .select_from(statement_from.outerjoin(shown, shown.c.insight_id == insights.c.id))
            .where(or_(never_shown, shown.c.shown_at < now - timedelta(days=resurface_days)))
        )
    return statement.order_by(insights.c.id)


def _normalised(vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # Chroma hands back what was stored; dividing here keeps the threshold a true cosine.
    normalised = {}
    for found, vector in vectors.items():
        norm = float(np.linalg.norm(vector))
        normalised[found] = vector / norm if norm > 0 else vector
    return normalised


def _mmr(
    group: list[_Candidate],
    already: list[_Candidate],
    wanted: int,
    vectors: dict[str, np.ndarray],
    same_idea: set[tuple[str, str]],
    threshold: float,
    balance: float,
) -> list[_Candidate]:
    picked: list[_Candidate] = []
    remaining = list(group)
    top = max((candidate.score for candidate in group), default=1.0) or 1.0
    while remaining and len(picked) < wanted:
        best: tuple[float, _Candidate] | None = None
        blocked: list[_Candidate] = []
        for candidate in remaining:
            others = already + picked
            if any(_same(candidate.insight_id, other.insight_id, same_idea) for other in others):
                blocked.append(candidate)
                continue
            similarity = max((_cosine(vectors, candidate.insight_id, other.insight_id) for other in others), default=0.0)
            if similarity >= threshold:
                blocked.append(candidate)
                continue
            value = balance * (candidate.score / top) - (1 - balance) * similarity
            if best is None or value > best[0]:
                best = (value, candidate)
        for candidate in blocked:
            remaining.remove(candidate)
        if best is None:
            break
        picked.append(best[1])
        remaining.remove(best[1])
    return picked


def _cosine(vectors: dict[str, np.ndarray], a: str, b: str) -> float:
    if a not in vectors or b not in vectors:
        return 0.0
    return float(np.dot(vectors[a], vectors[b]))


def _same(a: str, b: str, pairs: set[tuple[str, str]]) -> bool:
    return (min(a, b), max(a, b)) in pairs


def _why(
    is_new: bool,
    had_digest: bool,
    is_main: bool,
    links: int,
    saved: int,
    votes: int,
    age_days: float,
    shown_before: bool,
    resurface_days: int,
) -> str:
    if is_new:
        parts = ["new since the last digest" if had_digest else "new"]
    elif shown_before:
        parts = [f"resurfaced: not shown here in the last {resurface_days} days"]
    else:
        parts = [f"resurfaced: from {int(age_days)} day{'s' if int(age_days) != 1 else ''} ago, not shown here yet"]
    if is_main:
        parts.append(f"main insight of a brief with {links} related")
    elif links:
        parts.append(f"{links} related insight{'s' if links != 1 else ''}")
    if saved:
        parts.append(f"saved by {saved} {'person' if saved == 1 else 'people'}")
    if votes:
        parts.append(f"{votes} reaction{'s' if votes != 1 else ''} on earlier digests")
    return ", ".join(parts)
