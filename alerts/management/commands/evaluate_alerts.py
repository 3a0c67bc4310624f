"""`manage.py evaluate_alerts [--now] [--at ISO] [--no-deliver] [--deliver-only]`: check the
alert rules that are due, then send the pending notifications (docs/alerts.md, "Jobs")."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from alerts import delivery, evaluate


class Command(BaseCommand):
    help = "Check the alert rules that are due, then deliver pending notifications."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", action="store_true", help="check every active rule now (once a minute)"
        )
        parser.add_argument("--at", help="the clock to use, as an ISO date-time (tests)")
        parser.add_argument("--no-deliver", action="store_true", help="check only")
        parser.add_argument("--deliver-only", action="store_true", help="send only")

    def handle(self, *args, **opts):
        now = None
        if opts["at"]:
            try:
                now = dt.datetime.fromisoformat(opts["at"])
            except ValueError:
                raise CommandError("--at must be an ISO date-time") from None
            if now.tzinfo is None:
                raise CommandError("--at needs a timezone, e.g. 2026-07-01T09:00:00+10:00")
        if not opts["deliver_only"]:
            outcome = evaluate.evaluate(now, everything=opts["now"])
            self.stdout.write(
                f"checked {outcome.checked} series ({outcome.metric_reads} metric reads), "
                f"skipped {outcome.skipped}, {outcome.events} events, "
                f"{outcome.notifications} notifications queued"
            )
        if not opts["no_deliver"]:
            sent = delivery.deliver(now)
            self.stdout.write(f"sent {sent.sent}, retrying {sent.retry}, failed {sent.failed}")
