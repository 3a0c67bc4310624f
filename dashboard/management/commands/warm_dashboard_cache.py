from django.core.management.base import BaseCommand
from tqdm import tqdm

from accounts.models import Organization
from dashboard.layouts import warm_widgets
from metrics.warming import active_organizations, warm_organization


class Command(BaseCommand):
    help = "Warm the dashboard cache for active organisations (or all with --all)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Warm every organisation, not just active ones"
        )

    def handle(self, *args, **options):
        orgs = list(Organization.objects.all() if options["all"] else active_organizations())
        total = 0
        for org in tqdm(orgs, desc="warming", unit="org", disable=not orgs):
            total += warm_organization(org, widgets=warm_widgets)
        self.stdout.write(f"Warmed {total} cache entries for {len(orgs)} organisation(s)")
