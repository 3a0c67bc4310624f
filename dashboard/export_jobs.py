"""Exports bounded by cost (docs/architecture.md, "Exports bounded by cost").

- **Concurrency**: at most EXPORT_USER_CONCURRENCY exports running per user and
  EXPORT_ORG_CONCURRENCY per organisation, counted across processes by infra.semaphore (a
  Redis lease per running export, so a dead process frees its slot); past that, a 429.
- **Time**: every export reads inside its own transaction with `SET LOCAL statement_timeout`
  (EXPORT_STATEMENT_TIMEOUT_MS on the web, EXPORT_JOB_STATEMENT_TIMEOUT_MS in the worker).
- **Size**: past EXPORT_SYNC_MAX_ROWS rows (the drill total, already counted for the header),
  the web thread writes nothing: an `ExportJob` is queued (through the outbox, so a broker
  that is away loses nothing), a worker writes the file to default storage and mails the user,
  and the user's own page shows "being prepared", then the download link. A user has at most
  EXPORT_USER_CONCURRENCY such jobs waiting or running.
- **Retention**: a written file is kept EXPORT_RETENTION_HOURS after it was written, then
  `purge_expired` (beat, hourly) deletes it from storage; the job's page then says the file
  has expired and links back to the records to export again.
- **Scope**: the worker replays the drill-down for the job's user with the same code as the
  page (dashboard.drill, metrics.scope), so a technician's file holds their rows only; only
  that user, in that organisation, may open the job or its file.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.http import FileResponse, QueryDict, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from dashboard import export
from dashboard.drill import DrillRequest, metric_summary, parse_drill
from dashboard.models import ExportJob, ExportStatus
from infra.outbox.queue import enqueue
from infra.semaphore import Lease, acquire
from metrics.definitions import METRICS

log = logging.getLogger("renoz.dashboard.exports")
STALE_CLAIM = dt.timedelta(minutes=30)  # a job "working" this long was lost with its worker


def take_slot(user) -> Lease | None:
    """A running-export slot for this user and their organisation, or None when either is
    full."""
    return acquire(
        {
            f"export:user:{user.pk}": settings.EXPORT_USER_CONCURRENCY,
            f"export:org:{user.organization_id}": settings.EXPORT_ORG_CONCURRENCY,
        },
        lease=settings.EXPORT_LEASE_SECONDS,
    )


@contextmanager
def bounded(statement_timeout_ms: int):
    """A transaction whose statements PostgreSQL cuts after `statement_timeout_ms`."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = %s", [statement_timeout_ms])
        yield


def respond(
    drill: DrillRequest, listed, summary, fmt: str, lease: Lease
) -> StreamingHttpResponse | FileResponse:
    """The export as a download from this thread, within the web's statement timeout; the
    slot is given back when the last byte is sent (or the client goes away)."""
    limit = settings.EXPORT_STATEMENT_TIMEOUT_MS
    if fmt == "csv":

        def lines() -> Generator[str]:
            with bounded(limit):
                yield from export.csv_lines(drill, listed)

        return export.csv_response(drill, _Releasing(lines(), lease))
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    try:
        with bounded(limit):
            export.write_xlsx(drill, listed, summary, spool)
    finally:
        lease.release()
    spool.seek(0)
    return export.xlsx_response(drill, spool)


class _Releasing:
    """Lines that give the slot back when Django closes the response: after the last byte, or
    when the client went away, even before the first line was read."""

    def __init__(self, lines: Generator[str], lease: Lease):
        self.lines, self.lease = lines, lease

    def __iter__(self) -> Iterator[str]:
        return self.lines

    def close(self) -> None:
        try:
            self.lines.close()
        finally:
            self.lease.release()


def waiting_jobs(user) -> int:
    return (
        ExportJob.objects.for_user(user)
        .filter(user=user, status__in=[ExportStatus.PENDING, ExportStatus.WORKING])
        .count()
    )


