"""`manage.py send_digests [--now] [--at ISO] [--no-deliver]`: settle the digests that are due,
then send what is pending in the outbox (docs/digests.md, "Jobs")."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from alerts import delivery, digest
from alerts.management.clock import parse_at


class Command(BaseCommand):
    help = "Queue each due user's digest (once per slot), then deliver pending notifications."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            action="store_true",
            help="every user with follows, whatever their send time (once per 15-minute slot)",
        )
        parser.add_argument("--at", help="the clock to use, as an ISO date-time (tests)")
        parser.add_argument("--no-deliver", action="store_true", help="queue only")

    def handle(self, *args, **opts):
        now = parse_at(opts["at"])
        outcome = digest.send_digests(now, everything=opts["now"])
        self.stdout.write(str(outcome))
        if not opts["no_deliver"]:
            sent = delivery.deliver(now)
            self.stdout.write(f"sent {sent.sent}, retrying {sent.retry}, failed {sent.failed}")
