"""Drill-down screens: the records behind a metric, as a page, an htmx modal, or a download."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from accounts.models import User
from annotations.queries import in_range, when_words
from dashboard import export, export_jobs
from dashboard.drill import (
    PAGE_SIZE,
    InvalidDrill,
    bucket_label,
    header_cells,
    metric_summary,
    parse_drill,
    period_label,
    table_rows,
    user_may_drill,
)
from infra.numbers import parse_id
from infra.ratelimit import check_rate, too_many
from metrics.definitions import METRICS
from metrics.filters import FILTERS, owner_choices
from metrics.periods import InvalidPeriod, comparison_label, parse_state, range_label

TEMPLATE = "dashboard/drill.html"
RESULTS_TARGET = "drill-results"  # the id of the region the rows partial replaces


class SignedInHtmxRequest(HttpRequest):
    """For type checking only: the request these views get, behind login_required and with
    django-htmx's middleware."""

    htmx: HtmxDetails
    user: User


def _template(request: SignedInHtmxRequest) -> str:
    if request.htmx:
        return f"{TEMPLATE}#rows" if request.htmx.target == RESULTS_TARGET else f"{TEMPLATE}#modal"
    return TEMPLATE


def _standalone(request: SignedInHtmxRequest) -> bool:
    """True on the drill page itself (where list changes go into the URL), not in a modal."""
    if not request.htmx:
        return True
    try:
        return urlparse(request.htmx.current_url or "").path == request.path
    except ValueError:  # a header that is not a URL ("http://[") comes from no page of ours
        return False


def _back_url(request: SignedInHtmxRequest) -> str:
    try:
        return f"/dashboard/?{parse_state(request.GET, request.user.organization).querystring()}"
    except InvalidPeriod:
        return "/dashboard/"


def _problem(
    request: SignedInHtmxRequest, status: int, message: str, **context
) -> TemplateResponse:
    """The page (or modal) with a clear message instead of a list."""
    template = f"{TEMPLATE}#modal" if request.htmx else TEMPLATE
    context = {
        "error": message,
        "status": status,
        "back_url": _back_url(request),
        "standalone": _standalone(request),
        **context,
    }
    return TemplateResponse(request, template, context, status=status)


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def drill_metric(request: SignedInHtmxRequest, metric: str) -> HttpResponseBase:
    """The records behind one metric: ?<range and compare>[&bucket&interval][&stage|kind|status]
    [&period=comparison][&q][&sort][&page][&format=csv|xlsx]."""
    found = METRICS.get(metric)
    if found is None:
        return _problem(
            request, 404, f"Unknown metric {metric[:40]!r}. Accepted: {', '.join(METRICS)}"
        )
    user = request.user
    if not user_may_drill(user, found):
        return _problem(
            request,
            403,
            "Technicians can open the records behind their own jobs and activities only; "
            f"{found.label.lower()} is not one of them.",
            metric=found,
        )
    fmt = request.GET.get("format")
    if fmt is not None and fmt not in export.FORMATS:
        return _problem(
            request, 400, f"Unknown format {fmt[:20]!r}. Accepted: {', '.join(export.FORMATS)}"
        )
    if fmt is not None:
        refused = check_rate(request, "export", what="export")
        if refused is not None:
            return refused
    organization = user.organization
    try:
        drill = parse_drill(request.GET, organization, found)
    except (InvalidPeriod, InvalidDrill) as exc:
        return _problem(request, 400, str(exc), metric=found)
    base = drill.base_queryset(organization, user)
    summary = metric_summary(
        found,
        organization,
        user,
        base,
        drill.start_at,
        drill.end_at,
        drill.narrowing,
        drill.state.filters,
    )
    listed = drill.list_queryset(base)
    if fmt:
        cap = export.max_rows(fmt)
        if summary.count > cap:
            return _problem(
                request,
                400,
                f"This list has {summary.count:,} rows; a {fmt.upper()} export holds at most "
                f"{cap:,}. Narrow the date range or add a filter, then export again.",
                metric=found,
            )
        if summary.count > settings.EXPORT_SYNC_MAX_ROWS:
            # Too large for a web thread: a worker writes it (dashboard/export_jobs.py).
            job = export_jobs.queue_export(user, drill, fmt, summary.count)
            if job is None:
                return too_many(request, 60, "large export")
            return redirect("dashboard-export", pk=job.pk)
        lease = export_jobs.take_slot(user)
        if lease is None:
            return too_many(request, 10, "concurrent export")
        return export_jobs.respond(drill, listed, summary, fmt, lease)
    paginator = Paginator(listed, PAGE_SIZE)
    if not drill.q:
        # Tricky: without a search the list is exactly the summarised set; reuse its count.
        paginator.count = summary.count
    page = paginator.get_page(parse_id(request.GET.get("page")) or 1)
    path = reverse("drill-metric", args=[found.key])
    owners = dict(owner_choices(organization)) if drill.state.filters else {}

    def url(**overrides) -> str:
        return f"{path}?{drill.querystring(**overrides)}"

    context = {
        "metric": found,
        "drill": drill,
        "summary": summary,
        "page_obj": page,
        "rows": table_rows(drill, page.object_list, user),
        "headers": header_cells(drill, path),
        "matches": paginator.count if drill.q else None,
        "period_label": period_label(drill),
        "bucket_label": bucket_label(drill),
        "current_label": range_label(drill.state),
        "comparison_label": comparison_label(drill.state),
        "path": path,
        "back_url": f"/dashboard/?{drill.state.querystring()}",
        "current_url": url(period=None, page=None),
        "comparison_url": url(period="comparison", page=None),
        "csv_url": url(format="csv", page=None),
        "xlsx_url": url(format="xlsx", page=None),
        # Past the web's size bound the links open the "being prepared" page, not a download.
        "export_in_background": summary.count > settings.EXPORT_SYNC_MAX_ROWS,
        "clear_search_url": url(q=None),
        "clear_bucket_url": url(bucket=None, interval=None),
        "narrowing_links": [
            (name, value, url(**{name: None})) for name, value in drill.narrowing.items()
        ]
        + [
            (FILTERS[name].label, FILTERS[name].value_label(value, owners), url(**{name: None}))
            for name, value in drill.state.filters
            if name not in drill.narrowing
        ],
        "annotations": [
            {"title": n["title"], "when": when_words(n, organization.tz), "note": n["note"]}
            for n in in_range(
                organization, drill.start_at, drill.end_at, found.key, drill.state.filters
            )
        ],
        "search_params": drill.params(q=None),
        "results_target": RESULTS_TARGET,
        "standalone": _standalone(request),
    }
    if page.has_previous():
        context["previous_url"] = url(page=page.previous_page_number())
    if page.has_next():
        context["next_url"] = url(page=page.next_page_number())
    return TemplateResponse(request, _template(request), context)
