"""`manage.py seed_demo`: the "Renoz Energy" demo organisation with three years of history."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from operations.models import Customer
from operations.seeding import DEMO_USERS, AlreadySeeded, progress_enabled, seed_demo


class Command(BaseCommand):
    help = (
        "Create the Renoz Energy demo organisation: one login per role (password renoz-demo) "
        "and about three years of customers, pipeline, orders, installations and claims."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds operational records.",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed for the data (default 42)."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide progress bars.")

    def handle(self, *args, if_empty: bool, seed: int, no_progress: bool, **options):
        # Tricky: `createsuperuser` makes an empty organisation, so "empty" means no records.
        if if_empty and Customer.objects.exists():
            self.stdout.write("The database already holds records; skipping the demo seed.")
            return
        try:
            result = seed_demo(
                seed=seed, now=timezone.now(), progress=progress_enabled(no_progress)
            )
        except AlreadySeeded as exc:
            self.stdout.write(str(exc))
            return
        total = sum(result.counts.values())
        self.stdout.write(
            self.style.SUCCESS(
                f'Seeded "{result.organization.name}": {total:,} rows in {result.seconds:.1f} s'
            )
        )
        for table, count in result.counts.items():
            self.stdout.write(f"  {table:<28} {count:>9,}")
        self.stdout.write("Demo logins (password renoz-demo):")
        for email, _password, role in result.logins:
            self.stdout.write(f"  {role:<11} {email}")
        extra = ", ".join(u.email for u in DEMO_USERS[len(result.logins) :])
        self.stdout.write(f"  (also, same password: {extra})")
