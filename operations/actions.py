"""Writes to the operational records that people make from the dashboard.

Each action opens a transaction, locks the row before reading it, returns early when nothing
changes, and records who did what (JobEvent). Writes go through the ORM's `save()`, so
metrics.signals marks the moved days and bumps the cache versions: a completed job moves the
technician's numbers and the organisation's at once.

Start and complete take an optional idempotency key, which the phone generates per action and
sends again when it retries one it queued offline. The key is kept on the action's JobEvent
(`details["key"]`), so a replay of the same key answers success and changes nothing, while a
different action meeting a job that moved meanwhile (completed or cancelled in the office) is a
conflict the technician is shown (docs/field.md).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from operations.models import InstallationJob, JobEvent, JobEventKind, JobStatus


class JobActionError(ValueError):
    """The job cannot move that way (already completed, cancelled…); the message says why."""


def _locked(job: InstallationJob) -> InstallationJob:
    return InstallationJob.objects.select_for_update().get(pk=job.pk)


def _replayed(job: InstallationJob, kind: str, key: str) -> bool:
    """Whether the action with this idempotency key was already applied to the job."""
    return bool(key) and job.events.filter(kind=kind, details__key=key).exists()


def _details(key: str, **values) -> dict:
    return {**values, "key": key} if key else values


def do_start_job(job: InstallationJob, *, acting_user, now=None, key: str = "") -> InstallationJob:
    """Mark a scheduled job in progress. Starting a job already in progress, or replaying the
    start with the same `key` whatever happened since, changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        job = _locked(job)
        if job.status == JobStatus.IN_PROGRESS or _replayed(job, JobEventKind.STARTED, key):
            return job
        if job.status != JobStatus.SCHEDULED:
            raise JobActionError(f"This job is {job.get_status_display().lower()}; it cannot start")
        job.status = JobStatus.IN_PROGRESS
        job.started_at = now
        job.save(update_fields=["status", "started_at"])
        JobEvent.objects.create(
            organization_id=job.organization_id,
            job=job,
            actor=acting_user,
            kind=JobEventKind.STARTED,
            at=now,
            details=_details(key),
        )
    return job


def do_complete_job(
    job: InstallationJob,
    *,
    acting_user,
    kwh: Decimal,
    labor_hours: Decimal,
    now=None,
    key: str = "",
) -> InstallationJob:
    """Mark a started job completed with the kWh installed and the labour hours it took; a job
    not yet started is refused (JobActionError): start first.

    Replaying the completion with the same `key` changes nothing. Without a key, a job already
    completed changes nothing; with another key it is a conflict (JobActionError), since the
    technician's figures would otherwise be silently dropped."""
    now = now or timezone.now()
    with transaction.atomic():
        job = _locked(job)
        if _replayed(job, JobEventKind.COMPLETED, key):
            return job
        if job.status == JobStatus.COMPLETED and not key:
            return job
        if job.status == JobStatus.COMPLETED:
            raise JobActionError("This job was already completed; your figures were not recorded")
        if not job.is_open:
            raise JobActionError(
                f"This job is {job.get_status_display().lower()}; it cannot be completed"
            )
        if job.status == JobStatus.SCHEDULED:
            # The product rule is Start first (README, "Personal dashboard and the technician's
            # field view"): the start records when the work began.
            raise JobActionError("This job has not been started: start it first, then complete it")
        job.status = JobStatus.COMPLETED
        job.started_at = job.started_at or now
        job.completed_at = now
        job.kwh = kwh
        job.labor_hours = labor_hours
        job.save(update_fields=["status", "started_at", "completed_at", "kwh", "labor_hours"])
        JobEvent.objects.create(
            organization_id=job.organization_id,
            job=job,
            actor=acting_user,
            kind=JobEventKind.COMPLETED,
            at=now,
            details=_details(key, kwh=str(kwh), labor_hours=str(labor_hours)),
        )
    return job
