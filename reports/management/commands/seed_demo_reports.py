from django.core.management.base import BaseCommand

from operations.management.demo import add_org_argument, demo_organization
from reports.seeding import seed_demo_reports


class Command(BaseCommand):
    help = "Create two demo scheduled reports (executive weekly, installations monthly)."

    def add_arguments(self, parser):
        add_org_argument(parser)

    def handle(self, *args, org, **options):
        organization = demo_organization(org)
        created = seed_demo_reports(organization)
        self.stdout.write(f"{organization.name}: created {created} demo report(s)")
