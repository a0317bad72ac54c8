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
from store.model import RelatedInsight, RelationReason, SearchHit, SearchResult
from store.repository import InsightRepository
from store.text import clean_text, looks_like_insight_id
from store.vector_index import VectorIndex

MAX_QUERY_CHARS = 1000
RRF_K = 60
RARE_WEIGHT = 3.0
COMMON_WEIGHT = 0.3
MAX_EXPLICIT_RELATED = 25
# The lexical ranking reads at most this many postings: BM25 costs time in proportion to the matches it
# scores (13 ms for three words that each occur in 3% of 100,000 insights; 1 ms for 1,000 matches). Query words are taken
# rarest first, and a word that would go over the budget is left to the dense ranking, which already
# understands such common words; names and rare words, the reason the lexical ranking exists, stay in.
LEXICAL_POSTINGS = 1000
# Concurrent nearest-neighbour lookups are sent to Chroma together, at most this many vectors a call.
DENSE_BATCH = 64
_WORD = re.compile(r"[^\W_][\w'.-]*[^\W_]|[^\W_]", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "insight",
        "insights",
    ]
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
        self._nearest = _NearestBatcher(index)

    async def search(self, query: str, limit: int) -> SearchResult:
        cleaned = clean_text(query)
        if not cleaned:
            raise InvalidInput("the query is empty: type a few words about the idea you want to recall")
        if len(cleaned) > MAX_QUERY_CHARS:
            raise InvalidInput(f"the query is {len(cleaned)} characters long: keep it under {MAX_QUERY_CHARS}")
        if not 1 <= limit <= 50:
            raise InvalidInput("the result count must be between 1 and 50")

        terms = query_terms(cleaned)
        total = self._total_hint or await self._repository.count()
        self._total_hint = total

        async def dense_ranking() -> tuple[np.ndarray, list[tuple[str, float]]]:
            vector = await self._encoder.encode(cleaned)
            return vector, (await self._nearest.query(vector[None, :], max(self._tuning.candidates, limit * 4)))[0]

        # The lexical queries need no vector, so they run while the query is encoded.
        (vector, dense), (lexical_ids, rare) = await asyncio.gather(dense_ranking(), self._lexical(terms, rare_cap(total)))

        similarity = dict(dense)
        missing = [found for found in lexical_ids if found not in similarity]
        texts, stored = await asyncio.gather(
            self._repository.texts(set(similarity) | set(lexical_ids)),
            asyncio.to_thread(self._index.vectors_for, missing) if missing else _no_vectors(),
        )
        for found, stored_vector in stored.items():
            similarity[found] = float(np.dot(stored_vector, vector))

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

    async def _lexical(self, terms: list[str], cap: int) -> tuple[list[str], set[str]]:
        """Lexical candidates and the rare terms among the query's words. With SQLite one query counts
        every term's insights, which gives the rare terms and the words within the postings budget."""
        if not terms:
            return [], set()
        counts = await self._repository.term_counts(terms, max(LEXICAL_POSTINGS, cap) + 1)
        if counts is None:
            lexical_ids, rare = await asyncio.gather(
                self._repository.lexical_search(terms, self._tuning.candidates), self._repository.rare_terms(terms, cap)
            )
            return lexical_ids, rare
        rare = {term for term in terms if 1 <= counts[term] <= cap}
        wanted: list[str] = []
        postings = 0
        for term in sorted((term for term in terms if counts[term] > 0), key=lambda term: counts[term]):
            if postings + counts[term] > LEXICAL_POSTINGS:
                break
            postings += counts[term]
            wanted.append(term)
        # The query's own word order is kept, so the FTS expression is the same whatever the counts.
        wanted_terms = [term for term in terms if term in wanted]
        lexical_ids = await self._repository.lexical_search(wanted_terms, self._tuning.candidates) if wanted_terms else []
        return lexical_ids, rare

    async def related(self, insight_id: str) -> SearchHit:
        """One insight with everything related to it, for `related ID` and the bot's detail view."""
        wanted = insight_id.strip().lower()
        if not looks_like_insight_id(wanted):
            raise InvalidInput(
                f"{insight_id!r} is not an insight id: ids are 16 characters of 0-9 and a-f, as shown in search results"
            )
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

        async def nearest_of_each() -> tuple[list[str], list[list[tuple[str, float]]]]:
            # Asked for the widest answer any hit can need, so this runs beside the SQL reads; each
            # hit's answer is cut below to what its explicit relations leave room for.
            stored = await asyncio.to_thread(self._index.vectors_for, list(ids))
            present = [found for found in ids if found in stored]
            if not present:
                return [], []
            widest_possible = self._tuning.related_count + MAX_EXPLICIT_RELATED + 1
            return present, await self._nearest.query(np.stack([stored[found] for found in present]), widest_possible)

        (sources, explicit), (present, answers) = await asyncio.gather(
            self._repository.sources_and_relations(ids), nearest_of_each() if self._tuning.related_count else _nothing()
        )
        neighbours: list[list[tuple[str, float]]] = [[] for _ in ids]
        if present:
            widest = max(len(explicit.get(found, [])) for found in present)
            cut = self._tuning.related_count + min(widest, MAX_EXPLICIT_RELATED) + 1
            by_id = {found: answer[:cut] for found, answer in zip(present, answers, strict=True)}
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
                reason: RelationReason = "same-idea" if relation.kind == "same-idea" else "brief"
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


async def _nothing() -> tuple[list[str], list[list[tuple[str, float]]]]:
    return [], []


async def _no_vectors() -> dict[str, np.ndarray]:
    return {}


class _NearestBatcher:
    """Nearest-neighbour lookups that arrive while one is running are sent to Chroma as one call
    (as the query encoder batches encodes): one call for many vectors costs far less than one each.
    Each request gets the first ``limit`` of an answer asked for the largest limit in its batch."""

    def __init__(self, index: VectorIndex, max_vectors: int = DENSE_BATCH) -> None:
        self._index = index
        self._max_vectors = max_vectors
        self._pending: list[tuple[np.ndarray, int, asyncio.Future[list[list[tuple[str, float]]]]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def query(self, vectors: np.ndarray, limit: int) -> list[list[tuple[str, float]]]:
        if len(vectors) == 0:
            return []
        future: asyncio.Future[list[list[tuple[str, float]]]] = asyncio.get_running_loop().create_future()
        self._pending.append((vectors, limit, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            taken = [self._pending.pop(0)]
            rows = len(taken[0][0])
            while self._pending and rows + len(self._pending[0][0]) <= self._max_vectors:
                rows += len(self._pending[0][0])
                taken.append(self._pending.pop(0))
            stacked = taken[0][0] if len(taken) == 1 else np.concatenate([vectors for vectors, _, _ in taken])
            try:
                answers = await asyncio.to_thread(self._index.query, stacked, max(limit for _, limit, _ in taken))
            except Exception as error:
                for _, _, future in taken:
                    if not future.done():
                        future.set_exception(error)
                continue
            offset = 0
            for vectors, limit, future in taken:
                part = [answer[:limit] for answer in answers[offset : offset + len(vectors)]]
                offset += len(vectors)
                if not future.done():
                    future.set_result(part)


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
        if (
            unknown_to_model
            or any(character.isdigit() for character in term)
            or any(_capitalised_mid_sentence(text, found.start()) for found in occurrences)
        ):
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
