from django.core.management.base import BaseCommand, CommandError

from metrics.definitions import SUMMARY_TABLES
from metrics.refresh import refresh_summaries


class Command(BaseCommand):
    help = (
        "Rebuild the dashboard's daily summaries whole (the repair: after bulk loads that bypassed "
        "the ORM), or with --changes redo only the organisation days written since (as beat does)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "tables",
            nargs="*",
            help=f"Summaries to refresh (default all): {', '.join(SUMMARY_TABLES)}",
        )
        parser.add_argument(
            "--changes",
            action="store_true",
            help="Only the changed organisation days (incremental), not a full rebuild",
        )

    def handle(self, *args, tables, changes, **options):
        unknown = [v for v in tables if v not in SUMMARY_TABLES]
        if unknown:
            raise CommandError(
                f"Unknown summary table(s) {', '.join(unknown)}. Known: {', '.join(SUMMARY_TABLES)}"
            )
        for result in refresh_summaries(tables or None, incremental=changes, bump_all=not changes):
            if result.get("skipped"):
                self.stdout.write(f"{result['summary']}: skipped (another refresh is running)")
            elif result["mode"] == "full":
                self.stdout.write(
                    f"{result['summary']}: rebuilt, {result['rows']} rows in {result['ms']} ms"
                )
            else:
                self.stdout.write(
                    f"{result['summary']}: {result['days']} day(s) of {result['organizations']} "
                    f"organisation(s) in {result['ms']} ms"
                )
