"""`manage.py bench_insights`: the executive dashboard's findings at year3 and year10.

Reuses the benchmark organisations of `manage.py bench` (seeding them once, as it does), then
times `get_insights` for the common presets and comparisons:

* **cold**: every cache cold (the organisation's epoch bumped before each sample), the findings
  computed from nothing; each sample also records its SQL time, its statements and the time
  the garbage collector paused it, so a slow mode can be told apart (gc, a plan flip: one
  statement much slower, or a lock wait: SQL time without more statements);
* **after_write**: a write to today (the open tail) before each sample: the closed part of the
  findings stays stored, the tail part is recomputed;
* **stored**: the page's read of stored findings (budget 10 ms), with its statements.

No model is called: the narrative is the computed one, so the figures are the findings' own
cost. Results in bench-results/bench_insights.json and, under `insights_read`, bench.json.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Organization
from bench.results import merge_results
from bench.stats import summary
from insights.queries import get_insights
from metrics import cache as metric_cache
from metrics.periods import parse_state
from metrics.refresh import refresh_summaries
from metrics.warming import COMMON_COMPARES, COMMON_PRESETS
from operations.seeding import benchmark_names

BUDGETS_MS = {
    ("year3", "cold"): 300,
    ("year10", "cold"): 500,
    ("year3", "stored"): 10,
    ("year10", "stored"): 10,
}


class Probe:
    """Per sample: SQL statements and their time, the slowest one, and gc pauses."""

    def __init__(self):
        self.sql_ms = self.slowest_ms = self.gc_ms = 0.0
        self.statements = self.collections = 0
        self._gc_started = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = (time.perf_counter() - started) * 1000
            self.sql_ms += took
            self.slowest_ms = max(self.slowest_ms, took)
            self.statements += 1

    def on_gc(self, phase, info):
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_ms += (time.perf_counter() - self._gc_started) * 1000
            self.collections += 1


def _timed(fn) -> tuple[float, Probe]:
    probe = Probe()
    gc.callbacks.append(probe.on_gc)
    try:
        with connection.execute_wrapper(probe):
            started = time.perf_counter()
            fn()
            return (time.perf_counter() - started) * 1000, probe
    finally:
        gc.callbacks.remove(probe.on_gc)


def _modes(samples: list[tuple[float, Probe]]) -> dict:
    """The cold samples split at their median: what the slow half spends its extra time on."""
    cut = statistics.median(ms for ms, _ in samples)
    out = {}
    for name, part in (
        ("fast", [s for s in samples if s[0] <= cut]),
        ("slow", [s for s in samples if s[0] > cut]),
    ):
        if not part:
            continue
        out[name] = {
            "n": len(part),
            "ms": round(statistics.mean(ms for ms, _ in part), 1),
            "sql_ms": round(statistics.mean(p.sql_ms for _, p in part), 1),
            "slowest_statement_ms": round(statistics.mean(p.slowest_ms for _, p in part), 1),
            "statements": round(statistics.mean(p.statements for _, p in part), 1),
            "gc_ms": round(statistics.mean(p.gc_ms for _, p in part), 1),
            "gc_collections": round(statistics.mean(p.collections for _, p in part), 2),
        }
    return out


class Command(BaseCommand):
    help = "Benchmark the insights findings (cold and cached) at year3 and year10 volumes."

    def add_arguments(self, parser):
        parser.add_argument("--volumes", default="year3,year10")
        parser.add_argument("--repeat", type=int, default=40, help="Samples per measurement")
        parser.add_argument("--out", default="bench-results/bench_insights.json")

    def handle(self, *args, volumes, repeat, out, **options):
        results: dict[str, dict] = {}
        refreshed = False
        for volume in [v.strip() for v in volumes.split(",") if v.strip()]:
            name, _ = benchmark_names(volume, 42, 1)
            if not Organization.objects.filter(name=name).exists():
                self.stdout.write(f"Seeding {name} (once; later runs reuse it)")
                call_command("seed_benchmark", volume=volume, orgs=1, seed=42)
            if not refreshed:
                refresh_summaries(bump_all=True)
                refreshed = True
            org = Organization.objects.get(name=name)
            results[volume] = self._bench(org, repeat)
        self.stdout.write("\n| volume | insights | median ms | p95 ms | max ms | budget | ok |")
        self.stdout.write("|---|---|---|---|---|---|---|")
        for volume, rows in results.items():
            for kind, row in rows.items():
                if kind == "cold_modes":
                    continue
                budget = BUDGETS_MS.get((volume, kind))
                ok = "" if budget is None else ("yes" if row["p95_ms"] <= budget else "NO")
                self.stdout.write(
                    f"| {volume} | {kind} | {row['median_ms']} | {row['p95_ms']} | "
                    f"{row['max_ms']} | {budget or ''} | {ok} |"
                )
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        self._record(results)
        self.stdout.write(json.dumps({v: r["cold_modes"] for v, r in results.items()}, indent=1))
        self.stdout.write(f"\nWrote {path}")

    @override_settings(OPENAI_API_KEY=None)
    def _bench(self, org, repeat: int) -> dict:
        states = [
            parse_state({"range": p, "compare": c}, org)
            for p in COMMON_PRESETS
            for c in COMMON_COMPARES
        ]
        today = timezone.now().astimezone(org.tz).date()
        cold, after_write, stored = [], [], []
        for i in range(repeat):
            state = states[i % len(states)]
            metric_cache.bump_data_version(org.pk)
            cold.append(_timed(lambda state=state: get_insights(org, state)))
            stored.append(_timed(lambda state=state: get_insights(org, state)))
            # A write to today: only the tail part of the findings is computed again.
            metric_cache.note_write(org.pk, "sales", [today], today)
            after_write.append(_timed(lambda state=state: get_insights(org, state)))
        out = {}
        for kind, samples in (("cold", cold), ("after_write", after_write), ("stored", stored)):
            out[kind] = {
                **summary([ms for ms, _ in samples], places=1),
                "statements_max": max(p.statements for _, p in samples),
            }
        out["cold_modes"] = _modes(cold)
        return out

    def _record(self, results: dict) -> None:
        merge_results(
            {
                "insights_read": {
                    volume: {
                        "stored_p50_ms": rows["stored"]["median_ms"],
                        "stored_p95_ms": rows["stored"]["p95_ms"],
                        "stored_statements": rows["stored"]["statements_max"],
                        "cold_p50_ms": rows["cold"]["median_ms"],
                        "after_write_p50_ms": rows["after_write"]["median_ms"],
                        "budget_ms": 10,
                        "ok": rows["stored"]["p95_ms"] <= 10,
                    }
                    for volume, rows in results.items()
                }
            }
        )
