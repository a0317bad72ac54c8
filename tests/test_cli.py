"""The command line as a user runs it: JSON shapes, exit codes and messages. The fake embedder
stands in for the model, through the same seam the real start-up uses."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.resources as cli_resources
from cli.main import cli as command_line
from tests.fakes import FakeEmbedder


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    embedder = FakeEmbedder()
    monkeypatch.setattr(cli_resources, "build_embedder", lambda _settings: embedder)
    monkeypatch.setenv("INSIGHT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(command_line, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_ingest_twice_reports_21_then_0_added(run, shared_briefs: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("ingest", str(shared_briefs), "--json")
    assert code == 0
    assert json.loads(out) == {"added": 21, "merged": 1, "unchanged": 0, "failed": [], "problems": []}
    code, out, _ = run("ingest", str(shared_briefs), "--json")
    assert json.loads(out)["added"] == 0 and json.loads(out)["unchanged"] == 22


def test_ingest_exits_1_and_names_the_failed_file(run, tmp_path: Path, shared_briefs: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    code, out, _ = run("ingest", str(shared_briefs), str(broken), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["added"] == 21
    assert [failure["path"] for failure in report["failed"]] == [str(broken)]
    assert report["failed"][0]["error"]


def test_search_json_shape_and_empty_results(run, shared_briefs: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(shared_briefs))
    code, out, _ = run("search", "Zyphra hidden dimension GPUs", "-k", "2", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["query"] == "Zyphra hidden dimension GPUs"
    first = payload["results"][0]
    assert set(first) >= {"id", "text", "score", "sources", "related"}
    assert "Zyphra" in first["text"]
    assert all(set(related) == {"id", "text", "reason", "score"} for related in first["related"])
    assert {related["reason"] for related in first["related"]} <= {"brief", "same-idea", "similar"}

    code, out, _ = run("search", "sourdough hydration for rye loaves", "--json")
    assert code == 0 and json.loads(out)["results"] == []
    code, out, _ = run("search", "sourdough hydration for rye loaves")
    assert "No good match" in out


def test_search_queries_file_answers_one_line_each(run, shared_briefs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(shared_briefs))
    queries = tmp_path / "queries.txt"
    queries.write_text("custom chips\n\nZyphra\n   \n", encoding="utf-8")
    code, out, _ = run("search", "--queries-file", str(queries))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [line["query"] for line in lines] == ["custom chips", "Zyphra"]


def test_search_needs_a_query_or_a_file(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("search")
    assert code == 2
    assert "--queries-file" in err


def test_empty_query_is_a_clear_error_not_a_traceback(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("search", "   ")
    assert code == 1
    assert err.startswith("error: the query is empty")


def test_related_stats_and_reindex(run, shared_briefs: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(shared_briefs))
    hit = json.loads(run("search", "Zyphra", "--json")[1])["results"][0]
    code, out, _ = run("related", hit["id"], "--json")
    assert code == 0 and json.loads(out)["id"] == hit["id"]
    code, _, err = run("related", "ffffffffffffffff")
    assert code == 1 and "no insight has the id" in err
    stats = json.loads(run("stats", "--json")[1])
    assert (stats["insights"], stats["indexed"], stats["briefs"]) == (21, 21, 2)
    assert json.loads(run("reindex", "--json")[1]) == {"indexed": 21}


def test_saved_add_list_remove_export(run, shared_briefs: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(shared_briefs))
    hit = json.loads(run("search", "Zyphra", "--json")[1])["results"][0]
    assert json.loads(run("saved", "add", "--user", "42", hit["id"], "--json")[1]) == {"saved": True, "already_saved": False}
    assert json.loads(run("saved", "add", "--user", "42", hit["id"], "--json")[1])["already_saved"] is True
    listing = json.loads(run("saved", "list", "--user", "42", "--json")[1])
    assert listing["total"] == 1 and listing["items"][0]["id"] == hit["id"]
    assert json.loads(run("saved", "list", "--user", "43", "--json")[1])["total"] == 0
    exported = run("saved", "export", "--user", "42", "--format", "csv")[1]
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["insight_id"] for row in rows] == [hit["id"]]
    assert json.loads(run("saved", "remove", "--user", "42", hit["id"], "--json")[1]) == {"removed": True}
    assert json.loads(run("saved", "list", "--user", "42", "--json")[1])["total"] == 0


def test_bad_configuration_names_the_variable(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INSIGHT_RESULT_COUNT", "50")
    code, _, err = run("stats")
    assert code == 2
    assert "INSIGHT_RESULT_COUNT" in err


def test_demo_loads_the_samples_and_answers(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("demo", "--json")
    payload = json.loads(out)
    assert code == 0
    assert payload["ingest"]["added"] == 27
    assert payload["search"]["query"] == "how do companies cut the cost of inference?"
    results = payload["search"]["results"]
    assert results, "the sample search must answer with results"
    assert all(result["text"] and result["sources"] for result in results)
    assert any("inference" in result["text"].lower() for result in results[:3])
    code, out, _ = run("demo")
    assert code == 0 and results[0]["text"][:40] in " ".join(out.split())


def test_digest_preview_json(run, shared_briefs: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("digest", "preview", "--json")
    assert code == 0 and json.loads(out) == {"insights": []}
    run("ingest", str(shared_briefs))
    code, out, _ = run("digest", "preview", "--guild", "123", "--json")
    picks = json.loads(out)["insights"]
    assert code == 0 and len(picks) == 5
    assert all(set(pick) >= {"id", "text", "score", "why"} for pick in picks)


def test_saved_list_pages_and_searches_one_person_s_list(run, shared_briefs: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(shared_briefs))
    zyphra = json.loads(run("search", "Zyphra", "--json")[1])["results"][0]
    others = [insight for insight in _brief_ids(shared_briefs) if insight != zyphra["id"]]
    saved_ids = [*others[:6], zyphra["id"]]
    for insight in saved_ids:
        assert run("saved", "add", "--user", "42", insight, "--json")[0] == 0
    run("saved", "add", "--user", "43", others[0])

    pages = [
        json.loads(run("saved", "list", "--user", "42", "--per-page", "3", "--page", str(n), "--json")[1]) for n in (1, 2, 3)
    ]
    assert [(page["page"], page["pages"], page["total"], len(page["items"])) for page in pages] == [
        (1, 3, 7, 3),
        (2, 3, 7, 3),
        (3, 3, 7, 1),
    ]
    listed = [item["id"] for page in pages for item in page["items"]]
    assert listed == list(reversed(saved_ids)), "newest first, each once across the pages"

    found = json.loads(run("saved", "list", "--user", "42", "--search", "Zyphra", "--json")[1])
    assert [item["id"] for item in found["items"]] == [zyphra["id"]] and found["total"] == 1
    assert json.loads(run("saved", "list", "--user", "43", "--search", "Zyphra", "--json")[1])["items"] == [], (
        "the search looks only inside the asker's own list"
    )
    code, out, _ = run("saved", "list", "--user", "42", "--per-page", "3", "--page", "2")
    assert code == 0 and "page 2 of 3 (7 saved)" in out
    code, _, err = run("saved", "list", "--user", "42", "--per-page", "0")
    assert code == 2 and "--per-page" in err


def test_saved_export_writes_the_file_named_with_o(run, shared_briefs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(shared_briefs))
    hits = [{"id": insight} for insight in _brief_ids(shared_briefs)[:3]]
    for hit in hits:
        run("saved", "add", "--user", "42", hit["id"])
    target = tmp_path / "exports" / "mine.json"
    target.parent.mkdir()
    code, out, err = run("saved", "export", "--user", "42", "--format", "json", "-o", str(target))
    assert code == 0 and out == "" and str(target) in err
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["count"] == 3 and {item["id"] for item in exported["items"]} == {hit["id"] for hit in hits}
    markdown = tmp_path / "mine.md"
    assert run("saved", "export", "--user", "42", "--format", "markdown", "--output", str(markdown))[0] == 0
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Saved insights") and all(f"id `{hit['id']}`" in text for hit in hits)


def _brief_ids(briefs: Path) -> list[str]:
    """The ids of the first sample brief's insights, main first."""
    from store.parsing import parse_file
    from store.text import insight_id

    brief = parse_file(sorted(briefs.glob("*.txt"))[0]).briefs[0]
    return [insight_id(text) for text in (brief.main, *brief.related)]
