"""`manage.py bench`: the metrics engine on realistic volumes, with medians and p95.

Seeds (or reuses) one organisation at year3 and one at year10, then measures the executive
layout's metrics cold through the views, cached, and by pure live computation; the time
series; a full refresh with a reader running against it; and the cache hit rate over a
simulated business day after warming. Prints a table and writes JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections import defaultdict
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections
from tqdm import tqdm

from dashboard.layouts import default_widgets, warm_widgets
from dashboard.widgets import CATALOGUE, build_widget, peek_widget
from metrics import cache as metric_cache
from metrics.periods import parse_state
from metrics.queries import get_metrics, get_metrics_comparison, get_timeseries
from metrics.refresh import refresh_views
from metrics.warming import COMMON_COMPARES, COMMON_PRESETS, warm_organization
from renoz.accounts.models import Organization
from renoz.benchstats import summary
from renoz.operations.seeding import benchmark_names

EXECUTIVE_METRICS = [
    "revenue",
    "kwh_deployed",
    "quote_win_rate",
    "pipeline_value",
    "active_installations",
    "warranty_claims",
    "customer_count",
    "orders",
]
BUDGETS = {
    ("year3", "cold_metrics"): 50,
    ("year10", "cold_metrics"): 75,
    ("year3", "cached_metrics"): 5,
    ("year10", "cached_metrics"): 5,
    ("year10", "full_refresh"): 15_000,
    ("year10", "reader_during_refresh"): 100,
}
STATES = [(p, c) for p in COMMON_PRESETS for c in COMMON_COMPARES]
BUSINESS_DAYS_PER_YEAR = 250


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


class Command(BaseCommand):
    help = (
        "Benchmark the metrics engine at year3 and year10 volumes; prints a table and writes JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--volumes", default="year3,year10")
        parser.add_argument("--repeat", type=int, default=60, help="Samples per measurement")
        parser.add_argument(
            "--page-views",
            default="400,2000",
            help="Dashboard page views in each simulated day (comma-separated: a quiet and a busy day)",
        )
        parser.add_argument(
            "--write-scale",
            type=float,
            default=1.0,
            help="Multiply the day's realistic write volume (0 = a read-only day)",
        )
        parser.add_argument("--out", default="bench-results/bench.json")

    def handle(self, *args, volumes, repeat, page_views, write_scale, out, **options):
        self.write_scale = write_scale
        results: dict[str, dict] = {}
        for volume in [v.strip() for v in volumes.split(",") if v.strip()]:
            org = self._organization(volume)
            self.stdout.write(f"\n== {volume}: {org.name} ==")
            results[volume] = self._bench(org, volume, repeat, page_views)
        self._print(results)
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str))
        self.stdout.write(f"\nWrote {path}")

    def _organization(self, volume: str) -> Organization:
        name, _ = benchmark_names(volume, 42, 1)
        if not Organization.objects.filter(name=name).exists():
            self.stdout.write(f"Seeding {name} (once; later runs reuse it)")
            call_command("seed_benchmark", volume=volume, orgs=1, seed=42)
        return Organization.objects.get(name=name)

    def _bench(self, org, volume: str, repeat: int, page_views: int) -> dict:
        refresh_views(bump_all=True)
        states = [parse_state({"range": p, "compare": c}, org) for p, c in STATES]
        out: dict[str, dict] = {}

        def cold(i):
            metric_cache.bump_data_version(org.pk)
            get_metrics(org, states[i % len(states)], EXECUTIVE_METRICS)

        out["cold_metrics"] = summary(
            [_timed(lambda i=i: cold(i)) for i in tqdm(range(repeat), desc="cold")]
        )
        for st in states:
            get_metrics(org, st, EXECUTIVE_METRICS)
        out["cached_metrics"] = summary(
            [
                _timed(lambda i=i: get_metrics(org, states[i % len(states)], EXECUTIVE_METRICS))
                for i in tqdm(range(repeat), desc="cached")
            ]
        )
        out["live_metrics"] = summary(
            [
                _timed(
                    lambda i=i: get_metrics_comparison(
                        org, states[i % len(states)], EXECUTIVE_METRICS, mode="live"
                    )
                )
                for i in tqdm(range(max(5, repeat // 4)), desc="live")
            ]
        )
        out["timeseries"] = summary(
            [
                _timed(
                    lambda i=i: get_timeseries(
                        org, states[i % len(states)], "revenue", use_cache=False
                    )
                )
                for i in tqdm(range(repeat), desc="timeseries")
            ]
        )
        out["full_refresh"], out["reader_during_refresh"] = self._refresh_under_read(org, states)
        for n in [int(v) for v in str(page_views).split(",") if v.strip()]:
            out[f"hit_rate_{n}_views"] = self._business_day(org, n)
        return out

    def _refresh_under_read(self, org, states):
        latencies: list[float] = []
        stop = threading.Event()

        def reader():
            try:
                i = 0
                while not stop.is_set():
                    st = states[i % len(states)]
                    latencies.append(
                        _timed(lambda st=st: get_metrics_comparison(org, st, EXECUTIVE_METRICS))
                    )
                    i += 1
            finally:
                connections.close_all()

        thread = threading.Thread(target=reader)
        thread.start()
        time.sleep(0.3)
        refresh_ms = [_timed(refresh_views) for _ in range(3)]
        stop.set()
        thread.join()
        return summary(refresh_ms), summary(latencies)

    def _daily_write_rates(self, org) -> dict[str, float]:
        """Writes per business day, by source, from the organisation's last year of records
        (every created, closed, completed or resolved event is one write)."""
        sql = """
            SELECT
              (SELECT count(*) FROM operations_order WHERE organization_id = %(org)s
                 AND ordered_at >= now() - interval '1 year') * 2,
              (SELECT count(*) FROM operations_opportunity WHERE organization_id = %(org)s
                 AND created_at >= now() - interval '1 year')
              + (SELECT count(*) FROM operations_opportunity WHERE organization_id = %(org)s
                 AND closed_at >= now() - interval '1 year'),
              (SELECT count(*) FROM operations_installationjob WHERE organization_id = %(org)s
                 AND created_at >= now() - interval '1 year') * 2,
              (SELECT count(*) FROM operations_warrantyclaim WHERE organization_id = %(org)s
                 AND opened_at >= now() - interval '1 year') * 2,
              (SELECT count(*) FROM operations_customer WHERE organization_id = %(org)s
                 AND created_at >= now() - interval '1 year'),
              (SELECT count(*) FROM operations_activity WHERE organization_id = %(org)s
                 AND occurred_at >= now() - interval '1 year')
        """
        with connections["default"].cursor() as cursor:
            cursor.execute(sql, {"org": org.pk})
            row = cursor.fetchone()
        names = ("sales", "pipeline", "jobs", "warranty", "customers", "activities")
        return {
            name: round(count / BUSINESS_DAYS_PER_YEAR, 1)
            for name, count in zip(names, row, strict=True)
        }

    def _business_day(self, org, page_views: int) -> dict:
        """After warming, one business day of dashboard page views, each requesting its layout's
        widgets as the page does (served inline when cached, else computed), with the day's
        writes interleaved; each write bumps the version of its source only.

        A page view picks a layout (executive 60 %, pipeline 25 %, installations 15 %) and a
        state (mostly the common presets, 3 % ad-hoc custom ranges). The simulation runs in
        seconds, so TTL expiry (5 min) is not simulated: it counts what versioning costs.
        """

        rnd = random.Random(7)
        warm_organization(org, widgets=warm_widgets)
        rates = self._daily_write_rates(org)
        writes = [source for source, n in rates.items() for _ in range(round(n * self.write_scale))]
        rnd.shuffle(writes)
        layouts = {
            name: [w for w in default_widgets(name) if not CATALOGUE[w["type"]].per_user]
            for name in ("executive", "pipeline", "installations")
        }
        today = parse_state({}, org).range.end
        weights = [30, 5, 25, 5, 3, 8, 8, 3, 2, 2, 5, 4][: len(STATES)]
        hits = misses = 0
        # Tricky: spread every write over the day, several per page view when writes outnumber
        # page views, so the whole day's volume always lands.
        writes_before: dict[int, list[str]] = defaultdict(list)
        for k, source in enumerate(writes):
            writes_before[k * page_views // len(writes)].append(source)
        for i in tqdm(range(page_views), desc="business day"):
            for source in writes_before[i]:
                metric_cache.bump_data_version(org.pk, [source])
            if rnd.random() < 0.03:  # an ad-hoc custom range: always a miss the first time
                first = today - dt.timedelta(days=rnd.randint(30, 700))
                last = first + dt.timedelta(days=rnd.randint(1, 90))
                params = {"from": first.isoformat(), "to": last.isoformat()}
            else:
                preset, compare = rnd.choices(STATES, weights=weights)[0]
                params = {"range": preset, "compare": compare}
            state = parse_state(params, org)
            layout = rnd.choices(list(layouts), weights=[60, 25, 15])[0]
            for widget in layouts[layout]:
                if peek_widget(widget, org, state) is not None:
                    hits += 1
                else:
                    misses += 1
                    build_widget(widget, org, None, state)
        total = hits + misses
        return {
            "hits": hits,
            "misses": misses,
            "hit_rate": round(hits / total, 4) if total else None,
            "page_views": page_views,
            "widget_requests": total,
            "writes": len(writes),
            "writes_per_day": rates,
        }

    def _print(self, results: dict) -> None:
        self.stdout.write("\n| volume | measurement | median ms | p95 ms | max ms | budget | ok |")
        self.stdout.write("|---|---|---|---|---|---|---|")
        for volume, rows in results.items():
            for name, row in rows.items():
                if name.startswith("hit_rate"):
                    rate = row.get("hit_rate") or 0
                    name = f"hit rate, {row['page_views']} page views, {row['writes']} writes"
                    self.stdout.write(
                        f"| {volume} | {name} | {rate:.1%} | | | ≥ 95% | {'yes' if rate >= 0.95 else 'NO'} |"
                    )
                    continue
                budget = BUDGETS.get((volume, name))
                measure = row["max_ms"] if name == "reader_during_refresh" else row["p95_ms"]
                if name == "full_refresh":
                    measure = row["max_ms"]
                ok = "" if budget is None else ("yes" if measure <= budget else "NO")
                self.stdout.write(
                    f"| {volume} | {name} | {row['median_ms']} | {row['p95_ms']} | {row['max_ms']} "
                    f"| {budget or ''} | {ok} |"
                )
