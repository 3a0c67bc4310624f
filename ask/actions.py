"""Writes of the ask app: remembering a question a user asked (docs/ask.md)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ask.models import RECENT_KEPT, RecentQuestion


def do_record_question(user, text: str) -> None:
    """Keep `text` as the user's newest question (asking it again moves it up), and only the
    RECENT_KEPT newest."""
    with transaction.atomic():
        RecentQuestion.objects.update_or_create(
            organization_id=user.organization_id,
            user=user,
            text=text,
            defaults={"asked_at": timezone.now()},
        )
        keep = (
            RecentQuestion.objects.filter(user=user)
            .order_by("-asked_at", "-pk")
            .values_list("pk", flat=True)[:RECENT_KEPT]
        )
        RecentQuestion.objects.filter(user=user).exclude(pk__in=list(keep)).delete()
