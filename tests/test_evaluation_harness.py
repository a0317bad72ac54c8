"""The evaluation harness itself, fast (fake embedder): the query set and its split, the corpus,
the distractor generator and its guards, the vector cache, the scores and the `eval` command."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli.resources as cli_resources
from cli.main import cli as command_line
from store.bench.generator import DISTRACTOR_STYLES, SHARED_RUN_LIMIT, distractor_briefs
from store.bench.vector_cache import CachedEmbedder
from store.evaluation.cases import KINDS, SPLITS, EvaluationCase, assign_splits, load_cases
from store.evaluation.corpus import corpus_paths, corpus_texts, matching_texts, resolve
from store.evaluation.harness import SAME_AS_EXPECTED, guarded_distractors
from store.evaluation.metrics import CaseOutcome, EvaluationReport
from store.text import insight_id, normalise_for_id
from tests.conftest import SAMPLE_BRIEFS, SHARED_BRIEFS
from tests.fakes import FakeEmbedder

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def _runs(text: str, length: int) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[start : start + length]) for start in range(len(words) - length + 1)}


# -- the query set ---------------------------------------------------------------------------


def test_the_set_has_every_kind_and_at_least_100_distinct_queries() -> None:
    cases = load_cases()
    assert len(cases) >= 100
    assert len({case.query for case in cases}) == len(cases)
    counts = Counter(case.kind for case in cases)
    assert set(counts) == set(KINDS)
    assert min(counts.values()) >= 10, counts
    assert all((case.kind == "unrelated") == case.is_unrelated for case in cases)


def test_every_expected_key_names_exactly_one_insight_of_the_corpus() -> None:
    for case in load_cases():
        for key in (case.expected, *case.also) if case.expected else ():
            assert len(matching_texts(key)) == 1, (case.query, key)
        assert len(case.relevant_ids()) == (0 if case.is_unrelated else 1 + len(case.also))


def test_a_key_that_names_two_insights_or_none_is_refused() -> None:
    with pytest.raises(LookupError):
        resolve("The")
    with pytest.raises(LookupError):
        resolve("sourdough starters need feeding")


def test_queries_are_written_in_their_own_words_not_copied() -> None:
    """No query repeats five words in a row of the insight it is after."""
    for case in load_cases():
        if case.expected:
            shared = _runs(case.query, 5) & _runs(resolve(case.expected), 5)
            assert not shared, (case.query, shared)


def test_the_split_is_the_deterministic_stratified_one() -> None:
    cases = load_cases()
    assert {case.query: case.split for case in cases} == assign_splits(cases)
    for kind in KINDS:
        splits = Counter(case.split for case in cases if case.kind == kind)
        assert abs(splits["dev"] - splits["test"]) <= 1, (kind, splits)
    assert {case.query for case in load_cases("dev")} | {case.query for case in load_cases("test")} == {
        case.query for case in cases
    }
    assert not {case.query for case in load_cases("dev")} & {case.query for case in load_cases("test")}


def test_the_split_does_not_depend_on_the_order_of_the_file() -> None:
    cases = load_cases()
    assert assign_splits(reversed(cases)) == assign_splits(cases)
    with pytest.raises(ValueError):
        load_cases("train")


# -- the corpus ------------------------------------------------------------------------------


def test_the_corpus_is_the_project_samples_and_the_two_shared_briefs() -> None:
    paths = corpus_paths()
    assert {path.name for path in paths} == {
        path.name for folder in (SAMPLE_BRIEFS, SHARED_BRIEFS) for path in folder.glob("*.txt")
    }
    assert len(paths) == 6
    # 28 + 22 insights in the files; one sample and one shared insight appear in two briefs each.
    assert len(corpus_texts()) == 48


# -- the distractor generator ----------------------------------------------------------------


def test_distractors_are_seeded() -> None:
    first = distractor_briefs(400, seed=5)
    assert first == distractor_briefs(400, seed=5)
    assert [brief.main.text for brief in first] != [brief.main.text for brief in distractor_briefs(400, seed=6)]


def test_distractors_come_in_the_asked_number_distinct_and_in_every_style() -> None:
    briefs = distractor_briefs(2000, forbidden=corpus_texts())
    insights = [insight for brief in briefs for insight in brief.insights]
    assert len(insights) == 2000
    assert len({insight_id(insight.text) for insight in insights}) == 2000
    styles = Counter(insight.style for insight in insights)
    assert set(styles) == set(DISTRACTOR_STYLES) and min(styles.values()) > 100, styles
    assert all(1 <= len(brief.insights) <= 10 for brief in briefs)
    sentences = Counter(insight.text.count(". ") + 1 for insight in insights)
    assert sentences[1] > 100 and sum(count for length, count in sentences.items() if length >= 3) > 500, sentences
    with_numbers = sum(bool(re.search(r"\d", insight.text)) for insight in insights)
    assert with_numbers > 1000


def test_distractors_share_names_with_the_corpus_but_never_restate_it() -> None:
    briefs = distractor_briefs(3000, forbidden=corpus_texts())
    texts = [insight.text for brief in briefs for insight in brief.insights]
    assert any("Zyphra" in text for text in texts) and any("Z.AI" in text for text in texts)
    corpus_ids = {insight_id(text) for text in corpus_texts()}
    assert not corpus_ids & {insight_id(text) for text in texts}
    corpus_runs = set().union(*(_runs(text, SHARED_RUN_LIMIT) for text in corpus_texts()))
    assert not [text for text in texts if _runs(text, SHARED_RUN_LIMIT) & corpus_runs]


def test_a_forbidden_text_is_never_produced() -> None:
    """A planted forbidden text equal to a generated one: the generator writes something else."""
    planted = distractor_briefs(50, seed=9)[0].main.text
    again = distractor_briefs(50, seed=9, forbidden=[planted])
    assert planted not in {insight.text for brief in again for insight in brief.insights}


class _CloseToTheCorpus(FakeEmbedder):
    """Puts every text naming Nvidia on top of the first corpus insight."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = super().encode(texts)
        target = super().encode([corpus_texts()[0]])[0]
        for row, text in enumerate(texts):
            if "Nvidia" in text:
                vectors[row] = target
        return vectors


