from django.core.management.base import BaseCommand, CommandError

from metrics.definitions import VIEW_NAMES
from metrics.refresh import refresh_views


class Command(BaseCommand):
    help = "Refresh the dashboard's materialized views (concurrently once populated)."

    def add_arguments(self, parser):
        parser.add_argument(
            "views", nargs="*", help=f"Views to refresh (default all): {', '.join(VIEW_NAMES)}"
        )

    def handle(self, *args, views, **options):
        unknown = [v for v in views if v not in VIEW_NAMES]
        if unknown:
            raise CommandError(
                f"Unknown view(s) {', '.join(unknown)}. Known: {', '.join(VIEW_NAMES)}"
            )
        for result in refresh_views(views or None, bump_all=True):
            if result.get("skipped"):
                self.stdout.write(f"{result['view']}: skipped (another refresh is running)")
            else:
                mode = "concurrently" if result["concurrently"] else "first population"
                self.stdout.write(f"{result['view']}: {result['ms']} ms ({mode})")
