"""Screens for scheduled reports (admins only): list, create/edit, preview, send now, history,
and the public one-click unsubscribe endpoint.

Every report is loaded from the user's organisation (accounts.tenancy), so another
organisation's id is a 404; other roles get a 403 (accounts.permissions).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core import signing
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import reports_manager_required
from accounts.tenancy import get_for_user_or_404
from infra.ratelimit import rate_limited
from metrics.periods import BOUNDS_TEXT, in_bounds
from presentation.wording import clock, exact_time
from reports import actions
from reports.content import build_content, report_widgets
from reports.forms import COMMON_TIMEZONES, ReportForm, next_sends_for
from reports.mail import read_unsubscribe_token
from reports.models import ReportRun, ScheduledReport
from reports.render import RenderError, pdf_filename, render_html, render_pdf
from reports.schedule import local_instant, next_slots

HISTORY_LIMIT = 100


def _report(request, pk) -> ScheduledReport:
    return get_for_user_or_404(
        ScheduledReport.objects.select_related("organization", "owner"), request.user, pk=pk
    )


def _local(instant: dt.datetime | None, report: ScheduledReport) -> str:
    if instant is None:
        return "—"
    return exact_time(instant, report.tz, zone=True)


def _schedule_text(report: ScheduledReport) -> str:
    at = clock(report.send_time)
    if report.cadence == "weekly":
        return f"Weekly on {report.get_weekday_display()} at {at}"
    if report.cadence == "monthly":
        return f"Monthly on day {report.month_day} at {at}"
    return f"Daily at {at}"


@reports_manager_required
def report_list(request):
    now = timezone.now()
    latest = ReportRun.objects.filter(report=OuterRef("pk")).order_by("-slot")
    reports = list(
        ScheduledReport.objects.for_user(request.user)
        .select_related("organization", "owner")
        .annotate(
            last_slot=Subquery(latest.values("slot")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
        )
    )
    rows = []
    for report in reports:
        upcoming = next_slots(report, now, 1) if report.active else []
        rows.append(
            {
                "report": report,
                "schedule": _schedule_text(report),
                "next": _local(upcoming[0], report) if upcoming else "Paused",
                "last_status": report.last_status,
                "last_when": _local(report.last_slot, report) if report.last_slot else "",
                "recipients": len(report.recipients),
            }
        )
    return TemplateResponse(request, "reports/report_list.html", {"rows": rows})


def _form_context(form: ReportForm, report: ScheduledReport | None, title: str) -> dict:
    return {
        "form": form,
        "report": report,
        "title": title,
        "next_sends": form.next_sends(timezone.now()),
        "timezones": COMMON_TIMEZONES,
    }


@reports_manager_required
@require_http_methods(["GET", "POST"])
def report_create(request):
    organization = request.user.organization
    form = ReportForm(
        request.POST or None,
        organization=organization,
        instance=ScheduledReport(organization=organization),
        initial={
            "owner": request.user.pk,
            "recipients": [request.user.email],
            "cadence": "weekly",
            "weekday": 0,
            "send_time": dt.time(8, 0),
            "range_preset": "last_7_days",
            "compare": "previous_period",
        },
    )
    if request.method == "POST" and form.is_valid():
        report = actions.do_create_report(organization, **_fields(form))
        messages.success(request, f"Scheduled “{report.name}”.")
        return redirect("reports-detail", pk=report.pk)
    return TemplateResponse(
        request, "reports/report_form.html", _form_context(form, None, "New scheduled report")
    )


def _fields(form: ReportForm) -> dict:
    return {name: form.cleaned_data.get(name) for name in ReportForm.Meta.fields}


@reports_manager_required
@require_http_methods(["GET", "POST"])
def report_edit(request, pk):
    report = _report(request, pk)
    form = ReportForm(request.POST or None, organization=report.organization, instance=report)
    if request.method == "POST" and form.is_valid():
        actions.do_update_report(ScheduledReport.objects.get(pk=report.pk), **_fields(form))
        messages.success(request, f"Saved “{form.cleaned_data['name']}”.")
        return redirect("reports-detail", pk=report.pk)
    return TemplateResponse(
        request, "reports/report_form.html", _form_context(form, report, f"Edit {report.name}")
    )


@reports_manager_required
def schedule_preview(request):
    """The next three send times for the form's current values (htmx fragment)."""
    report = ScheduledReport(organization=request.user.organization)
    sends = next_sends_for(request.GET, report, timezone.now())
    return TemplateResponse(request, "reports/_next_sends.html", {"next_sends": sends})