def queue_export(user, drill: DrillRequest, fmt: str, rows: int) -> ExportJob | None:
    """Queue a background export of this drill-down for `user`, or None when they already
    have EXPORT_USER_CONCURRENCY waiting or running."""
    with transaction.atomic():
        if waiting_jobs(user) >= settings.EXPORT_USER_CONCURRENCY:
            return None
        job = ExportJob.objects.create(
            organization_id=user.organization_id,
            user=user,
            metric=drill.metric.key,
            params=drill.querystring(page=None),
            fmt=fmt,
            rows=rows,
            filename=export.filename(drill, fmt),
        )
        enqueue("dashboard.tasks.build_export", job.pk)
    return job


def get_job(user, pk: int) -> ExportJob | None:
    """The user's own export job in their organisation (None for anyone else's)."""
    return ExportJob.objects.for_user(user).filter(user=user, pk=pk).first()


def _claim(job_id: int) -> ExportJob | None:
    now = timezone.now()
    taken = (
        ExportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ExportStatus.PENDING)
            | Q(status=ExportStatus.WORKING, claimed_at__lt=now - STALE_CLAIM)
        )
        .update(status=ExportStatus.WORKING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not taken:
        return None
    return ExportJob.objects.select_related("user", "organization").get(pk=job_id)


def build(job_id: int) -> str:
    """Write one job's file to storage and mail its user (idempotent: a job already taken,
    ready or failed is skipped). Returns what happened."""
    job = _claim(job_id)
    if job is None:
        return "skipped"
    user, organization = job.user, job.organization
    try:
        metric = METRICS[job.metric]
        # The drill-down as the user asked for it, at the moment they asked.
        drill = parse_drill(QueryDict(job.params), organization, metric, now=job.created_at)
        base = drill.base_queryset(organization, user)
        with tempfile.TemporaryFile() as out:
            with bounded(settings.EXPORT_JOB_STATEMENT_TIMEOUT_MS):
                summary = metric_summary(
                    metric,
                    organization,
                    user,
                    base,
                    drill.start_at,
                    drill.end_at,
                    drill.narrowing,
                    drill.state.filters,
                )
                if summary.count > export.max_rows(job.fmt):
                    raise ValueError(
                        f"{summary.count:,} rows; a {job.fmt.upper()} export holds at most "
                        f"{export.max_rows(job.fmt):,}"
                    )
                export.write_file(drill, drill.list_queryset(base), summary, job.fmt, out)
            out.seek(0)
            name = default_storage.save(
                f"exports/{organization.pk}/{job.pk}/{job.filename}", File(out)
            )
    except Exception as exc:  # noqa: BLE001 - the user sees the failure on the job's page
        log.warning("export %s failed: %s", job.pk, exc)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        return "failed"
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.READY, file=name, rows=summary.count, finished_at=timezone.now()
    )
    _mail_ready(job, summary.count)
    return "ready"


def expires_at(job: ExportJob) -> dt.datetime | None:
    """When a written file is deleted (None while nothing is written)."""
    if job.finished_at is None:
        return None
    return job.finished_at + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS)


def purge_expired(now: dt.datetime | None = None) -> int:
    """Delete the files written more than EXPORT_RETENTION_HOURS ago; their jobs stay, with no
    file, so their pages say the export has expired. Returns how many files were deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    expired = ExportJob.objects.filter(status=ExportStatus.READY, finished_at__lt=cutoff).exclude(
        file=""
    )
    purged = 0
    for job in expired.only("pk", "file"):
        name = str(job.file.name)
        try:
            default_storage.delete(name)
        except OSError as exc:  # the next run tries again
            log.warning("export %s: could not delete %s: %s", job.pk, name, exc)
            continue
        ExportJob.objects.filter(pk=job.pk).update(file="")
        purged += 1
    return purged


def _mail_ready(job: ExportJob, rows: int) -> None:
    link = settings.SITE_URL + reverse("dashboard-export", args=[job.pk])
    try:
        send_mail(
            f"Your export is ready: {job.filename}",
            f"Your {job.fmt.upper()} export ({rows:,} rows) is ready to download:\n{link}\n\n"
            "The link works only when you are signed in, for "
            f"{settings.EXPORT_RETENTION_HOURS} hours.",
            None,
            [job.user.email],
        )
    except Exception as exc:  # noqa: BLE001 - the file is ready; the page says so too
        log.warning("export %s: could not mail %s: %s", job.pk, job.user.email, exc)
