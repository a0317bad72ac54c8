"""The benchmark runs end to end at a tiny size and reports every figure (no timing is asserted:
speed targets are read from the numbers it prints, not enforced by tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli as command_line

pytestmark = pytest.mark.model


def test_bench_reports_every_figure(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command_line,
        [
            "bench",
            "--sizes",
            "300",
            "--lookups",
            "20",
            "--quality-distractors",
            "200",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    size = report["sizes"][0]
    assert size["size"] == 300
    for figure in (
        size["lookup_ms"]["p50"],
        size["lookup_ms"]["p95"],
        size["lookup_ms"]["p99"],
        size["repeat_lookup_ms_p50"],
        size["concurrent_100"]["seconds"],
        size["concurrent_100"]["lookups_per_second"],
        size["naive_lookup_ms_p50"],
        size["naive_to_ours_ratio"],
        size["start_up"]["ready_seconds"],
        size["start_up"]["rss_mb"],
    ):
        assert isinstance(figure, (int, float)) and figure > 0
    for figure in ("import_seconds", "model_seconds", "open_seconds", "first_answer_seconds"):
        assert isinstance(size["start_up"][figure], (int, float)), figure
    ingest = report["ingest"]
    assert ingest["insights"] == 300 and ingest["reingest_added"] == 0
    for figure in (
        ingest["first_seconds"],
        ingest["insights_per_second"],
        ingest["reingest_seconds"],
        ingest["reingest_speedup"],
    ):
        assert isinstance(figure, (int, float)) and figure > 0
    quality = report["quality"]
    assert quality["split"] == "test" and quality["distractors"] == 200
    for scores in (quality, *quality["with_distractors"].values(), *quality["without_distractors"].values()):
        assert all(
            isinstance(scores[name], (int, float)) for name in ("hit_at_1", "hit_at_3", "mrr", "ndcg_at_5", "empty_for_unrelated")
        )
    assert set(quality["with_distractors"]) == set(quality["without_distractors"]) == {"dev", "test"}
    assert quality["without_distractors"]["test"]["hit_at_3"] >= 0.95
    assert len(report["targets"]) == 9 and all("met" in verdict for verdict in report["targets"].values())

    # The figures agree with one another, so a wrong formula or a swapped field shows.
    lookup = size["lookup_ms"]
    assert lookup["p50"] <= lookup["p95"] <= lookup["p99"]
    assert size["repeat_lookup_ms_p50"] <= size["naive_lookup_ms_p50"]
    assert size["naive_to_ours_ratio"] == pytest.approx(size["naive_lookup_ms_p50"] / lookup["p50"], rel=0.02)
    concurrent = size["concurrent_100"]
    assert concurrent["lookups_per_second"] == pytest.approx(100 / concurrent["seconds"], rel=0.02)
    assert ingest["insights_per_second"] == pytest.approx(300 / ingest["first_seconds"], rel=0.02)
    assert ingest["reingest_speedup"] == pytest.approx(ingest["first_seconds"] / ingest["reingest_seconds"], rel=0.05)
    quality = report["quality"]
    assert 0 < quality["hit_at_1"] <= quality["mrr"] <= quality["hit_at_3"] <= 1.0
    targets = report["targets"]
    p50_target = next(verdict for name, verdict in targets.items() if name.startswith("lookup_p50_ms"))
    assert p50_target["measured"] == lookup["p50"] and p50_target["met"] == (lookup["p50"] <= 20.0)
    assert targets["reingest_speedup"]["measured"] == ingest["reingest_speedup"]
    assert targets["reingest_speedup"]["met"] == (ingest["reingest_speedup"] >= 20.0)
    assert targets["ready_seconds"]["met"] == (size["start_up"]["ready_seconds"] <= 10.0)
    jsonl = report["jsonl_reingest"]
    assert jsonl["lines"] == 300 and jsonl["first_added"] == 300 and jsonl["reingest_unchanged"] == 300
    assert jsonl["reingest_seconds"] > 0 and jsonl["reingest_speedup"] > 0
    assert (tmp_path / "cache").is_dir(), "embeddings are cached between runs"


def test_the_printed_table_keeps_every_figure_whole_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.bench import _table

    start_up = {"ready_seconds": 7.37, "rss_mb": 1103.2}
    entry = {
        "size": 100000,
        "lookup_ms": {"p50": 16.35, "p95": 24.81, "p99": 29.9},
        "repeat_lookup_ms_p50": 8.66,
        "concurrent_100": {"seconds": 1.281, "lookups_per_second": 78.1},
        "naive_lookup_ms_p50": 53.68,
        "naive_to_ours_ratio": 3.28,
        "start_up": start_up,
    }
    result = {
        "machine": {"cpus": 2, "memory_gb": 23.5},
        "sizes": [entry],
        "ingest": {
            "insights": 2000,
            "first_seconds": 8.66,
            "insights_per_second": 231.0,
            "reingest_seconds": 0.231,
            "reingest_speedup": 37.6,
        },
        "quality": {
            "hit_at_1": 0.75,
            "hit_at_3": 0.81,
            "mrr": 0.79,
            "distractors": 10000,
            "with_distractors": {
                "test": {"hit_at_1": 0.75, "hit_at_3": 0.81, "mrr": 0.79, "ndcg_at_5": 0.8, "empty_for_unrelated": 0.875}
            },
            "without_distractors": {
                "test": {"hit_at_1": 0.93, "hit_at_3": 0.99, "mrr": 0.96, "ndcg_at_5": 0.97, "empty_for_unrelated": 0.875}
            },
        },
        "targets": {"concurrent_100_seconds": {"target": 1.5, "measured": 1.281, "met": True}},
    }
    _table(result)
    printed = capsys.readouterr().out
    for figure in (
        "100,000",
        "16.35",
        "24.81",
        "29.9",
        "8.66",
        "1.281",
        "78.1",
        "53.68",
        "3.28",
        "7.37",
        "1103.2",
        "100 concurrent s",
        "with 10,000 distractors: hit@1 0.75",
    ):
        assert figure in printed, f"{figure} is cut in:\n{printed}"
    assert "…" not in printed
