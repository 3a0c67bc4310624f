"""The personal dashboard (/dashboard/me/) and its JSON (GET /api/dashboard/me).

Everyone's own numbers, from the same widget wrappers as the organisation dashboard, in their
own personal layout or their role's (dashboard.layouts), which they may edit like the
dashboard (add, move, remove, reset; viewers may not). The numbers are the metric layer's owner slice
(metrics.personal): days before today from the nightly table, today live. An admin may look at
anyone in their organisation with ?user=<id>; any other id is a 404.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import (
    can_save_layout,
    may_view_statistics_of,
    require,
    uses_field_view,
)
from dashboard import layouts
from dashboard.api import api_login_required
from infra.numbers import parse_id
from metrics.definitions import METRICS
from metrics.periods import parse_state
from metrics.personal import (
    PERIODS,
    InvalidPersonalQuery,
    parse_day,
    period_spans,
    personal_summary,
)
from presentation import widgets

log = logging.getLogger("renoz.dashboard")
TEMPLATE = "dashboard/me.html"


def _subject(request):
    """Whose numbers: the user's own, or (admins) a colleague's by ?user=<id>; else 404."""
    raw = request.GET.get("user")
    if not raw:
        return request.user
    subject = User.objects.filter(
        organization_id=request.user.organization_id, pk=parse_id(raw)
    ).first()
    if subject is None or not may_view_statistics_of(request.user, subject):
        raise Http404("No such person in your organisation")
    return subject


def _day_state(organization, day, now):
    """The metric layer's state for one local day (today: up to now)."""
    return parse_state(
        {"from": day.isoformat(), "to": day.isoformat(), "compare": "none"}, organization, now=now
    )


def _span_state(organization, day, period, now):
    """The organisation's state for the page's period (its first span, against the span before),
    for the cards that show the organisation's numbers."""
    first, last = period_spans(day, period)[0]
    return parse_state(
        {"from": first.isoformat(), "to": last.isoformat(), "compare": "previous_period"},
        organization,
        now=now,
    )


def _slots(layout, organization, subject, day, period, now) -> tuple[list[dict], object]:
    """Each widget of the page with its data (or the error it met), and the state the
    organisation-wide cards were read in."""
    state = _day_state(organization, day, now)
    span_state = _span_state(organization, day, period, now)
    keys = [w["settings"]["metric"] for w in layout if w["type"] == "personal_kpi"]
    kpi_widgets = [w for w in layout if w["type"] == "kpi"]
    kpis: dict[str, dict] = {}
    kpi_failure = None
    if kpi_widgets:
        try:
            kpis = widgets.build_kpis(kpi_widgets, organization, subject, span_state)
        except Exception:
            log.exception("personal page KPI cards failed")
            kpi_failure = "This number could not be loaded."
    slots = []
    for index, widget in enumerate(layout):
        spec = widgets.CATALOGUE[widget["type"]]
        data = failure = None
        if widget["type"] == "kpi":
            data, failure = kpis.get(widget["id"]), kpi_failure
        else:
            try:
                data = widgets.build_personal_widget(
                    widget, organization, subject, state, period, keys
                )
            except Exception:
                log.exception("personal widget %s failed", widget["type"])
                failure = "This widget could not be loaded."
        slots.append(
            {
                "id": widget["id"],
                "kind": spec.kind,
                "size": widget["size"],
                "title": spec.title_for(widget["settings"]),
                "data": data,
                "error": failure,
                "first": index == 0,
                "last": index == len(layout) - 1,
            }
        )
    return slots, span_state


