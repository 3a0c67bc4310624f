"""`manage.py bench_annotations [--org ID]`: what annotations cost a dashboard page
(docs/annotations.md, "Cost").

Adds a year of annotations to the organisation (one a day, every seventh a three-day span, a
third of them on revenue; titled "bench: …" and removed afterwards), signs in as one of its
admins and loads the executive dashboard for the last 12 months in-process, counting the SQL
statements that read annotations: right after the write (the one read for every chart), with
the page cached, and after a data change (every number recomputed, the annotations read
cached). It also times the window read itself (one statement, a year's rows) with the
annotations cache dropped. Budget (issue 22): at most 1 statement per page, whatever the
number of charts. Writes `bench-results/bench_annotations.json` and the `annotations_page` key
of `bench-results/bench.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization, Role, User
from annotations.models import Annotation
from annotations.queries import PART, window_notes
from bench.results import judged, merge_results
from bench.stats import summary
from metrics import cache as metric_cache

PREFIX = "bench: "
DAYS = 365


class Command(BaseCommand):
    help = "Benchmark what annotations cost a dashboard page."

    def add_arguments(self, parser):
        parser.add_argument("--org", type=int, help="Organisation id (default: the first)")
        parser.add_argument("--samples", type=int, default=20)
        parser.add_argument("--out", default="bench-results/bench_annotations.json")

    def handle(self, *args, org, samples, out, **options):
        organization = (
            Organization.objects.filter(pk=org).first()
            if org
            else Organization.objects.order_by("pk").first()
        )
        if organization is None:
            raise CommandError("No organisation: run `make demo` or give --org")
        admin = User.objects.filter(organization=organization, role=Role.ADMIN).first()
        if admin is None:
            raise CommandError(f"{organization.name} has no admin to sign in as")
        tz = organization.tz
        today = timezone.now().astimezone(tz).date()
        first = today - dt.timedelta(days=DAYS - 1)
        query = f"from={first}&to={today}&compare=previous_period"
        self._clear(organization)
        rows = []
        for n in range(DAYS):
            day = first + dt.timedelta(days=n)
            start = dt.datetime.combine(day, dt.time(9), tzinfo=tz)
            rows.append(
                Annotation(
                    organization=organization,
                    title=f"{PREFIX}event {n + 1}",
                    starts_at=start,
                    ends_at=start + dt.timedelta(days=3) if n % 7 == 0 else None,
                    metric="revenue" if n % 3 == 0 else "",
                    tags=["bench"],
                )
            )
        try:
            with transaction.atomic():
                Annotation.objects.bulk_create(rows)
            metric_cache.bump_data_version(organization.pk, [PART])
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(admin)
            after_write = self._page(client, query)
            cached = self._page(client, query)
            metric_cache.bump_data_version(organization.pk)  # every number recomputed
            after_data_change = self._page(client, query)
            timings = []
            for _ in range(samples):
                metric_cache.bump_data_version(organization.pk, [PART])
                began = time.perf_counter()
                notes = window_notes(organization, first, today + dt.timedelta(days=1))
                timings.append((time.perf_counter() - began) * 1000)
            read = {**summary(timings), "annotations": len(notes)}
        finally:
            self._clear(organization)
        results = {
            "organization": organization.name,
            "annotations": DAYS,
            "range": f"{first}..{today}",
            "statements": {
                "after_write": after_write,
                "cached": cached,
                "after_data_change": after_data_change,
            },
            "window_read": read,
        }
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        worst = max(s["annotation_statements"] for s in results["statements"].values())
        merge_results(
            {
                "annotations_page": judged(
                    {
                        "annotation_statements_per_page": worst,
                        "charts": after_write["charts"],
                        "window_read_p95_ms": read["p95_ms"],
                    },
                    at_most={"annotation_statements_per_page": 1},
                )
            }
        )
        self.stdout.write(json.dumps(results, indent=2))

    def _page(self, client: Client, query: str) -> dict:
        with CaptureQueriesContext(connection) as sql:
            response = client.get(f"/dashboard/?{query}")
        if response.status_code != 200:
            raise CommandError(f"The dashboard answered {response.status_code}")
        statements = [q["sql"] for q in sql.captured_queries]
        return {
            "statements": len(statements),
            "annotation_statements": sum('"annotations_annotation"' in s for s in statements),
            "charts": response.content.decode().count('aria-label="Annotations in this range"'),
        }

    def _clear(self, organization) -> None:
        deleted, _ = Annotation.objects.filter(
            organization=organization, title__startswith=PREFIX
        ).delete()
        if deleted:
            metric_cache.bump_data_version(organization.pk, [PART])