def test_distractors_too_close_to_an_expected_insight_are_replaced() -> None:
    briefs, dropped = guarded_distractors(_CloseToTheCorpus(), 600, seed=4)
    texts = [insight.text for brief in briefs for insight in brief.insights]
    assert len(texts) == 600 and dropped > 0
    assert not [text for text in texts if "Nvidia" in text]
    unguarded = [insight.text for brief in distractor_briefs(600, seed=4, forbidden=corpus_texts()) for insight in brief.insights]
    assert sum("Nvidia" in text for text in unguarded) > 0
    assert SAME_AS_EXPECTED < 1.0


# -- the vector cache ------------------------------------------------------------------------


def test_cached_vectors_are_read_back_instead_of_encoded(tmp_path: Path) -> None:
    texts = [f"insight number {number} about inference cost" for number in range(40)]
    first = CachedEmbedder(FakeEmbedder(), tmp_path)
    vectors = first.encode(texts)
    assert first.encoded_texts == 40
    again = FakeEmbedder()
    second = CachedEmbedder(again, tmp_path)
    assert np.allclose(second.encode(texts), vectors)
    assert again.encoded == []
    second.encode(["a single query"])
    assert CachedEmbedder(FakeEmbedder(), tmp_path).encode(["a single query"]) is not None
    assert len(list(tmp_path.rglob("*.npz"))) == 1, "small encodes stay in memory"


