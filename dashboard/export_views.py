"""A large export's own page ("being prepared", then the download) and its download.

Only the user who asked, in their organisation, finds either; anyone else gets a 404
(dashboard/export_jobs.py, `get_job`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from dashboard.export_jobs import expires_at, get_job
from dashboard.models import ExportStatus
from metrics.definitions import METRICS


@require_GET
@login_required
def export_status(request, pk: int):
    job = get_job(request.user, pk)
    if job is None:
        raise Http404("No such export")
    template = "dashboard/export.html#status" if request.htmx else "dashboard/export.html"
    context = {
        "job": job,
        "metric": METRICS.get(job.metric),
        "waiting": job.status in (ExportStatus.PENDING, ExportStatus.WORKING),
        "expires_at": expires_at(job),
    }
    return TemplateResponse(request, template, context)


@require_GET
@login_required
def export_download(request, pk: int):
    job = get_job(request.user, pk)
    if job is None or job.status != ExportStatus.READY or not job.file:
        raise Http404("No such export, or it is not ready yet")
    return FileResponse(
        default_storage.open(str(job.file.name), "rb"), as_attachment=True, filename=job.filename
    )
