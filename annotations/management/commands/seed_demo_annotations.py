"""`manage.py seed_demo_annotations` (run by `make demo`): a few past events on the demo's
charts, dated from today, through the same validation as the CSV import
(docs/annotations.md). Runs once: an organisation that has manual annotations is left alone."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.core.management.base import BaseCommand
from django.utils import timezone

from annotations.actions import do_import_csv
from annotations.models import Annotation, Source
from operations.management.demo import add_org_argument, demo_organization


def demo_rows(today: dt.date) -> list[dict[str, str]]:
    """The demo's events: last financial year's EOFY push and the Christmas shutdown, last
    October's promotion, a storm in Queensland, a price rise and a website outage."""
    fy_end = dt.date(today.year if today.month > 6 else today.year - 1, 6, 30)
    christmas = dt.date(fy_end.year - 1, 12, 22)
    october = dt.date(today.year if today.month > 10 else today.year - 1, 10, 1)

    def row(title, start, end=None, metric="", dimension="", note="", tags=""):
        return {
            "title": title,
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat() if end else "",
            "metric": metric,
            "dimension": dimension,
            "note": note,
            "tags": tags,
        }

    return [
        row("Christmas shutdown", christmas, christmas + dt.timedelta(days=14), tags="holiday"),
        row("EOFY push", fy_end.replace(day=1), fy_end, metric="revenue", tags="sales"),
        row(
            "Spring promotion",
            october,
            october.replace(day=31),
            note="Free monitoring for a year on every system",
            tags="marketing",
        ),
        row(
            "Storm in SE QLD",
            today - dt.timedelta(days=13),
            today - dt.timedelta(days=10),
            dimension="state=QLD",
            note="Installs in Brisbane and the Gold Coast rescheduled",
            tags="weather,qld",
        ),
        row(
            "Battery price rise 5%",
            today - dt.timedelta(days=5),
            metric="revenue",
            note="List prices of batteries up 5%",
            tags="pricing",
        ),
        row(
            "Website outage",
            today - dt.timedelta(days=3),
            note="Quote form down for four hours",
            tags="incident",
        ),
    ]


class Command(BaseCommand):
    help = "Add the demo's past events as annotations (once)."

    def add_arguments(self, parser):
        add_org_argument(parser)

    def handle(self, *args, org, **options):
        organization = demo_organization(org)
        if Annotation.objects.filter(organization=organization, source=Source.MANUAL).exists():
            self.stdout.write(f"{organization.name}: demo annotations already there")
            return
        today = timezone.localdate(timezone=organization.tz)
        rows = demo_rows(today)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        result = do_import_csv(organization, out.getvalue())
        for line, problem in result.errors:
            self.stderr.write(f"line {line}: {problem}")
        self.stdout.write(f"{organization.name}: {result.created} demo annotations added")
