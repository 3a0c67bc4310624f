"""The demo organisation for the `seed_demo_*` commands that follow `seed_demo`: one `--org`
option and one lookup, with one message when `seed_demo` has not run."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.models import Organization
from operations.seeding import DEMO_ORG_NAME


def add_org_argument(parser) -> None:
    parser.add_argument("--org", default=DEMO_ORG_NAME, help="Organisation name")


def demo_organization(name: str) -> Organization:
    """The (first) organisation of that name; a CommandError when there is none."""
    organization = Organization.objects.filter(name=name).order_by("pk").first()
    if organization is None:
        raise CommandError(f"No organisation named {name!r}; run `manage.py seed_demo` first")
    return organization
