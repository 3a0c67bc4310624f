"""The reconciliation of orders with Xero: the page `/dashboard/reconciliation/`, its notes,
the Xero connection, and `GET /api/dashboard/reconciliation` (docs/xero.md, "Reconciliation").

Every figure is a metric of the metric layer (revenue, and the ledger's invoiced_revenue,
revenue_gap, cash_collected, unbilled_revenue), so the page, the API, the cards and the PDFs
read the same number; the exceptions and matches are the xero app's (xero.queries). Admins
only (accounts.permissions.can_reconcile); everything is the user's organisation's.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import can_reconcile, reconciler_required
from dashboard.api import _error, api_login_required
from metrics.periods import PRESETS, InvalidPeriod, parse_state, range_label
from metrics.queries import get_metrics
from presentation.wording import exact_time, time_ago
from xero import actions, queries
from xero.client import XeroError, configured
from xero.models import ExceptionKind, XeroException

FIGURES = ("revenue", "invoiced_revenue", "revenue_gap", "cash_collected", "unbilled_revenue")
AGE_BANDS = ((0, 30, "0–30 days"), (31, 60, "31–60 days"), (61, 90, "61–90 days"))
ROWS_PER_KIND = 100
RANGE_CHOICES = ("this_month", "last_month", "this_quarter", "last_quarter", "this_financial_year")
MAX_NOTE = 2000
DEFAULT_RANGE = "this_financial_year"
# The page's cards: (key of `figures`, label, note).
FIGURE_CARDS = (
    ("orders_revenue", "Orders revenue", ""),
    ("invoiced_revenue", "Invoiced in Xero", ""),
    ("gap", "Gap", "orders less invoices, ex GST"),
    ("matched", "Matched orders", ""),
    ("unbilled_revenue", "Unbilled", "fulfilled, no invoice"),
    ("cash_collected", "Cash collected", "incl. GST"),
)


def _state(request):
    """The range (default: this financial year), never compared; raises InvalidPeriod."""
    params = request.GET.copy()
    if "from" not in params and "to" not in params:
        params.setdefault("range", DEFAULT_RANGE)
    params["compare"] = "none"
    return parse_state(params, request.user.organization)


def figures(organization, state) -> dict:
    """The reconciliation's numbers for the range: money in cents, counts as integers."""
    values = get_metrics(organization, state, list(FIGURES))["metrics"]
    start_at, end_at = state.range.start_at, state.range.end_at
    return {
        "orders_revenue": values["revenue"]["value"],
        "invoiced_revenue": values["invoiced_revenue"]["value"],
        "gap": values["revenue_gap"]["value"],
        "cash_collected": values["cash_collected"]["value"],
        "unbilled_revenue": values["unbilled_revenue"]["value"],
        "matched": queries.matched_orders(organization, start_at, end_at),
        "exceptions": queries.exception_counts(organization, start_at, end_at),
    }


def _sync_status(organization, now: dt.datetime) -> dict:
    last, last_ok = queries.last_runs(organization)
    conn = queries.connection_of(organization)
    return {
        "configured": configured(),
        "connected": conn is not None,
        "tenant": conn.tenant_name if conn else "",
        "last_ok_at": last_ok.finished_at if last_ok else None,
        "ago": time_ago(last_ok.finished_at, now) if last_ok and last_ok.finished_at else None,
        "failed": last if last is not None and last.status == "failed" else None,
        "failed_ago": time_ago(last.started_at, now) if last else None,
    }


def _age_days(since: dt.datetime, now: dt.datetime) -> int:
    return max(0, (now - since).days)


def _band(days: int) -> str:
    for low, high, label in AGE_BANDS:
        if low <= days <= high:
            return label
    return "Over 90 days"


def _rows(organization, state, now):
    """Each kind's exceptions (oldest first, at most ROWS_PER_KIND) with ageing and notes."""
    start_at, end_at = state.range.start_at, state.range.end_at
    counts = queries.exception_counts(organization, start_at, end_at)
    kinds = []
    for kind in ExceptionKind:
        items = list(queries.exceptions(organization, start_at, end_at, kind)[:ROWS_PER_KIND])
        bands: dict[str, int] = {}
        for item in items:
            item.age = _age_days(item.since, now)
            bands[_band(item.age)] = bands.get(_band(item.age), 0) + 1
        kinds.append(
            {
                "key": kind.value,
                "label": kind.label,
                "count": counts[kind.value],
                "items": items,
                "bands": [
                    (label, bands.get(label, 0))
                    for *_, label in (*AGE_BANDS, (0, 0, "Over 90 days"))
                ],
            }
        )
    notes = queries.notes_by_key(organization, [i.key for k in kinds for i in k["items"]])
    for kind in kinds:
        for item in kind["items"]:
            item.notes = notes.get(item.key, [])
            item.difference = item.order_cents - item.invoice_cents
            item.invoice_url = queries.invoice_url(item.invoice) if item.invoice else None
            item.order_url = (
                reverse("drill-metric", args=["revenue"])
                + "?"
                + urlencode({**state.params(), "q": item.order.number})
                if item.order
                else None
            )
    return kinds


