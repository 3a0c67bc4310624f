"""`manage.py dispatch_reports [--now ISO-DATETIME]`: one dispatcher tick, in the foreground."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from reports import dispatch
from reports.tasks import deliver_report_run


def parse_now(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--now must be an ISO datetime with an offset, got {raw!r}") from None
    if value.tzinfo is None:
        raise CommandError(f"--now needs a UTC offset or Z (e.g. {raw}+10:00), got {raw!r}")
    return value


class Command(BaseCommand):
    help = (
        "Run one report dispatcher tick: create the runs of due slots and deliver them here "
        "(render, send, record). Safe to run beside beat or another dispatcher."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Pretend it is this instant (ISO 8601 with offset).")
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the runs to Celery workers instead of delivering them here.",
        )

    def handle(self, *args, now=None, enqueue=False, **options):
        instant = parse_now(now)
        result = dispatch.tick(instant, enqueue=enqueue)
        outcomes: dict[str, int] = {}
        if enqueue:
            for run_id in result.run_ids:
                deliver_report_run.delay(run_id)
            outcomes["queued"] = len(result.run_ids)
        else:
            for run_id in result.run_ids:
                outcome = dispatch.deliver(run_id, instant)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(f"{result.now.isoformat()}: {result.created} new run(s); {summary}")
