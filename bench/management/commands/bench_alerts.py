"""`manage.py bench_alerts`: the alert checks of 1,000 rules over 10 year3 organisations, and
the 90-day preview of one rule (docs/alerts.md, "Benchmark").

Budgets (issue 21): one evaluation of 1,000 rules over 10 organisations in at most 5 s; the
preview of one rule over 90 days at most 300 ms at p95. A check is timed in four situations:
the first check of new rules (most change state, so events and outbox rows are written),
after a write to every source of every organisation (whole cached values dropped, closed-day
history kept: the steady state of a 5-minute beat on a working day), with nothing changed
(warm), and cold (every cached number dropped, history too). The budget is judged on the
after-writes, warm and cold checks; the first check is reported beside them. Rules are spread over metrics, ranges,
comparisons and filters, so the groups the evaluator reads are realistic; they are removed
afterwards. Writes `bench-results/bench_alerts.json` and the `alerts_evaluate` and
`alerts_preview` keys of `bench-results/bench.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Organization, Role, User
from alerts.evaluate import CHECK_MINUTES, evaluate
from alerts.models import AlertRule
from alerts.preview import preview_rule
from bench.results import judged, merge_results
from bench.stats import summary
from metrics import cache as metric_cache
from metrics.definitions import SOURCES
from operations.seeding import benchmark_names

ORGS = 10
RULES = 1_000
EVALUATE_BUDGET_S = 5.0
PREVIEW_BUDGET_MS = 300
PREFIX = "bench: "
# (metric, condition, threshold) choices; thresholds in API units.
SHAPES = [
    ("revenue", "below", 5_000_000),
    ("revenue", "change_down_pct", 10),
    ("orders", "below", 5),
    ("quote_win_rate", "below", 0.3),
    ("pipeline_value", "above", 500_000_000),
    ("active_installations", "above", 50),
    ("activities", "change_up_pct", 25),
    ("kwh_deployed", "below", 100),
    ("warranty_claims", "above", 3),
    ("new_customers", "below", 2),
]
RANGES = ["yesterday", "last_7_days", "last_30_days", "this_month"]
FILTERS = [{}, {}, {"state": "QLD"}, {"state": "NSW"}]


class Command(BaseCommand):
    help = "Benchmark alert evaluation (1,000 rules, 10 organisations) and rule preview."

    def add_arguments(self, parser):
        parser.add_argument("--rules", type=int, default=RULES)
        parser.add_argument("--samples", type=int, default=3)
        parser.add_argument("--previews", type=int, default=40)
        parser.add_argument("--out", default="bench-results/bench_alerts.json")

    def _orgs(self) -> list[Organization]:
        names = [benchmark_names("year3", 42, n)[0] for n in range(1, ORGS + 1)]
        have = Organization.objects.filter(name__in=names)
        if have.count() < ORGS:
            self.stdout.write(f"Seeding {ORGS} year3 organisations (once; later runs reuse them)")
            call_command("seed_benchmark", volume="year3", orgs=ORGS, seed=42, no_progress=True)
            call_command("refresh_daily_summaries")
        return list(Organization.objects.filter(name__in=names).order_by("pk"))

    def _rules(self, orgs, count: int) -> list[AlertRule]:
        AlertRule.objects.filter(name__startswith=PREFIX).delete()
        rnd = random.Random(21)
        rules = []
        for i in range(count):
            org = orgs[i % len(orgs)]
            owner = User.objects.filter(organization=org, role=Role.ADMIN).order_by("pk").first()
            metric, condition, threshold = SHAPES[rnd.randrange(len(SHAPES))]
            filters = rnd.choice(FILTERS) if metric in ("revenue", "orders") else {}
            rules.append(
                AlertRule(
                    organization=org,
                    owner=owner,
                    name=f"{PREFIX}{i}",
                    metric=metric,
                    condition=condition,
                    threshold=threshold * (1 + rnd.random()),
                    range_preset=rnd.choice(RANGES),
                    compare=rnd.choice(["previous_period", "previous_year"]),
                    filters=filters,
                    recipients=["bench@renoz.bench"],
                )
            )
        return AlertRule.objects.bulk_create(rules)

    def _invalidate(self, orgs, kind: str, today) -> None:
        for org in orgs:
            if kind == "cold":
                metric_cache.bump_data_version(org.pk)  # every cached number, history too
            elif kind == "after_writes":
                # What a write to today does (metrics.signals): whole values go, closed-day
                # history stays.
                for source in SOURCES:
                    metric_cache.note_write(org.pk, source, [today], today)

    def handle(self, *args, rules, samples, previews, out, **options):
        orgs = self._orgs()
        created = self._rules(orgs, rules)
        ids = [r.pk for r in created]
        now = timezone.now()
        today = now.date()
        runs: dict[str, list[float]] = {"first": [], "after_writes": [], "warm": [], "cold": []}
        reads = events = 0
        try:
            order = ["first"] + ["after_writes", "warm", "cold"] * samples
            for n, kind in enumerate(order):
                self._invalidate(orgs, kind, today)
                at = now + dt.timedelta(minutes=CHECK_MINUTES * (n + 1))
                started = time.perf_counter()
                outcome = evaluate(at, rule_ids=ids)
                runs[kind].append(time.perf_counter() - started)
                reads = outcome.metric_reads
                events += outcome.events if kind != "first" else 0
            sample = random.Random(7).sample(created, min(20, len(created)))
            preview_ms = []
            for i in range(previews):
                rule = sample[i % len(sample)]
                started = time.perf_counter()
                preview_rule(rule, now=now)
                preview_ms.append((time.perf_counter() - started) * 1000)
        finally:
            AlertRule.objects.filter(name__startswith=PREFIX).delete()
        figures = {
            "rules": len(created),
            "organizations": len(orgs),
            "metric_reads_per_check": reads,
            "events_after_the_first_check": events,
        }
        for kind, seconds in runs.items():
            figures[f"{kind}_max_s"] = round(max(seconds), 3)
            figures[f"{kind}_median_s"] = round(sorted(seconds)[len(seconds) // 2], 3)
        evaluate_result = judged(
            figures,
            at_most={
                "after_writes_max_s": EVALUATE_BUDGET_S,
                "warm_max_s": EVALUATE_BUDGET_S,
                "cold_max_s": EVALUATE_BUDGET_S,
            },
        )
        preview_result = judged(summary(preview_ms), at_most={"p95_ms": PREVIEW_BUDGET_MS})
        results = {"alerts_evaluate": evaluate_result, "alerts_preview": preview_result}
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(results, indent=2))
        merge_results(results)
        self.stdout.write(json.dumps(results, indent=2))
