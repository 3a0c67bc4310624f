"""`manage.py bench_insights`: the executive dashboard's findings, cold, at year3 and year10.

Reuses the benchmark organisations of `manage.py bench` (seeding them once, as it does), then
times `get_insights` for the common presets and comparisons with every cache cold (the
organisation's data version bumped before each sample) and warm. No model is called: the
narrative is the computed one, so the figures are the findings' own cost.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from accounts.models import Organization
from bench.stats import summary
from insights.queries import get_insights
from metrics import cache as metric_cache
from metrics.periods import parse_state
from metrics.refresh import refresh_summaries
from metrics.warming import COMMON_COMPARES, COMMON_PRESETS
from operations.seeding import benchmark_names

BUDGETS_MS = {("year3", "cold"): 300, ("year10", "cold"): 500}


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
                budget = BUDGETS_MS.get((volume, kind))
                ok = "" if budget is None else ("yes" if row["p95_ms"] <= budget else "NO")
                self.stdout.write(
                    f"| {volume} | {kind} | {row['median_ms']} | {row['p95_ms']} | "
                    f"{row['max_ms']} | {budget or ''} | {ok} |"
                )
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        self.stdout.write(f"\nWrote {path}")

    @override_settings(OPENAI_API_KEY=None)
    def _bench(self, org, repeat: int) -> dict:
        states = [
            parse_state({"range": p, "compare": c}, org)
            for p in COMMON_PRESETS
            for c in COMMON_COMPARES
        ]
        cold, warm = [], []
        for i in range(repeat):
            state = states[i % len(states)]
            metric_cache.bump_data_version(org.pk)
            started = time.perf_counter()
            get_insights(org, state)
            cold.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            get_insights(org, state)
            warm.append((time.perf_counter() - started) * 1000)
        return {"cold": summary(cold, places=1), "cached": summary(warm, places=1)}
