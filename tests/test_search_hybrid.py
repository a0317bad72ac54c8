"""Each ranking tested for what it adds, with an embedder whose geometry is not word overlap (the
bag-of-words fake makes the dense ranking match words too, so it cannot tell the two apart):

- the dense ranking finds an insight by meaning with no word in common;
- the lexical ranking finds a name the embedding places elsewhere, and breaks a near tie between
  two insights that mean the same toward the one that has the query's words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from config.settings import Settings
from store.service import InsightStore
from store.text import insight_id
from tests.conftest import STORE_MODES, open_test_store
from tests.fakes import FixedEmbedder

# Axes: chips, sleep, money, teams, energy, elsewhere, kernels, nowhere.
NAMED = "The startup Zyphra picks its target hardware before it sets model parameters."
SILICON = "Custom silicon decides how fast models run."
COFFEE = "Coffee late in the day ruins deep sleep."
SCREENS = "Bright screens at night delay melatonin."
FUNDS = "Index funds beat most active managers."
TEAMS = "Small teams ship faster than large ones."
BATTERIES = "Grid batteries smooth solar peaks."
HYDRO = "Pumped hydro stores energy cheaply."

KERNELS = "Teams tuned their kernels by hand."
NAME_QUERY = "Zyphra"
MEANING_QUERY = "which drink keeps you awake"
WORDS_QUERY = "grid batteries"
LOWERCASE_QUERY = "kernels"
LOST_QUERY = "coffee"

_AXES: dict[str, list[float]] = {
    NAMED: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    SILICON: [0.95, 0.0, 0.0, 0.0, 0.0, 0.3],
    COFFEE: [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    SCREENS: [0.0, 0.6, 0.0, 0.0, 0.0, 0.8],
    FUNDS: [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    TEAMS: [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    BATTERIES: [0.0, 0.0, 0.0, 0.0, 0.70, 0.714],
    HYDRO: [0.0, 0.0, 0.0, 0.0, 0.75, -0.661],
    # The embedding does not know the name: it places it next to the teams insight, far from its own.
    NAME_QUERY: [0.1, 0.0, 0.0, 0.99, 0.0, 0.0],
    MEANING_QUERY: [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    WORDS_QUERY: [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    KERNELS: [0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 0.8],
    LOST_QUERY: [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    # A direction no insight has.
    LOWERCASE_QUERY: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
}
VECTORS = {text: [*vector, *[0.0] * (8 - len(vector))] for text, vector in _AXES.items()}


@pytest.fixture(params=STORE_MODES)
async def hybrid(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[InsightStore]:
    embedder = FixedEmbedder(VECTORS)
    async with await open_test_store(request.param, request, settings, embedder) as opened:  # type: ignore[arg-type]
        for text in (NAMED, SILICON, COFFEE, SCREENS, FUNDS, TEAMS, BATTERIES, HYDRO, KERNELS):
            await opened.add_insight(text)
        yield opened


async def test_the_dense_ranking_finds_an_insight_by_meaning_with_no_word_in_common(hybrid: InsightStore) -> None:
    result = await hybrid.search(MEANING_QUERY, 3)
    # Both sleep insights pass the cut-off; the closer one first, though its id sorts after the other's.
    assert insight_id(SCREENS) < insight_id(COFFEE)
    assert [hit.text for hit in result.hits] == [COFFEE, SCREENS]
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert not any(hit.matched_terms for hit in result.hits)


async def test_the_lexical_ranking_finds_a_name_the_embedding_places_elsewhere(hybrid: InsightStore) -> None:
    result = await hybrid.search(NAME_QUERY, 3)
    assert result.hits[0].text == NAMED, "the name's own insight first, ahead of the dense ranking's nearest"
    assert result.hits[0].matched_terms
    assert result.hits[0].score == pytest.approx(0.1, abs=0.01), "kept although under the cut-off, because the name matched"
    assert TEAMS in [hit.text for hit in result.hits], "the dense ranking's nearest still follows"


async def test_the_lexical_ranking_breaks_a_near_tie_toward_the_query_s_words(hybrid: InsightStore) -> None:
    result = await hybrid.search(WORDS_QUERY, 2)
    by_text = {hit.text: hit.score for hit in result.hits}
    assert by_text[HYDRO] > by_text[BATTERIES], "the dense ranking alone would put the hydro insight first"
    assert [hit.text for hit in result.hits] == [BATTERIES, HYDRO]


async def test_a_rare_lowercase_word_is_not_a_name_so_a_weak_match_stays_out(hybrid: InsightStore) -> None:
    """ "kernels" is in one insight only, but written in lower case it is an ordinary word: the
    lexical ranking finds it, and with nothing close in meaning the cut-off keeps it out."""
    result = await hybrid.search(LOWERCASE_QUERY, 3)
    assert result.hits == ()


async def test_a_lexical_hit_whose_vector_chroma_lost_is_left_out_without_an_error(hybrid: InsightStore) -> None:
    hybrid.index.delete([insight_id(COFFEE)])
    result = await hybrid.search(LOST_QUERY, 3)
    assert [hit.text for hit in result.hits] == [SCREENS]
