"""The personal dashboard (/dashboard/me/) and its JSON (GET /api/dashboard/me).

Everyone's own numbers, from the same widget wrappers as the organisation dashboard, in their
role's personal layout (dashboard.layouts). The numbers are the metric layer's owner slice
(metrics.personal): days before today from the nightly table, today live. An admin may look at
anyone in their organisation with ?user=<id>; any other id is a 404.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.permissions import may_view_statistics_of, uses_field_view
from dashboard import layouts
from dashboard.api import api_login_required
from infra.numbers import parse_id
from metrics.definitions import METRICS
from metrics.periods import parse_state
from metrics.personal import PERIODS, InvalidPersonalQuery, parse_day, personal_summary
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
    state = _day_state(organization, day, now)
    layout = layouts.personal_widgets(subject.role)
    keys = [w["settings"]["metric"] for w in layout if w["type"] == "personal_kpi"]
    slots = []
    for widget in layout:
        spec = widgets.CATALOGUE[widget["type"]]
        data = failure = None
        if error is None:
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
            }
        )
    extra = f"&user={subject.pk}" if subject.pk != request.user.pk else ""
    context = {
        "organization": organization,
        "subject": subject,
        "own": subject.pk == request.user.pk,
        "slots": slots,
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
        "field": uses_field_view(subject) and subject.pk == request.user.pk,
    }
    return TemplateResponse(request, TEMPLATE, context, status=400 if error else 200)


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
