import datetime as dt
import zoneinfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from metrics.statistics import compute_user_statistics
from renoz.accounts.models import Organization


class Command(BaseCommand):
    help = "Fill UserStatisticsDaily for the last N days (default 400), a month per step."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=400)
        parser.add_argument("--org", type=int, help="Only this organisation id")

    def handle(self, *args, days, org, **options):
        if days < 1 or days > 3700:
            raise CommandError("--days must be between 1 and 3700")
        orgs = Organization.objects.filter(pk=org) if org else Organization.objects.all()
        for organization in orgs:
            today = timezone.now().astimezone(zoneinfo.ZoneInfo(organization.timezone)).date()
            first = today - dt.timedelta(days=days)
            steps = list(range(0, days, 30))
            rows = 0
            for offset in tqdm(steps, desc=organization.name[:30], unit="month"):
                lo = first + dt.timedelta(days=offset)
                hi = min(lo + dt.timedelta(days=29), today - dt.timedelta(days=1))
                if lo <= hi:
                    rows += compute_user_statistics(organization, lo, hi)
            self.stdout.write(f"{organization.name}: {rows} rows")