@require_GET
@reconciler_required
def page(request):
    organization = request.user.organization
    try:
        state = _state(request)
    except InvalidPeriod as exc:
        return TemplateResponse(
            request, "dashboard/reconciliation.html", {"error": str(exc)}, status=400
        )
    now = timezone.now()
    numbers = figures(organization, state)
    context = {
        "state": state,
        "range_label": range_label(state),
        "ranges": [(key, PRESETS[key], state.preset == key) for key in RANGE_CHOICES],
        "numbers": numbers,
        "figure_cards": [(k, label, note, numbers[k]) for k, label, note in FIGURE_CARDS],
        "kinds": _rows(organization, state, now),
        "sync": _sync_status(organization, now),
        "synced_exact": exact_time(now, state.tz),
        "querystring": state.querystring(),
    }
    if context["sync"]["last_ok_at"]:
        context["synced_exact"] = exact_time(context["sync"]["last_ok_at"], state.tz)
    return TemplateResponse(request, "dashboard/reconciliation.html", context)


@require_POST
@reconciler_required
def add_note(request):
    organization = request.user.organization
    key = request.POST.get("key", "")[:80]
    text = request.POST.get("text", "").strip()
    back = reverse("dashboard-reconciliation") + "?" + request.POST.get("qs", "")[:300]
    if not text or len(text) > MAX_NOTE:
        if request.htmx:
            return JsonResponse({"error": f"A note is 1 to {MAX_NOTE} characters"}, status=400)
        messages.error(request, f"A note is 1 to {MAX_NOTE} characters.")
        return redirect(back)
    try:
        actions.do_add_note(organization, request.user, key, text)
    except XeroException.DoesNotExist:
        raise Http404("No such exception") from None
    if request.htmx:
        item = XeroException.objects.for_org(organization).get(key=key)
        item.notes = queries.notes_by_key(organization, [key]).get(key, [])
        return TemplateResponse(
            request,
            "dashboard/reconciliation.html#notes",
            {"item": item, "querystring": request.POST.get("qs", "")[:300]},
        )
    messages.success(request, "Note added.")
    return redirect(back)


@require_http_methods(["POST"])
@reconciler_required
def connect(request):
    if not configured():
        messages.error(
            request, "Xero is not configured: set XERO_CLIENT_ID and XERO_CLIENT_SECRET."
        )
        return redirect("dashboard-reconciliation")
    try:
        actions.do_connect_xero(request.user.organization, request.user)
    except XeroError as exc:
        messages.error(request, f"Xero did not connect: {exc}")
    else:
        messages.success(request, "Xero is connected. The next hourly sync fetches the books.")
    return redirect("dashboard-reconciliation")


@require_POST
@reconciler_required
def disconnect(request):
    if actions.do_disconnect_xero(request.user.organization, request.user):
        messages.success(request, "Xero is disconnected. Synced invoices stay until it reconnects.")
    return redirect("dashboard-reconciliation")


@require_GET
@api_login_required
def api(request):
    """`GET /api/dashboard/reconciliation?range=…|from=…&to=…` (docs/xero.md)."""
    if not can_reconcile(request.user):
        return _error("Only administrators can read the reconciliation", status=403)
    organization = request.user.organization
    try:
        state = _state(request)
    except InvalidPeriod as exc:
        return _error(str(exc))
    last, last_ok = queries.last_runs(organization)
    return JsonResponse(
        {
            "organization": organization.name,
            "range": {
                "from": state.range.start.isoformat(),
                "to": state.range.end.isoformat(),
                "to_date": state.to_date,
            },
            **figures(organization, state),
            "last_synced_at": last_ok.finished_at.isoformat()
            if last_ok and last_ok.finished_at
            else None,
            "last_sync_failed": bool(last and last.status == "failed"),
        }
    )
