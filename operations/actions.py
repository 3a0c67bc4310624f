"""Writes to the operational records that people make from the dashboard.

Each action opens a transaction, locks the row before reading it, returns early when nothing
changes, and records who did what (JobEvent). Writes go through the ORM's `save()`, so
metrics.signals marks the moved days and bumps the cache versions: a completed job moves the
technician's numbers and the organisation's at once.
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


def do_start_job(job: InstallationJob, *, acting_user, now=None) -> InstallationJob:
    """Mark a scheduled job in progress. Starting a job already in progress changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        job = _locked(job)
        if job.status == JobStatus.IN_PROGRESS:
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
        )
    return job


def do_complete_job(
    job: InstallationJob, *, acting_user, kwh: Decimal, labor_hours: Decimal, now=None
) -> InstallationJob:
    """Mark an open job completed with the kWh installed and the labour hours it took. A job
    already completed changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        job = _locked(job)
        if job.status == JobStatus.COMPLETED:
            return job
        if not job.is_open:
            raise JobActionError(
                f"This job is {job.get_status_display().lower()}; it cannot be completed"
            )
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
            details={"kwh": str(kwh), "labor_hours": str(labor_hours)},
        )
    return job
