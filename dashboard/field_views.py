"""The technician's field view: today's, overdue and tomorrow's jobs, then the week; a job
page; start and complete. Phone first, no charts library, readable offline (a service worker
caches the last list and job pages: static/js/field-sw.js, served at /dashboard/sw.js so its
scope covers /dashboard/).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote_plus

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import jobs_scope, may_work_job, require, uses_field_view
from accounts.tenancy import get_for_user_or_404
from dashboard.forms import CompleteJobForm
from metrics.formatting import short
from metrics.periods import local_midnight
from operations.actions import JobActionError, do_complete_job, do_start_job
from operations.models import InstallationJob, JobStatus, OrderItem
from presentation.wording import clock, exact_time

WEEK_DAYS = 7
SERVICE_WORKER = Path(settings.BASE_DIR) / "static" / "js" / "field-sw.js"


def _card(job: InstallationJob, tz) -> dict:
    local = job.scheduled_for.astimezone(tz)
    return {
        "id": job.pk,
        "url": reverse("dashboard-job", args=[job.pk]),
        "customer": job.customer.name,
        "address": job.site_address,
        "status": job.status,
        "status_label": job.get_status_display(),
        "time": clock(local),
        "day": f"{local:%a %-d %b}",
        "iso": job.scheduled_for.isoformat(),
        "kwh": short(job.kwh, "kwh"),
    }


def field_sections(user, now: dt.datetime) -> list[dict]:
    """The technician's open jobs by when they are due: today (and anything in progress),
    overdue, tomorrow, and the rest of the week."""
    tz = user.organization.tz
    today = now.astimezone(tz).date()
    starts = {n: local_midnight(today + dt.timedelta(days=n), tz) for n in (0, 1, 2, WEEK_DAYS)}
    jobs = (
        jobs_scope(InstallationJob.objects.for_user(user), user)
        .filter(technician=user, scheduled_for__lt=starts[WEEK_DAYS])
        .exclude(status=JobStatus.CANCELLED)
        .exclude(status=JobStatus.COMPLETED, completed_at__lt=starts[0])
        .exclude(status=JobStatus.COMPLETED, scheduled_for__lt=starts[0])
        .select_related("customer")
        .order_by("scheduled_for", "id")
    )
    sections: dict[str, list] = {"today": [], "overdue": [], "tomorrow": [], "week": []}
    for job in jobs:
        if job.scheduled_for >= starts[2]:
            sections["week"].append(job)
        elif job.scheduled_for >= starts[1]:
            sections["tomorrow"].append(job)
        elif job.scheduled_for >= starts[0] or job.status == JobStatus.IN_PROGRESS:
            sections["today"].append(job)
        elif job.status == JobStatus.SCHEDULED:
            sections["overdue"].append(job)
    titles = {
        "today": ("Today", "Nothing scheduled today."),
        "overdue": ("Overdue", "Nothing overdue."),
        "tomorrow": ("Tomorrow", "Nothing scheduled tomorrow."),
        "week": ("Later this week", "Nothing else this week."),
    }
    return [
        {
            "key": key,
            "title": titles[key][0],
            "empty": titles[key][1],
            "jobs": [_card(job, tz) for job in sections[key]],
        }
        for key in ("today", "overdue", "tomorrow", "week")
    ]


@require(uses_field_view, "The field view is for technicians")
@require_GET
def field(request):
    now = timezone.now()
    tz = request.user.organization.tz
    sections = field_sections(request.user, now)
    context = {
        "sections": sections,
        "as_of": now.astimezone(tz),
        "today": now.astimezone(tz).date(),
        "open_count": sum(len(s["jobs"]) for s in sections if s["key"] != "week"),
    }
    return TemplateResponse(request, "dashboard/field.html", context)


def _job_or_404(request, job_id: int) -> InstallationJob:
    """A job the user may see, from their organisation; anyone else's is a 404."""
    qs = jobs_scope(InstallationJob.objects.all(), request.user).select_related(
        "customer", "order", "technician"
    )
    return get_for_user_or_404(qs, request.user, pk=job_id)


