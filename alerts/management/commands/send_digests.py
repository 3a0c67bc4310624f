"""`manage.py send_digests [--now] [--at ISO] [--no-deliver] [--defaults-only]`: settle the
digests that are due, then send what is pending in the outbox (docs/digests.md, "Jobs").
`--defaults-only` gives users who follow nothing their role's default follows and stops
(`make demo` runs it, so the demo's stars are filled before the first digest run)."""

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
        parser.add_argument(
            "--defaults-only",
            action="store_true",
            help="give users who follow nothing their role's default follows, and stop",
        )

    def handle(self, *args, **opts):
        if opts["defaults_only"]:
            count = digest.apply_role_defaults()
            self.stdout.write(f"role default follows considered for {count} users")
            return
        now = parse_at(opts["at"])
        outcome = digest.send_digests(now, everything=opts["now"])
        self.stdout.write(str(outcome))
        if not opts["no_deliver"]:
            sent = delivery.deliver(now)
            self.stdout.write(f"sent {sent.sent}, retrying {sent.retry}, failed {sent.failed}")
