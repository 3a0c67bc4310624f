"""`manage.py import_annotations --org ID FILE.csv`: a year of past events as annotations,
each bad row reported by its line (docs/annotations.md, "CSV import")."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from annotations.actions import do_import_csv


class Command(BaseCommand):
    help = "Import annotations from a CSV file (title,starts_at,ends_at,metric,dimension,note,tags)"

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--org", type=int, required=True, help="The organisation's id")

    def handle(self, *args, path: str, org: int, **options):
        organization = Organization.objects.filter(pk=org).first()
        if organization is None:
            raise CommandError(f"No organisation with id {org}")
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        result = do_import_csv(organization, text)
        for line, problem in result.errors:
            self.stderr.write(f"line {line}: {problem}")
        self.stdout.write(
            f"{organization.name}: {result.created} annotations added, "
            f"{len(result.errors)} rows skipped"
        )
        if result.errors and not result.created:
            raise CommandError("Nothing was imported")
