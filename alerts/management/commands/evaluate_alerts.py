"""`manage.py evaluate_alerts [--now] [--at ISO] [--no-deliver] [--deliver-only]`: check the
alert rules that are due, then send the pending notifications (docs/alerts.md, "Jobs")."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from alerts import delivery, evaluate
from alerts.management.clock import parse_at


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
        now = parse_at(opts["at"])
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