def test_the_cache_is_keyed_by_model(tmp_path: Path) -> None:
    texts = [f"text {number}" for number in range(40)]
    CachedEmbedder(FakeEmbedder(name="model-a"), tmp_path).encode(texts)
    other = FakeEmbedder(name="model-b")
    CachedEmbedder(other, tmp_path).encode(texts)
    assert len(other.encoded) == 40


# -- the scores ------------------------------------------------------------------------------


def _case(kind: str, expected: str | None, *also: str) -> EvaluationCase:
    return EvaluationCase(f"query {kind} {expected}", expected, kind, "dev", tuple(also))


def test_scores_count_ranks_and_empty_answers() -> None:
    expected = "Hire for slope"
    wanted = insight_id(resolve(expected))
    outcomes = [
        CaseOutcome(_case("name", expected), (wanted, "b"), frozenset({wanted})),
        CaseOutcome(_case("sentence", expected), ("a", "b", wanted), frozenset({wanted})),
        CaseOutcome(_case("sentence", expected), ("a",) * 10, frozenset({wanted})),
        CaseOutcome(_case("unrelated", None), (), frozenset()),
        CaseOutcome(_case("unrelated", None), ("a",), frozenset()),
    ]
    report = EvaluationReport.from_outcomes(outcomes).as_dict()
    assert report["cases"] == 5
    assert report["hit_at_1"] == round(1 / 3, 4) and report["hit_at_3"] == round(2 / 3, 4)
    assert report["mrr"] == round((1 + 1 / 3) / 3, 4)
    assert report["ndcg_at_5"] == round((1 + 0.5) / 3, 4)
    assert report["empty_for_unrelated"] == 0.5
    assert report["by_kind"]["sentence"] == {
        "cases": 2,
        "hit_at_1": 0.0,
        "hit_at_3": 0.5,
        "mrr": round(1 / 6, 4),
        "ndcg_at_5": 0.25,
    }
    assert report["by_kind"]["unrelated"] == {"cases": 2, "empty_for_unrelated": 0.5}
    assert len(report["misses"]) == 3


def test_either_of_two_equally_right_insights_is_a_hit() -> None:
    case = _case("sentence", "Caffeine after 2pm", "An afternoon coffee cuts")
    relevant = case.relevant_ids()
    second = insight_id(resolve("An afternoon coffee cuts"))
    outcome = CaseOutcome(case, ("x", second), relevant)
    assert outcome.rank == 2
    both = CaseOutcome(case, tuple(relevant), relevant)
    assert both.rank == 1 and both.ndcg_at_5 == pytest.approx(1.0)
    assert normalise_for_id(resolve("an AFTERNOON coffee cuts")).startswith("an afternoon")


# -- the command -----------------------------------------------------------------------------


def test_eval_command_prints_the_documented_scores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli_resources, "build_embedder", lambda _settings: FakeEmbedder())
    monkeypatch.setenv("INSIGHT_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        command_line,
        ["eval", "--distractors", "120", "--split", "test", "--cache-dir", str(tmp_path / "cache"), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("cases", "hit_at_1", "hit_at_3", "mrr", "ndcg_at_5", "empty_for_unrelated", "by_kind", "misses"):
        assert key in report, key
    assert report["cases"] == len(load_cases("test"))
    assert set(report["by_kind"]) == set(KINDS)
    assert report["store_insights"] == 48 + 120 and report["distractors"] == 120
    assert all(0.0 <= report[name] <= 1.0 for name in ("hit_at_1", "hit_at_3", "mrr", "ndcg_at_5", "empty_for_unrelated"))
    assert not (tmp_path / "data").exists(), "the evaluation store is temporary"
    human = CliRunner().invoke(
        command_line, ["eval", "--split", "dev", "--ranking", "dense", "--cache-dir", str(tmp_path / "cache")]
    )
    assert human.exit_code == 0, human.output
    assert "hit@1" in human.stdout and "ranking dense" in human.stdout
    assert set(SPLITS) == {"dev", "test"}
