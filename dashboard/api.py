"""The JSON API of DESIGN.md §10: the dashboard's numbers, for the user's organisation."""

from __future__ import annotations

from functools import wraps

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from insights.queries import insights_json
from metrics.definitions import UnknownMetric, get_metric, parse_metric_keys
from metrics.periods import InvalidPeriod, parse_state
from metrics.queries import INTERVALS, TooManyPoints, get_metrics, get_timeseries
from targets.queries import attach_targets


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def api_login_required(view):
    """Session authentication; anonymous callers get a JSON 401, not a login redirect."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _error("Authentication required: log in first", status=401)
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@api_login_required
def metrics(request):
    organization = request.user.organization
    try:
        state = parse_state(request.GET, organization)
        keys = parse_metric_keys(request.GET.get("metrics"))
    except (InvalidPeriod, UnknownMetric) as exc:
        return _error(str(exc))
    payload = get_metrics(organization, state, keys)
    return JsonResponse(attach_targets(organization, state, payload))


@require_GET
@api_login_required
def timeseries(request):
    organization = request.user.organization
    raw_metric = request.GET.get("metric")
    if not raw_metric:
        return _error("'metric' is required, e.g. metric=revenue")
    interval = request.GET.get("interval") or None
    if interval is not None and interval not in INTERVALS:
        return _error(f"Unknown interval {interval[:20]!r}. Accepted: {', '.join(INTERVALS)}")
    try:
        metric = get_metric(raw_metric)
        state = parse_state(request.GET, organization)
    except (InvalidPeriod, UnknownMetric) as exc:
        return _error(str(exc))
    try:
        payload = get_timeseries(organization, state, metric.key, interval)
    except TooManyPoints as exc:
        return _error(str(exc))
    return JsonResponse(payload)


@require_GET
@api_login_required
def insights(request):
    """Findings and their narrative for the period, as the user may see them (DESIGN.md §10)."""
    organization = request.user.organization
    try:
        state = parse_state(request.GET, organization)
    except InvalidPeriod as exc:
        return _error(str(exc))
    return JsonResponse(insights_json(organization, state, request.user))
