"""Hybrid search: a dense ranking (meaning) fused with a lexical one (words), then related insights.

Dense embeddings find paraphrases but blur names: "Zyphra" and "Z.AI" look alike to a small model.
So a lexical ranking runs beside it, and a query word that only a few insights contain (a name, a
rare term) lifts those insights to the top. Results below the similarity cut-off are dropped unless
such a rare word matched, so a query about nothing in the store returns nothing instead of noise.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from store.embedding import QueryEncoder
from store.errors import InsightNotFound, InvalidInput
from store.model import RelatedInsight, SearchHit, SearchResult
from store.repository import InsightRepository
from store.text import clean_text, looks_like_insight_id
from store.vector_index import VectorIndex

MAX_QUERY_CHARS = 1000
RRF_K = 60
RARE_WEIGHT = 3.0
COMMON_WEIGHT = 0.3
MAX_EXPLICIT_RELATED = 25
_WORD = re.compile(r"[^\W_][\w'.-]*[^\W_]|[^\W_]", re.UNICODE)
_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers herself him himself
    his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves insight insights""".split()
)


@dataclass(frozen=True, slots=True)
class SearchTuning:
    min_score: float
    related_count: int
    candidates: int = 30


def query_terms(query: str) -> list[str]:
    """Words worth a lexical lookup: no stop words, no punctuation that FTS syntax would read."""
    terms: list[str] = []
    for match in _WORD.finditer(query.lower()):
        word = re.sub(r"[^\w]", "", match.group())
        if len(word) > 1 and word not in _STOPWORDS and word not in terms:
            terms.append(word)
    return terms[:16]


def rare_cap(total: int) -> int:
    return max(2, min(50, math.ceil(total * 0.005)))


