from django.core.management.base import BaseCommand

from operations.management.demo import add_org_argument, demo_organization
from targets.seeding import seed_demo_targets


class Command(BaseCommand):
    help = "Create a year of demo monthly targets (last and this financial year) from actuals."

    def add_arguments(self, parser):
        add_org_argument(parser)

    def handle(self, *args, org, **options):
        organization = demo_organization(org)
        created = seed_demo_targets(organization)
        self.stdout.write(f"{organization.name}: created {created} demo targets")
