"""Writes of the ask app: remembering a question a user asked in the box (docs/ask.md)."""

from __future__ import annotations

from django.utils import timezone

from ask.models import RECENT_KEPT, RecentQuestion


def do_record_question(user, text: str) -> None:
    """Keep `text` as the user's newest question (asking it again moves it up), and only the
    RECENT_KEPT newest: one upsert and one trim, no transaction to wait on."""
    RecentQuestion.objects.bulk_create(
        [
            RecentQuestion(
                organization_id=user.organization_id,
                user=user,
                text=text,
                asked_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["user", "text"],
        update_fields=["asked_at"],
    )
    newest = RecentQuestion.objects.filter(user=user).order_by("-asked_at", "-pk")
    RecentQuestion.objects.filter(user=user).exclude(
        pk__in=newest.values("pk")[:RECENT_KEPT]
    ).delete()
