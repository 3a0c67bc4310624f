"""`manage.py bench_ask`: questions in plain words, parse plus answer (docs/ask.md, "Budgets";
docs/scaling.md, "Questions in plain words").

On the year3 benchmark organisation (seeded once, as `manage.py bench` does), as its admin,
each question of a fixed sample (plain values, comparisons, filters, breakdowns and series) is
asked through `GET /api/dashboard/ask` with the test client, the whole request timed:

* **parse**: the parser alone (vocabulary, parse), no database beyond the people's names;
* **cached**: the metrics already cached (the question asked once before): budget 30 ms at p95;
* **cold**: every cached number dropped first (the organisation's epoch bumped), beside the
  metrics or timeseries API asked for the same intent's URL state, also cold (a breakdown,
  which has no API, adds the metric layer's `get_breakdown`, cold): the budget is the ask
  API's p95 at most that p95 plus the parse's p95, which the metrics API does not do.

Rate limits are off while it runs. Results in bench-results/bench_ask.json and the `ask_parse`,
`ask_cached` and `ask_cold` keys of bench-results/bench.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Organization, Role, User
from ask.answer import parser_for
from bench.results import judged, merge_results
from bench.stats import summary
from metrics import cache as metric_cache
from metrics.periods import parse_state
from metrics.queries import get_breakdown
from operations.seeding import benchmark_names

CACHED_BUDGET_MS = 30
QUESTIONS = [
    "revenue in NSW last quarter vs last year",
    "turnover this FY",
    "sales since 1 July",
    "revenue Q2 FY26",
    "win rate this FY",
    "kWh installed over the last 6 weeks",
    "open claims",
    "pipeline value",
    "battery revenue this FY",
    "new customers in WA this FY",
    "revenue and orders this month",
    "reveune in Queensand last quater",
    "revenue by state this FY",
    "top 5 customers this FY",
    "win rate by owner this financial year",
    "revenue by month this FY",
    "kWh deployed by month this financial year",
    "warranty claims last month vs last year",
]


class Command(BaseCommand):
    help = "Benchmark questions in plain words: parse, and parse plus answer cached and cold."

    def add_arguments(self, parser):
        parser.add_argument("--volume", default="year3")
        parser.add_argument("--repeat", type=int, default=5, help="Rounds over the questions")
        parser.add_argument("--out", default="bench-results/bench_ask.json")

    def _organization(self, volume: str) -> Organization:
        name, _ = benchmark_names(volume, 42, 1)
        if not Organization.objects.filter(name=name).exists():
            self.stdout.write(f"Seeding {name} (once; later runs reuse it)")
            call_command("seed_benchmark", volume=volume, orgs=1, seed=42, no_progress=True)
            call_command("refresh_daily_summaries")
        return Organization.objects.get(name=name)

    @override_settings(RATELIMIT_ENABLE=False, OPENAI_API_KEY=None, ALLOWED_HOSTS=["testserver"])
    def handle(self, *args, volume, repeat, out, **options):
        org = self._organization(volume)
        admin = User.objects.filter(organization=org, role=Role.ADMIN).order_by("pk").first()
        client = Client()
        client.force_login(admin)
        parse, cached, cold, api_cold = [], [], [], []
        for round_ in range(repeat):
            for question in QUESTIONS:
                started = time.perf_counter()
                reading = parser_for(org, timezone.now()).parse(question, asker_id=admin.pk)
                parse.append((time.perf_counter() - started) * 1000)
                assert reading.intent is not None, question
                # Cold pairs in alternating order, so neither always goes first.
                pair = [
                    lambda q=question: self._ask_cold(client, org, q),
                    lambda i=reading.intent: self._reference_cold(client, org, i),
                ]
                if round_ % 2:
                    pair.reverse()
                timings = [run() for run in pair]
                if round_ % 2:
                    timings.reverse()
                cold.append(timings[0])
                api_cold.append(timings[1])
                cached.append(self._get(client, "/api/dashboard/ask", {"q": question}))
        results = {
            "volume": volume,
            "questions": len(QUESTIONS),
            "parse": summary(parse),
            "cached": summary(cached),
            "cold": summary(cold),
            "metrics_api_cold": summary(api_cold),
        }
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        cold_limit = round(results["metrics_api_cold"]["p95_ms"] + results["parse"]["p95_ms"], 2)
        merge_results(
            {
                "ask_parse": {"volume": volume, **results["parse"]},
                "ask_cached": judged(
                    {"volume": volume, **results["cached"]},
                    at_most={"p95_ms": CACHED_BUDGET_MS},
                ),
                "ask_cold": judged(
                    {
                        "volume": volume,
                        **results["cold"],
                        "metrics_api_cold_p95_ms": results["metrics_api_cold"]["p95_ms"],
                    },
                    at_most={"p95_ms": cold_limit},
                ),
            }
        )
        self.stdout.write("| ask | median ms | p95 ms | max ms | budget |")
        self.stdout.write("|---|---|---|---|---|")
        budgets = {
            "cached": f"≤ {CACHED_BUDGET_MS}",
            "cold": f"≤ {cold_limit} (metrics API + parse)",
        }
        for kind in ("parse", "cached", "cold", "metrics_api_cold"):
            row = results[kind]
            self.stdout.write(
                f"| {kind} | {row['median_ms']} | {row['p95_ms']} | {row['max_ms']} | "
                f"{budgets.get(kind, '')} |"
            )
        self.stdout.write(f"Wrote {path}")

    def _ask_cold(self, client: Client, org, question: str) -> float:
        metric_cache.bump_data_version(org.pk)
        return self._get(client, "/api/dashboard/ask", {"q": question})

    def _reference_cold(self, client: Client, org, intent) -> float:
        """The same reads through the metrics (or timeseries) API, cold; a breakdown (which has
        no API of its own) adds the metric layer's breakdown, cold."""
        metric_cache.bump_data_version(org.pk)
        if intent.interval:
            interval = "month" if intent.interval == "auto" else intent.interval
            params = {**intent.state_params(), "metric": intent.metrics[0], "interval": interval}
            return self._get(client, "/api/dashboard/timeseries", params)
        params = {**intent.state_params(), "metrics": ",".join(intent.metrics)}
        took = self._get(client, "/api/dashboard/metrics", params)
        if intent.by:
            metric_cache.bump_data_version(org.pk)
            state = parse_state(intent.state_params(), org)
            started = time.perf_counter()
            get_breakdown(org, state, intent.metrics[0], intent.by)
            took += (time.perf_counter() - started) * 1000
        return took

    @staticmethod
    def _get(client: Client, url: str, params: dict) -> float:
        started = time.perf_counter()
        response = client.get(url, params)
        took = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params}: {response.status_code} {response.content[:200]!r}")
        return took
