"""What the ask box remembers: each user's recent questions (docs/ask.md, "Recent questions"),
at most RECENT_KEPT per user, read only by their owner in their organisation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from accounts.tenancy import OrgQuerySet

MAX_QUESTION = 300  # characters: a longer question is refused (400) before it is read
RECENT_KEPT = 8


class RecentQuestion(models.Model):
    """A question a user asked that was answered, newest first; asking it again moves it up."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=MAX_QUESTION)
    asked_at = models.DateTimeField(default=timezone.now)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "text"], name="recent_question_once")
        ]
        indexes = [models.Index(fields=["organization", "user", "-asked_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.text[:40]}"
