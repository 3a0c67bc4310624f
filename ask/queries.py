"""Reads of the ask app: a user's recent questions, newest first (docs/ask.md)."""

from __future__ import annotations

from ask.models import RECENT_KEPT, RecentQuestion


def recent_questions(user) -> list[str]:
    """The user's recent answered questions, newest first, from their organisation only."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        RecentQuestion.objects.for_user(user)
        .filter(user=user)
        .order_by("-asked_at", "-pk")
        .values_list("text", flat=True)[:RECENT_KEPT]
    )