def _history(job: InstallationJob, tz) -> list[dict]:
    events = list(job.events.select_related("actor").order_by("at", "id"))
    recorded = {e.kind for e in events}
    rows: list[tuple[dt.datetime, str]] = [(job.created_at, "Job created")]
    if job.started_at and "started" not in recorded:
        rows.append((job.started_at, "Started"))
    if job.completed_at and "completed" not in recorded:
        rows.append((job.completed_at, "Completed"))
    if job.cancelled_at:
        rows.append((job.cancelled_at, "Cancelled"))
    for event in events:
        who = (event.actor.full_name or event.actor.email) if event.actor else "someone"
        text = f"{event.get_kind_display()} by {who}"
        if event.kind == "completed" and event.details:
            text += (
                f": {short(event.details.get('kwh'), 'kwh')}, "
                f"{short(event.details.get('labor_hours'), 'hours')}"
            )
        rows.append((event.at, text))
    rows.sort(key=lambda row: row[0])
    return [
        {
            "iso": at.isoformat(),
            "when": exact_time(at, tz),
            "text": text,
        }
        for at, text in rows
    ]


def _job_context(request, job: InstallationJob, form=None, error: str | None = None) -> dict:
    tz = request.user.organization.tz
    items = list(
        OrderItem.objects.filter(organization_id=job.organization_id, order_id=job.order_id)
        .select_related("product")
        .order_by("id")
    )
    can_work = may_work_job(request.user, job)
    is_open = job.status in (JobStatus.SCHEDULED, JobStatus.IN_PROGRESS)
    return {
        "job": job,
        "card": _card(job, tz),
        "items": [
            {
                "name": item.product.name,
                "sku": item.product.sku,
                "quantity": item.quantity,
                "kwh": short(item.kwh, "kwh") if item.kwh else "",
            }
            for item in items
        ],
        "total_kwh": short(job.kwh, "kwh"),
        "hours": short(job.labor_hours, "hours"),
        "map_url": (
            f"https://www.google.com/maps/search/?api=1&query={quote_plus(job.site_address)}"
            if job.site_address
            else ""
        ),
        "phone": job.customer.phone,
        "tel": "".join(ch for ch in job.customer.phone if ch.isdigit() or ch == "+"),
        "history": _history(job, tz),
        "can_start": can_work and job.status == JobStatus.SCHEDULED,
        "can_complete": can_work and is_open,
        "form": form or CompleteJobForm(initial={"kwh": job.kwh, "labor_hours": job.labor_hours}),
        "error": error,
        "as_of": timezone.now().astimezone(tz),
        "back_url": reverse("dashboard-field") if uses_field_view(request.user) else "/dashboard/",
    }


@login_required
@require_GET
def job_page(request, job_id: int):
    job = _job_or_404(request, job_id)
    return TemplateResponse(request, "dashboard/job.html", _job_context(request, job))


def _workable(request, job_id: int) -> InstallationJob:
    job = _job_or_404(request, job_id)
    if not may_work_job(request.user, job):
        raise PermissionDenied("Only the job's technician can start or complete it")
    return job


@login_required
@require_POST
def job_start(request, job_id: int):
    job = _workable(request, job_id)
    try:
        do_start_job(job, acting_user=request.user)
    except JobActionError as exc:
        context = _job_context(request, job, error=str(exc))
        return TemplateResponse(request, "dashboard/job.html", context, status=409)
    return HttpResponseRedirect(reverse("dashboard-job", args=[job.pk]) + "?done=started")


@login_required
@require_POST
def job_complete(request, job_id: int):
    job = _workable(request, job_id)
    form = CompleteJobForm(request.POST)
    if not form.is_valid():
        context = _job_context(request, job, form=form, error="Check the kWh and hours")
        return TemplateResponse(request, "dashboard/job.html", context, status=400)
    try:
        do_complete_job(
            job,
            acting_user=request.user,
            kwh=form.cleaned_data["kwh"],
            labor_hours=form.cleaned_data["labor_hours"],
        )
    except JobActionError as exc:
        context = _job_context(request, job, error=str(exc))
        return TemplateResponse(request, "dashboard/job.html", context, status=409)
    return HttpResponseRedirect(reverse("dashboard-job", args=[job.pk]) + "?done=completed")


@require_GET
def service_worker(request):
    """The field view's service worker, from /dashboard/ so it may control the field pages."""
    response = HttpResponse(
        SERVICE_WORKER.read_text(), content_type="application/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/dashboard/"
    response["Cache-Control"] = "no-cache"
    return response
