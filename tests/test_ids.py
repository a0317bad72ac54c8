"""An insight's id ignores what does not change the insight, as the README promises: case, spacing,
typographic quotes and dashes, invisible characters; and nothing else."""

from __future__ import annotations

import pytest

from store.service import InsightStore
from store.text import clean_text, insight_id, looks_like_insight_id

PLAIN = 'It\'s the "memory wall" - not compute - that limits inference.'
VARIANTS = [
    "It\u2019s the \u201cmemory wall\u201d \u2013 not compute \u2014 that limits inference.",  # typographic quotes, dashes
    'It\'s the "memory\u200b wall" - not com\u00adpute - that limits in\u2060ference.',  # zero-width space, soft hyphen, word joiner
    '\ufeffIt\'s the "memory wall" - not compute - that limits inference.\u200f',  # byte-order mark, direction mark
    'IT\'S THE "MEMORY WALL" - NOT COMPUTE - THAT LIMITS INFERENCE.',
    '  It\'s   the\t"memory wall"\n- not\u00a0compute - that limits inference.  ',
    "It\u2018s the \u201cmemory wall\u201d - not compute - that limits inference.",  # the opening single quote too
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_id_ignores_quotes_dashes_invisible_characters_case_and_spacing(variant: str) -> None:
    assert insight_id(variant) == insight_id(PLAIN)
    assert looks_like_insight_id(insight_id(variant))


@pytest.mark.parametrize(
    "different",
    [
        'Its the "memory wall" - not compute - that limits inference.',  # a missing apostrophe is a different text
        'It\'s the "memory wall" - not compute - that limits training.',
        "It's the memory wall - not compute - that limits inference.",
        'It\'s the "memory wall" not compute that limits inference.',
    ],
)
def test_the_id_still_tells_different_texts_apart(different: str) -> None:
    assert insight_id(different) != insight_id(PLAIN)


def test_stored_text_drops_invisible_characters_but_keeps_typography() -> None:
    assert clean_text(VARIANTS[1]) == PLAIN
    assert clean_text(VARIANTS[0]) == VARIANTS[0], "the text shown keeps its own quotes"


async def test_the_variants_ingested_are_one_insight(store: InsightStore) -> None:
    first = await store.add_insight(PLAIN)
    assert first.added == 1
    for variant in VARIANTS:
        again = await store.add_insight(variant)
        assert (again.added, again.merged) == (0, 0), variant
    stats = await store.stats()
    assert (stats["insights"], stats["indexed"]) == (1, 1)
    assert (await store.related(insight_id(VARIANTS[0]))).text == PLAIN