@login_required
@require_GET
def me(request):
    organization = request.user.organization
    subject = _subject(request)
    now = timezone.now()
    period = request.GET.get("period") or "day"
    error = None
    try:
        if period not in PERIODS:
            raise InvalidPersonalQuery(
                f"Unknown period {period[:20]!r}. Accepted: {', '.join(PERIODS)}"
            )
        day = parse_day(request.GET.get("date"), organization, now=now)
    except InvalidPersonalQuery as exc:
        error, period, day = str(exc), "day", parse_day(None, organization, now=now)
    layout, own_layout = layouts.get_personal_layout(subject)
    own = subject.pk == request.user.pk
    editable = own and can_save_layout(request.user)
    editing = editable and request.GET.get("edit") == "1"
    slots, span_state = [], None
    if error is None:
        slots, span_state = _slots(layout, organization, subject, day, period, now)
    extra = f"&user={subject.pk}" if not own else ""
    context = {
        "organization": organization,
        "subject": subject,
        "own": own,
        "slots": slots,
        "state": span_state,
        "period": period,
        "periods": [
            {
                "value": value,
                "label": label,
                "url": f"{reverse('dashboard-me')}?period={value}{extra}",
                "current": value == period,
            }
            for value, label in PERIODS.items()
        ],
        "day": day,
        "now": now,
        "error": error,
        "field": uses_field_view(subject) and own,
        "editable": editable,
        "editing": editing,
        "own_layout": own_layout,
        "choices": layouts.personal_choices(request.user) if editing else [],
    }
    return TemplateResponse(request, TEMPLATE, context, status=400 if error else 200)


def _back_to_editing(request, message: str, *, error: bool = False):
    (messages.error if error else messages.success)(request, message)
    return HttpResponseRedirect(f"{reverse('dashboard-me')}?edit=1")


@require(can_save_layout)
@require_POST
def me_layout_add(request):
    """Add a widget to the user's own personal page (a number, the organisation's or their own,
    or a job list); bad input is a 400 with the reason."""
    value = request.POST.get("widget") or ""
    allowed = {v for _label, items in layouts.personal_choices(request.user) for v, _t in items}
    if value not in allowed:
        return HttpResponseBadRequest(
            "Choose a widget from the list of your page's widgets",
            content_type="text/plain; charset=utf-8",
        )
    widget_type, _, metric = value.partition(":")
    try:
        _layout, new = layouts.do_add_widget(
            request.user, widget_type, {"metric": metric} if metric else {}, page=layouts.ME
        )
    except layouts.LayoutError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    title = widgets.CATALOGUE[new["type"]].title_for(new["settings"])
    return _back_to_editing(request, f"Added {title} at the end")


@require(can_save_layout)
@require_POST
def me_layout_move(request, widget_id: str):
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest(
            "Move a widget up or down", content_type="text/plain; charset=utf-8"
        )
    try:
        layouts.do_move_widget(
            request.user, widget_id, -1 if direction == "up" else 1, page=layouts.ME
        )
    except LookupError:
        raise Http404("No such widget on your page") from None
    return _back_to_editing(request, f"Moved it {direction}")


@require(can_save_layout)
@require_POST
def me_layout_remove(request, widget_id: str):
    try:
        layouts.do_remove_widget(request.user, widget_id, page=layouts.ME)
    except LookupError:
        raise Http404("No such widget on your page") from None
    return _back_to_editing(request, "Removed it")


@require(can_save_layout)
@require_POST
def me_layout_reset(request):
    layouts.do_reset_layout(request.user, page=layouts.ME)
    return _back_to_editing(request, "Your page is back to its default layout")


@require_GET
@api_login_required
def me_api(request):
    """{"user", "date", "metrics": {key: {value, yesterday, last_week, last_month, change_pct,
    trend}}}: a person's numbers on a local day against the day before, the same weekday last
    week and the same day last month."""
    organization = request.user.organization
    try:
        subject = _subject(request)
    except Http404:
        return JsonResponse({"error": "No such person in your organisation"}, status=404)
    now = timezone.now()
    try:
        day = parse_day(request.GET.get("date"), organization, now=now)
    except InvalidPersonalQuery as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    metrics = personal_summary(organization, subject.pk, day, now=now)
    return JsonResponse(
        {
            "user": {
                "id": subject.pk,
                "name": subject.full_name or subject.email,
                "role": subject.role,
            },
            "date": day.isoformat(),
            "timezone": organization.timezone,
            "metrics": {
                key: {**entry, "unit": METRICS[key].unit} for key, entry in metrics.items()
            },
        }
    )
