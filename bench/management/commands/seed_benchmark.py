"""`manage.py seed_benchmark`: organisations with exact, large volumes for load testing."""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from operations.seeding import (
    BENCHMARK_VOLUMES,
    AlreadySeeded,
    analyze_tables,
    benchmark_names,
    progress_enabled,
    seed_benchmark_org,
)


def aware_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"needs a UTC offset, e.g. 2026-06-30T12:00:00+10:00: {value!r}"
        )
    return parsed


class Command(BaseCommand):
    help = (
        "Write benchmark organisations. Per organisation, --volume year3 is exactly 2,000 "
        "customers, 10,000 opportunities, 5,000 orders and 100,000 activities over three "
        "years; year1 is a third of that, year10 ten times over ten years."
    )

    def add_arguments(self, parser):
        parser.add_argument("--volume", choices=sorted(BENCHMARK_VOLUMES), default="year3")
        parser.add_argument("--orgs", type=int, default=1, help="How many organisations.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--no-progress", action="store_true", help="Hide progress bars.")
        # Hidden: pins the anchor "now" so that runs can be compared for determinism.
        parser.add_argument("--now", type=aware_datetime, default=None, help=argparse.SUPPRESS)

    def handle(self, *args, volume: str, orgs: int, seed: int, no_progress: bool, now, **opts):
        if orgs < 1:
            raise CommandError("--orgs must be at least 1")
        now = now or timezone.now()
        progress = progress_enabled(no_progress)
        started = time.perf_counter()
        totals: dict[str, int] = {}
        logins = []
        for n in range(1, orgs + 1):
            try:
                result = seed_benchmark_org(
                    volume_name=volume, n=n, seed=seed, now=now, progress=progress
                )
            except AlreadySeeded as exc:
                raise CommandError(str(exc)) from None
            if result is None:
                name, _email = benchmark_names(volume, seed, n)
                self.stdout.write(f'"{name}" already exists; skipped.')
                continue
            rows = sum(result.counts.values())
            self.stdout.write(
                f'"{result.organization.name}": {rows:,} rows in {result.seconds:.1f} s'
            )
            for table, count in result.counts.items():
                totals[table] = totals.get(table, 0) + count
            logins.extend(result.logins)
        if not totals:
            self.stdout.write("Nothing to do.")
            return
        analyze_tables()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {sum(totals.values()):,} rows in {elapsed:.1f} s")
        )
        for table, count in totals.items():
            self.stdout.write(f"  {table:<28} {count:>10,}")
        self.stdout.write("Logins:")
        for email, password, role in logins:
            self.stdout.write(f"  {role:<6} {email}  password {password}")
