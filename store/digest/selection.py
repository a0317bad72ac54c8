"""Which five insights a channel's digest shows.

Every insight not posted to the channel in the last 30 days gets a score (weights in
:class:`DigestWeights`):

    score = freshness·w_f + connectedness·w_c + engagement·w_e

- freshness: 1 for an insight first seen since the channel's last digest (or when it never had one),
  otherwise 0.5 ** (age in days / 7);
- connectedness: log(1 + explicit relations) / log(11), capped at 1, plus 0.5 if the insight was the
  main insight of a brief;
- engagement: log(1 + saves + digest feedback) / log(11), capped at 1.

New insights are chosen first, then older ones fill the rest, marked "resurfaced". Within each group
the choice is maximal marginal relevance over the embeddings (λ = 0.7), and two insights that are
the same idea (an explicit same-idea link, or cosine at or above the same-idea threshold) are never
both chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.digest.schema import digest_feedback, digest_items, digest_runs
from store.schema import insight_sources, insights, relations, saved_items
from store.vector_index import VectorIndex

RESURFACE_AFTER_DAYS = 30
SHORTLIST = 60


@dataclass(frozen=True, slots=True)
class DigestWeights:
    freshness: float = 1.0
    connectedness: float = 0.6
    engagement: float = 0.8
    mmr_lambda: float = 0.7


@dataclass(frozen=True, slots=True)
class DigestPick:
    insight_id: str
    text: str
    score: float
    why: str
    resurfaced: bool

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.insight_id, "text": self.text, "score": round(self.score, 4), "why": self.why, "resurfaced": self.resurfaced}


@dataclass(frozen=True, slots=True)
class _Candidate:
    insight_id: str
    score: float
    new: bool
    why: str


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


async def select_digest(
    engine: AsyncEngine,
    index: VectorIndex,
    channel_id: str | None,
    now: datetime,
    same_idea_threshold: float,
    size: int = 5,
    weights: DigestWeights = DigestWeights(),
) -> list[DigestPick]:
    import asyncio

    candidates = await _scored_candidates(engine, channel_id, now, weights)
    if not candidates:
        return []
    candidates.sort(key=lambda candidate: (-candidate.score, candidate.insight_id))
    new = [candidate for candidate in candidates if candidate.new][:SHORTLIST]
    older = [candidate for candidate in candidates if not candidate.new][:SHORTLIST]
    shortlist = new + older
    vectors = await asyncio.to_thread(index.vectors_for, [candidate.insight_id for candidate in shortlist])
    same_idea = await _same_idea_pairs(engine, [candidate.insight_id for candidate in shortlist])

    chosen: list[_Candidate] = []
    for group in (new, older):
        chosen += _mmr(group, chosen, size - len(chosen), vectors, same_idea, same_idea_threshold, weights.mmr_lambda)
        if len(chosen) >= size:
            break
    texts = await _texts(engine, [candidate.insight_id for candidate in chosen])
    return [
        DigestPick(candidate.insight_id, texts[candidate.insight_id], candidate.score, candidate.why, not candidate.new)
        for candidate in chosen
        if candidate.insight_id in texts
    ]


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
        for candidate in remaining:
            similarity = max((_cosine(vectors, candidate.insight_id, other.insight_id) for other in already + picked), default=0.0)
            if any(_same(candidate.insight_id, other.insight_id, same_idea) for other in already + picked) or similarity >= threshold:
                continue
            value = balance * (candidate.score / top) - (1 - balance) * similarity
            if best is None or value > best[0]:
                best = (value, candidate)
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


async def _scored_candidates(engine: AsyncEngine, channel_id: str | None, now: datetime, weights: DigestWeights) -> list[_Candidate]:
    recent_cutoff = now - timedelta(days=RESURFACE_AFTER_DAYS)
    async with engine.connect() as connection:
        last_digest = None
        ever_posted: set[str] = set()
        recently_posted: set[str] = set()
        if channel_id is not None:
            last_digest = _aware(
                (await connection.execute(select(func.max(digest_runs.c.claimed_at)).where(digest_runs.c.channel_id == channel_id))).scalar()
            )
            rows = await connection.execute(
                select(digest_items.c.insight_id, digest_runs.c.claimed_at)
                .join(digest_runs, digest_runs.c.id == digest_items.c.run_id)
                .where(digest_runs.c.channel_id == channel_id)
            )
            for found, claimed_at in rows:
                ever_posted.add(found)
                if _aware(claimed_at) >= recent_cutoff:  # type: ignore[operator]
                    recently_posted.add(found)

        relation_counts = (
            select(relations.c.low_id.label("insight_id")).union_all(select(relations.c.high_id.label("insight_id"))).subquery()
        )
        relation_total = select(relation_counts.c.insight_id, func.count().label("links")).group_by(relation_counts.c.insight_id).subquery()
        mains = select(insight_sources.c.insight_id).where(insight_sources.c.position == "main").distinct().subquery()
        saves = select(saved_items.c.insight_id, func.count().label("saves")).group_by(saved_items.c.insight_id).subquery()
        feedback = select(digest_feedback.c.insight_id, func.count().label("votes")).group_by(digest_feedback.c.insight_id).subquery()
        rows = await connection.execute(
            select(
                insights.c.id,
                insights.c.first_seen,
                func.coalesce(relation_total.c.links, 0),
                mains.c.insight_id.is_not(None),
                func.coalesce(saves.c.saves, 0),
                func.coalesce(feedback.c.votes, 0),
            )
            .select_from(insights)
            .outerjoin(relation_total, relation_total.c.insight_id == insights.c.id)
            .outerjoin(mains, mains.c.insight_id == insights.c.id)
            .outerjoin(saves, saves.c.insight_id == insights.c.id)
            .outerjoin(feedback, feedback.c.insight_id == insights.c.id)
        )
        candidates: list[_Candidate] = []
        for insight_id, first_seen, links, is_main, saved, votes in rows:
            if insight_id in recently_posted:
                continue
            seen = _aware(first_seen)
            is_new = insight_id not in ever_posted and (last_digest is None or seen > last_digest)  # type: ignore[operator]
            age_days = max(0.0, (now - seen).total_seconds() / 86400)  # type: ignore[operator]
            freshness = 1.0 if is_new else 0.5 ** (age_days / 7)
            connectedness = min(1.0, math.log1p(links) / math.log(11)) + (0.5 if is_main else 0.0)
            engagement = min(1.0, math.log1p(saved + votes) / math.log(11))
            score = weights.freshness * freshness + weights.connectedness * connectedness + weights.engagement * engagement
            candidates.append(_Candidate(insight_id, score, is_new, _why(is_new, bool(is_main), links, saved, votes)))
        return candidates


def _why(is_new: bool, is_main: bool, links: int, saved: int, votes: int) -> str:
    parts = ["new since the last digest" if is_new else "resurfaced: not shown here in the last 30 days"]
    if is_main:
        parts.append(f"main insight of a brief with {links} related")
    elif links:
        parts.append(f"{links} related insight{'s' if links != 1 else ''}")
    if saved:
        parts.append(f"saved by {saved} {'person' if saved == 1 else 'people'}")
    if votes:
        parts.append(f"{votes} reaction{'s' if votes != 1 else ''} on earlier digests")
    return ", ".join(parts)


async def _same_idea_pairs(engine: AsyncEngine, ids: list[str]) -> set[tuple[str, str]]:
    if not ids:
        return set()
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(relations.c.low_id, relations.c.high_id).where(
                and_(relations.c.kind == "same-idea", or_(relations.c.low_id.in_(ids), relations.c.high_id.in_(ids)))
            )
        )
        return {(low, high) for low, high in rows}


async def _texts(engine: AsyncEngine, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    async with engine.connect() as connection:
        rows = await connection.execute(select(insights.c.id, insights.c.text).where(insights.c.id.in_(ids)))
        return {found: text for found, text in rows}