@reports_manager_required
def report_detail(request, pk):
    """The report's settings and its run history."""
    report = _report(request, pk)
    runs = list(report.runs.all()[:HISTORY_LIMIT])
    now = timezone.now()
    history = [
        {
            "run": run,
            "slot": _local(run.slot, report),
            "duration": (
                f"{run.duration.total_seconds():.1f} s" if run.duration is not None else "—"
            ),
        }
        for run in runs
    ]
    widgets = report_widgets(report)
    context = {
        "report": report,
        "schedule": _schedule_text(report),
        "history": history,
        "next_sends": [_local(s, report) for s in next_slots(report, now, 3)]
        if report.active
        else [],
        "widget_count": len(widgets),
        "today": now.astimezone(report.tz).date(),
    }
    return TemplateResponse(request, "reports/report_detail.html", context)


def _preview_at(request, report) -> tuple[dt.datetime, dt.date] | HttpResponse:
    """The instant a preview shows: the send time on ?date=YYYY-MM-DD (default today)."""
    raw = request.GET.get("date") or ""
    today = timezone.now().astimezone(report.tz).date()
    try:
        day = dt.date.fromisoformat(raw) if raw else today
    except ValueError:
        return HttpResponseBadRequest(
            f"'date' must be a date as YYYY-MM-DD, got {raw[:40]!r}", content_type="text/plain"
        )
    if not in_bounds(day):
        return HttpResponseBadRequest(f"'date' must fall {BOUNDS_TEXT}", content_type="text/plain")
    at = local_instant(day, report.send_time, report.tz)
    return min(at, timezone.now()) if day == today else at, day


@reports_manager_required
@rate_limited("heavy", what="preview")
def report_preview(request, pk):
    """The report as it would be sent on a date, in the browser; nothing is sent."""
    report = _report(request, pk)
    picked = _preview_at(request, report)
    if isinstance(picked, HttpResponse):
        return picked
    at, day = picked
    content = build_content(report, at)
    pdf_url = reverse("reports-preview-pdf", args=[report.pk]) + f"?date={day.isoformat()}"
    html = render_html(
        content,
        preview=True,
        extra={
            "back_url": reverse("reports-detail", args=[report.pk]),
            "pdf_url": pdf_url,
            "preview_date": day,
        },
    )
    return HttpResponse(html)


@reports_manager_required
@rate_limited("heavy", what="PDF")
def report_preview_pdf(request, pk):
    report = _report(request, pk)
    picked = _preview_at(request, report)
    if isinstance(picked, HttpResponse):
        return picked
    at, _ = picked
    content = build_content(report, at)
    try:
        pdf = render_pdf(content)
    except RenderError as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(content)}"'
    return response


@reports_manager_required
@require_POST
@rate_limited("heavy", what="send")
def report_send_now(request, pk):
    report = _report(request, pk)
    if not report.recipients:
        messages.error(request, "This report has no recipients; add one before sending.")
        return redirect("reports-detail", pk=report.pk)
    run, created = actions.do_send_report_now(report)
    if created:
        messages.success(
            request, f"Sending “{report.name}” to {len(report.recipients)} recipient(s) now."
        )
    else:
        messages.info(request, "A send of this report is already on its way.")
    return redirect("reports-detail", pk=report.pk)


@reports_manager_required
@require_POST
def report_toggle(request, pk):
    report = _report(request, pk)
    report = actions.do_set_report_active(report, not report.active)
    messages.success(request, f"{'Resumed' if report.active else 'Paused'} “{report.name}”.")
    target = request.POST.get("next")
    if target == "list":
        return redirect("reports-list")
    return redirect("reports-detail", pk=report.pk)


@reports_manager_required
def run_pdf(request, pk, run_pk):
    report = _report(request, pk)
    run = ReportRun.objects.filter(report=report, pk=run_pk).first()
    if run is None or not run.pdf:
        raise Http404("No stored PDF for this run")
    try:
        handle = run.pdf.open("rb")
    except FileNotFoundError:
        raise Http404("The stored PDF is missing") from None
    return FileResponse(
        handle, content_type="application/pdf", filename=run.pdf.name.rpartition("/")[2]
    )


@csrf_exempt  # RFC 8058: mail providers POST the one-click link with no session or token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET shows a confirmation button (link scanners must not unsubscribe anyone); POST
    removes that one address. No login needed: the signed token is the authority."""
    try:
        report_id, address = read_unsubscribe_token(token)
    except signing.SignatureExpired:
        context = {"invalid": True, "expired": True}
        return TemplateResponse(request, "reports/unsubscribe.html", context, status=400)
    except signing.BadSignature:
        return TemplateResponse(request, "reports/unsubscribe.html", {"invalid": True}, status=400)
    report = ScheduledReport.objects.filter(pk=report_id).first()
    context = {"report": report, "address": address, "done": False}
    if request.method == "POST" and report is not None:
        actions.do_unsubscribe(report_id, address)
        context["done"] = True
    return TemplateResponse(request, "reports/unsubscribe.html", context)
