"""bench-results/bench.json: each bench command adds its keys and keeps the others'."""

from __future__ import annotations

import json

from bench.results import judged, merge_results, read_results


def test_merge_keeps_other_keys_and_replaces_its_own(tmp_path):
    path = tmp_path / "results" / "bench.json"
    merge_results({"page_cold": {"p95_ms": 90}, "year3": {"cold": 1}}, path)
    merge_results({"page_cold": {"p95_ms": 70}, "cache_hit_rate": {"rate": 0.97}}, path)
    assert json.loads(path.read_text()) == {
        "page_cold": {"p95_ms": 70},
        "year3": {"cold": 1},
        "cache_hit_rate": {"rate": 0.97},
    }
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_an_unreadable_file_is_set_aside(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text("{not json")
    merge_results({"a": 1}, path)
    assert read_results(path) == {"a": 1}
    assert (tmp_path / "bench.json.invalid").read_text() == "{not json"


def test_judged_checks_every_limit():
    assert judged({"p95_ms": 80, "queries_p95": 30}, at_most={"p95_ms": 80, "queries_p95": 30}) == {
        "p95_ms": 80,
        "queries_p95": 30,
        "budget": {"at_most": {"p95_ms": 80, "queries_p95": 30}},
        "ok": True,
    }
    assert not judged({"p95_ms": 80.5}, at_most={"p95_ms": 80})["ok"]
    assert not judged({"rate": 0.94}, at_least={"rate": 0.95})["ok"]
    assert judged({"rate": 0.95}, at_least={"rate": 0.95})["ok"]
    assert not judged({}, at_most={"p95_ms": 80})["ok"]  # a missing figure fails
