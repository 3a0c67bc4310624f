from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from targets.seeding import seed_demo_targets


class Command(BaseCommand):
    help = "Create a year of demo monthly targets (last and this financial year) from actuals."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="Renoz Energy", help="Organisation name")

    def handle(self, *args, org, **options):
        organization = Organization.objects.filter(name=org).order_by("pk").first()
        if organization is None:
            raise CommandError(f"No organisation named {org!r}; run `manage.py seed_demo` first")
        created = seed_demo_targets(organization)
        self.stdout.write(f"{organization.name}: created {created} demo targets")
