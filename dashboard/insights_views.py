"""The insights page, /dashboard/insights/: every finding of the period as the user sees it (their
scope, the dashboard's filters), ranked by severity and money at stake, each with its chart and
its drill link, and the user's "Dismiss" / "Not useful" marks and "Show again".

One template, dashboard/insights.html; htmx posts get its #insights-list partial, plain form
posts a redirect back to the page. The URL carries the dashboard's state (range, comparison,
filters), so the page and the dashboard link to each other in the same state.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.views import _filter_bar, _is_partial, _state
from insights.actions import do_dismiss_finding, do_restore_finding
from insights.models import DismissedFinding
from insights.queries import dismissed_marks, findings_for, get_insights
from metrics.filters import InvalidFilter
from metrics.periods import InvalidPeriod, comparison_label, comparison_name, range_label
from presentation.widgets.insights import finding_chart, finding_view

TEMPLATE = "dashboard/insights.html"
REASON_WORDS = dict(DismissedFinding.REASONS)


def _page_url(state, *, hidden: bool = False) -> str:
    extra = {"hidden": "1"} if hidden else {}
    return reverse("dashboard-insights") + "?" + state.querystring(**extra)


def _context(request, state, *, hidden: bool) -> dict:
    organization = request.user.organization
    result = get_insights(organization, state, request.user)
    if hidden:
        marks = dismissed_marks(request.user)
        hidden_findings = findings_for(organization, request.user, state, hidden=True)
        shown = [(f, REASON_WORDS.get(marks[f.id], "")) for f in hidden_findings]
    else:
        shown = [(f, "") for f in result["findings"]]
    items = [
        {**finding_view(f), "chart": finding_chart(f), "reason": reason} for f, reason in shown
    ]
    return {
        "organization": organization,
        "state": state,
        "qs": state.querystring(),
        "range_text": range_label(state),
        "compare_name": comparison_name(state.compare),
        "comparison_text": comparison_label(state),
        "filter_bar": _filter_bar(request, state),
        "items": items,
        "hidden": hidden,
        "hidden_count": result["hidden"],
        "narrative": result["narrative"].text,
        "note": result["note"],
        "yours": result["scope"].owner is not None,
        "dashboard_url": reverse("dashboard-home") + "?" + state.querystring(),
        "page_url": _page_url(state),
        "hidden_url": _page_url(state, hidden=True),
        "hide_choices": [("dismissed", "Dismiss"), ("not_useful", "Not useful")],
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def insights_page(request):
    """Every finding of the period (or, with ?hidden=1, those the user hid)."""
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter) as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    hidden = request.GET.get("hidden") == "1"
    context = _context(request, state, hidden=hidden)
    template = f"{TEMPLATE}#insights_list" if _is_partial(request) else TEMPLATE
    return TemplateResponse(request, template, context)


def _mark(request, change) -> HttpResponse:
    """Apply `change(user, finding_id)` to a finding the user can see in this state (or has
    hidden); any other id, another organisation's included, is a 404."""
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter) as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    finding_id = request.POST.get("finding", "").strip()
    if not finding_id:
        return HttpResponse(
            "Say which finding: finding=<id>", status=400, content_type="text/plain; charset=utf-8"
        )
    hidden = request.GET.get("hidden") == "1"
    user, organization = request.user, request.user.organization
    known = {f.id for f in findings_for(organization, user, state)}
    known |= set(dismissed_marks(user))
    if finding_id not in known:
        raise Http404("No such finding in your insights")
    try:
        change(user, finding_id)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    if not _is_partial(request):
        return HttpResponseRedirect(_page_url(state, hidden=hidden))
    context = _context(request, state, hidden=hidden)
    return TemplateResponse(request, f"{TEMPLATE}#insights_list", context)


@login_required
@require_POST
def insight_hide(request):
    """ "Dismiss" (reason=dismissed) or "Not useful" (reason=not_useful) on a finding: hidden
    for this user, on the widget and this page, until they show it again."""
    reason = request.POST.get("reason") or DismissedFinding.DISMISSED
    if reason not in REASON_WORDS:
        return HttpResponse(
            "reason is dismissed or not_useful",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return _mark(request, lambda user, finding_id: do_dismiss_finding(user, finding_id, reason))


@login_required
@require_POST
def insight_show(request):
    """ "Show again": the finding is back on the widget and this page."""
    return _mark(request, do_restore_finding)
