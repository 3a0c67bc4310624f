"""Target edits add their own annotations (docs/annotations.md, "Sources"). This app sits above
targets in the layers, so it listens to their saves instead of targets calling up."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from annotations.actions import note_target_change
from targets.models import Target


@receiver(post_save, sender=Target, dispatch_uid="annotations-target-saved")
def target_saved(sender, instance: Target, created: bool, raw: bool = False, **kwargs) -> None:
    if not raw:
        note_target_change(instance, created=created)


@receiver(post_delete, sender=Target, dispatch_uid="annotations-target-deleted")
def target_deleted(sender, instance: Target, **kwargs) -> None:
    note_target_change(instance, deleted=True)
