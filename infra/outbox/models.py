"""Work a write queued that the broker has not taken yet (docs/architecture.md, "Stalled
dependencies")."""

from __future__ import annotations

from django.db import models


class OutboxMessage(models.Model):
    """One Celery task call, written in the writer's transaction and deleted once published."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
