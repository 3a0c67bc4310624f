"""The technician's field view: today's, overdue and tomorrow's jobs, then the week; a job
page; start and complete. Phone first, no charts library, readable offline (a service worker
caches the list and every job page it lists: static/js/field-sw.js, served at /dashboard/sw.js
so its scope covers /dashboard/). Start and Complete taken offline are queued on the phone and
sent later with idempotency keys; docs/field.md describes the whole path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from urllib.parse import quote_plus

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import may_work_job, require, uses_field_view
from accounts.tenancy import get_for_user_or_404
from dashboard.forms import CompleteJobForm, JobActionForm
from metrics.formatting import short
from metrics.periods import local_midnight
from metrics.scope import jobs_scope
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


def _job_context(
    request, job: InstallationJob, form=None, error: str | None = None, confirm: bool = False
) -> dict:
    tz = request.user.organization.tz
    items = list(
        OrderItem.objects.filter(organization_id=job.organization_id, order_id=job.order_id)
        .select_related("product")
        .order_by("id")
    )
    can_work = may_work_job(request.user, job)
    form = form or CompleteJobForm()
    technician = uses_field_view(request.user)
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
        # Start first: an unstarted job offers Start; its completion form stays hidden until
        # the job is started (static/js/field.js shows it after a start queued offline).
        "can_start": can_work and job.status == JobStatus.SCHEDULED,
        "can_complete": can_work and job.is_open,
        "form": form,
        "confirm": confirm,
        "confirm_kwh": short(form.cleaned_data["kwh"], "kwh") if confirm else "",
        "confirm_hours": short(form.cleaned_data["labor_hours"], "hours") if confirm else "",
        # A fresh key per page; field.js replaces it with one the phone generates.
        "action_key": uuid.uuid4().hex,
        "error": error,
        "as_of": timezone.now().astimezone(tz),
        "back_url": reverse("dashboard-field") if technician else reverse("dashboard-home"),
        "back_label": "My jobs" if technician else "Dashboard",
    }


def _wants_json(request) -> bool:
    """The phone's queue of actions taken offline asks for JSON; a form post gets a page."""
    return request.headers.get("Accept", "").startswith("application/json")


def _job_response(request, job, *, status: int, **context):
    return TemplateResponse(
        request, "dashboard/job.html", _job_context(request, job, **context), status=status
    )


def _conflict(request, job: InstallationJob, exc: JobActionError):
    """The job moved meanwhile (completed or cancelled in the office): say so, change nothing."""
    job.refresh_from_db()
    if _wants_json(request):
        return JsonResponse({"error": str(exc), "status": job.status}, status=409)
    return _job_response(request, job, status=409, error=str(exc))


def _done(request, job: InstallationJob, done: str):
    if _wants_json(request):
        return JsonResponse({"status": job.status, "job": job.pk})
    return HttpResponseRedirect(reverse("dashboard-job", args=[job.pk]) + f"?done={done}")


@login_required
@require_http_methods(["GET", "POST"])
def job_page(request, job_id: int):
    """The job page. Its completion form posts here, so a form with errors, and the
    confirmation step, are shown at the job's own address."""
    if request.method == "POST":
        return _complete(request, job_id)
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
    form = JobActionForm(request.POST)
    if not form.is_valid():
        message = form.errors["idempotency_key"][0]
        if _wants_json(request):
            return JsonResponse({"error": message}, status=400)
        return _job_response(request, job, status=400, error=message)
    try:
        job = do_start_job(job, acting_user=request.user, key=form.cleaned_data["idempotency_key"])
    except JobActionError as exc:
        return _conflict(request, job, exc)
    return _done(request, job, "started")


@login_required
@require_POST
def job_complete(request, job_id: int):
    """Completion posted to its own address (the offline queue, older pages)."""
    return _complete(request, job_id)


def _complete(request, job_id: int):
    """Validate the actual figures; without `confirm`, show them back for confirmation;
    with it, complete the job once (a replayed key answers success again)."""
    job = _workable(request, job_id)
    form = CompleteJobForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            errors = {
                name: [e["message"] for e in errs]
                for name, errs in form.errors.get_json_data().items()
            }
            return JsonResponse({"error": "Check the kWh and hours", "errors": errors}, status=400)
        return _job_response(request, job, status=400, form=form)
    if not form.cleaned_data["confirm"]:
        if _wants_json(request):
            return JsonResponse({"error": "Confirm the completion"}, status=400)
        return _job_response(request, job, status=200, form=form, confirm=True)
    try:
        job = do_complete_job(
            job,
            acting_user=request.user,
            kwh=form.cleaned_data["kwh"],
            labor_hours=form.cleaned_data["labor_hours"],
            key=form.cleaned_data["idempotency_key"],
        )
    except JobActionError as exc:
        return _conflict(request, job, exc)
    return _done(request, job, "completed")


@require_GET
def service_worker(request):
    """The field view's service worker, from /dashboard/ so it may control the field pages."""
    response = HttpResponse(
        SERVICE_WORKER.read_text(), content_type="application/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/dashboard/"
    response["Cache-Control"] = "no-cache"
    return response
