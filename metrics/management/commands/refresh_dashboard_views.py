from django.core.management.base import BaseCommand, CommandError

from metrics.definitions import VIEW_NAMES
from metrics.refresh import refresh_views


class Command(BaseCommand):
    help = (
        "Rebuild the dashboard's daily summaries whole (the repair: after bulk loads that bypassed "
        "the ORM), or with --changes redo only the organisation days written since (as beat does)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "views", nargs="*", help=f"Summaries to refresh (default all): {', '.join(VIEW_NAMES)}"
        )
        parser.add_argument(
            "--changes",
            action="store_true",
            help="Only the changed organisation days (incremental), not a full rebuild",
        )

    def handle(self, *args, views, changes, **options):
        unknown = [v for v in views if v not in VIEW_NAMES]
        if unknown:
            raise CommandError(
                f"Unknown view(s) {', '.join(unknown)}. Known: {', '.join(VIEW_NAMES)}"
            )
        for result in refresh_views(views or None, incremental=changes, bump_all=not changes):
            if result.get("skipped"):
                self.stdout.write(f"{result['view']}: skipped (another refresh is running)")
            elif result["mode"] == "full":
                self.stdout.write(
                    f"{result['view']}: rebuilt, {result['rows']} rows in {result['ms']} ms"
                )
            else:
                self.stdout.write(
                    f"{result['view']}: {result['days']} day(s) of {result['organizations']} "
                    f"organisation(s) in {result['ms']} ms"
                )