class Searcher:
    def __init__(
        self,
        repository: InsightRepository,
        index: VectorIndex,
        encoder: QueryEncoder,
        tuning: SearchTuning,
        vocabulary: frozenset[str] | None = None,
    ) -> None:
        """``vocabulary`` is the words the embedding model knows whole; a rare query word outside
        it is one the dense ranking is likely to blur, so the lexical ranking speaks for it."""
        self._vocabulary = vocabulary
        self._repository = repository
        self._index = index
        self._encoder = encoder
        self._tuning = tuning
        self._total_hint = 0

    async def search(self, query: str, limit: int) -> SearchResult:
        cleaned = clean_text(query)
        if not cleaned:
            raise InvalidInput("the query is empty: type a few words about the idea you want to recall")
        if len(cleaned) > MAX_QUERY_CHARS:
            raise InvalidInput(f"the query is {len(cleaned)} characters long: keep it under {MAX_QUERY_CHARS}")
        if not 1 <= limit <= 50:
            raise InvalidInput("the result count must be between 1 and 50")

        terms = query_terms(cleaned)
        vector = await self._encoder.encode(cleaned)
        dense_task = asyncio.to_thread(self._index.query, vector[None, :], max(self._tuning.candidates, limit * 4))
        total = self._total_hint or await self._repository.count()
        lexical_ids, rare = await asyncio.gather(
            self._repository.lexical_search(terms, self._tuning.candidates), self._repository.rare_terms(terms, rare_cap(total))
        )
        dense = (await dense_task)[0]
        self._total_hint = total

        similarity = dict(dense)
        missing = [found for found in lexical_ids if found not in similarity]
        if missing:
            stored = await asyncio.to_thread(self._index.vectors_for, missing)
            for found, stored_vector in stored.items():
                similarity[found] = float(np.dot(stored_vector, vector))

        texts = await self._repository.texts(set(similarity) | set(lexical_ids))
        matched = {found: _matched_names(texts.get(found, ""), rare, self._vocabulary) for found in lexical_ids}
        fused: dict[str, float] = {}
        for rank, (found, _score) in enumerate(dense, start=1):
            fused[found] = fused.get(found, 0.0) + 1.0 / (RRF_K + rank)
        for rank, found in enumerate(lexical_ids, start=1):
            weight = RARE_WEIGHT if matched[found] else COMMON_WEIGHT
            fused[found] = fused.get(found, 0.0) + weight / (RRF_K + rank)

        keep = [
            found
            for found in sorted(fused, key=lambda candidate: (-fused[candidate], candidate))
            if found in texts and (similarity.get(found, -1.0) >= self._tuning.min_score or matched.get(found))
        ][:limit]
        hits = await self._expand(keep, {found: similarity.get(found, 0.0) for found in keep}, texts, matched)
        return SearchResult(cleaned, tuple(hits))

    async def related(self, insight_id: str) -> SearchHit:
        """One insight with everything related to it, for `related ID` and the bot's detail view."""
        wanted = insight_id.strip().lower()
        if not looks_like_insight_id(wanted):
            raise InvalidInput(f"{insight_id!r} is not an insight id: ids are 16 characters of 0-9 and a-f, as shown in search results")
        texts = await self._repository.texts([wanted])
        if wanted not in texts:
            raise InsightNotFound(wanted)
        hits = await self._expand([wanted], {wanted: 1.0}, texts, {})
        return hits[0]

    async def _expand(
        self, ids: Sequence[str], scores: dict[str, float], texts: dict[str, str], matched: dict[str, tuple[str, ...]]
    ) -> list[SearchHit]:
        """Sources and related insights for all hits at once: one SQL query per kind and one
        batched Chroma query for the neighbours, however many hits there are."""
        if not ids:
            return []
        sources, explicit = await asyncio.gather(self._repository.sources(ids), self._repository.relations(ids))
        neighbours: list[list[tuple[str, float]]] = [[] for _ in ids]
        if self._tuning.related_count:
            stored = await asyncio.to_thread(self._index.vectors_for, list(ids))
            present = [found for found in ids if found in stored]
            if present:
                widest = max(len(explicit.get(found, [])) for found in present)
                answers = await asyncio.to_thread(
                    self._index.query, np.stack([stored[found] for found in present]), self._tuning.related_count + min(widest, MAX_EXPLICIT_RELATED) + 1
                )
                by_id = dict(zip(present, answers, strict=True))
                neighbours = [by_id.get(found, []) for found in ids]

        wanted_texts = {relation.other_id for found in ids for relation in explicit.get(found, [])[:MAX_EXPLICIT_RELATED]}
        wanted_texts |= {other for answer in neighbours for other, _ in answer}
        texts = {**texts, **await self._repository.texts(wanted_texts - set(texts))}

        hits: list[SearchHit] = []
        for found, nearest in zip(ids, neighbours, strict=True):
            related: list[RelatedInsight] = []
            taken = {found}
            for relation in explicit.get(found, [])[:MAX_EXPLICIT_RELATED]:
                if relation.other_id in taken or relation.other_id not in texts:
                    continue
                taken.add(relation.other_id)
                reason = "same-idea" if relation.kind == "same-idea" else "brief"
                related.append(RelatedInsight(relation.other_id, texts[relation.other_id], reason, relation.score))
            similar = 0
            for other, score in nearest:
                if similar >= self._tuning.related_count:
                    break
                if other in taken or other not in texts or score < self._tuning.min_score:
                    continue
                taken.add(other)
                similar += 1
                related.append(RelatedInsight(other, texts[other], "similar", score))
            hits.append(
                SearchHit(
                    id=found,
                    text=texts[found],
                    score=scores.get(found, 0.0),
                    sources=tuple(sources.get(found, [])),
                    related=tuple(related),
                    matched_terms=matched.get(found, ()),
                )
            )
        return hits

    def forget_counts(self) -> None:
        """Called after writes so the rare-term cut-off follows the store's size."""
        self._total_hint = 0


def _matched_names(text: str, rare: set[str], vocabulary: frozenset[str] | None) -> tuple[str, ...]:
    """The rare query words that this text contains as names: words the model does not know whole,
    words with digits, or Titlecase words inside a sentence. Rarity alone is not
    enough: in a small store every ordinary word ("cost") is rare."""
    names: list[str] = []
    for term in sorted(rare):
        occurrences = list(re.finditer(rf"\b{re.escape(term)}", text, re.IGNORECASE))
        if not occurrences:
            continue
        unknown_to_model = vocabulary is not None and term not in vocabulary
        if unknown_to_model or any(character.isdigit() for character in term) or any(_capitalised_mid_sentence(text, found.start()) for found in occurrences):
            names.append(term)
    return tuple(names)


def _capitalised_mid_sentence(text: str, start: int) -> bool:
    """A Titlecase word inside a sentence ("company Zyphra", "Dylan Patel"); acronyms such as "AI"
    are left out because they are common words written in capitals."""
    word = re.match(r"\w+", text[start:])
    if word is None or not word.group().istitle() or word.group().isupper():
        return False
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in ".!?:;\"'(\u201c"
