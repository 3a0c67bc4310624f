"""Fill UserStatisticsDaily for past local days, a month per step, with a progress bar.

Idempotent (the upsert leaves unchanged rows alone) and resumable: each step commits on its
own, and `--resume` skips the steps whose days already hold a row for every user, so a run
that was stopped picks up where it left off.
"""

import datetime as dt
import zoneinfo

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Organization, User
from metrics.models import UserStatisticsDaily
from metrics.statistics import compute_user_statistics, last_computed_day, record_progress

STEP_DAYS = 30
MAX_DAYS = 3700


def _date(raw: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--{name} must be a date as YYYY-MM-DD, got {raw!r}") from None


class Command(BaseCommand):
    help = (
        "Fill the nightly per-user statistics for past days: --from/--to dates, or the last "
        "--days (default 400); optionally one --org or one --user."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="First local day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", help="Last local day (default: yesterday)")
        parser.add_argument("--days", type=int, help="The last N days before today (default 400)")
        parser.add_argument("--org", type=int, help="Only this organisation id")
        parser.add_argument("--user", type=int, help="Only this user id (and their organisation)")
        parser.add_argument(
            "--resume", action="store_true", help="Skip steps whose rows are all there already"
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar")

    def handle(self, *args, first, last, days, org, user, resume, no_progress, **options):
        if days is not None and (first or last):
            raise CommandError("Give either --days or --from/--to, not both")
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}")
        users = None
        orgs = Organization.objects.all()
        if user is not None:
            person = User.objects.filter(pk=user).first()
            if person is None:
                raise CommandError(f"No user with id {user}")
            if org is not None and person.organization_id != org:
                raise CommandError(f"User {user} is not in organisation {org}")
            orgs, users = orgs.filter(pk=person.organization_id), [person.pk]
        elif org is not None:
            orgs = orgs.filter(pk=org)
            if not orgs.exists():
                raise CommandError(f"No organisation with id {org}")
        for organization in orgs.order_by("pk"):
            yesterday = timezone.now().astimezone(
                zoneinfo.ZoneInfo(organization.timezone)
            ).date() - dt.timedelta(days=1)
            hi = _date(last, "to") if last else yesterday
            lo = _date(first, "from") if first else hi - dt.timedelta(days=(days or 400) - 1)
            if lo > hi:
                raise CommandError(f"--from ({lo}) is after --to ({hi})")
            if hi > yesterday:
                raise CommandError(f"--to must be a closed day: {yesterday} or earlier")
            if (hi - lo).days + 1 > MAX_DAYS:
                raise CommandError(f"At most {MAX_DAYS} days at a time")
            self._fill(organization, lo, hi, users, resume=resume, progress=not no_progress)

    def _fill(self, organization, lo, hi, users, *, resume: bool, progress: bool) -> None:
        steps = []
        day = lo
        while day <= hi:
            steps.append((day, min(day + dt.timedelta(days=STEP_DAYS - 1), hi)))
            day = steps[-1][1] + dt.timedelta(days=1)
        people = User.objects.filter(organization=organization)
        if users is not None:
            people = people.filter(pk__in=users)
        expected_per_day = people.count()
        rows = skipped = 0
        bar = tqdm(steps, desc=organization.name[:30], unit="month", disable=not progress)
        for step_lo, step_hi in bar:
            if resume and self._complete(organization, people, step_lo, step_hi, expected_per_day):
                skipped += 1
                continue
            with transaction.atomic():
                rows += compute_user_statistics(organization, step_lo, step_hi, users=users)
        # A whole organisation filled up to its last computed day moves that day on.
        done = last_computed_day(organization)
        if users is None and (done is None or lo <= done + dt.timedelta(days=1)):
            record_progress(organization, hi)
        note = f", {skipped} step(s) already complete" if skipped else ""
        self.stdout.write(f"{organization.name}: {lo} to {hi}, {rows} rows written{note}")

    @staticmethod
    def _complete(organization, people, lo, hi, expected_per_day: int) -> bool:
        have = UserStatisticsDaily.objects.filter(
            organization=organization, user__in=people, date__range=(lo, hi)
        ).count()
        return have == expected_per_day * ((hi - lo).days + 1)
