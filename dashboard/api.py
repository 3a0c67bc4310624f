"""The JSON API (docs/architecture.md, "JSON API"): the dashboard's numbers, for the user's
organisation, each in the user's scope (metrics.scope; docs/architecture.md, "The scope rule"),
so the API and the page give the same number and say whose it is."""

from __future__ import annotations

import dataclasses
from functools import wraps

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from annotations.queries import api_json, for_chart
from infra.ratelimit import rate_limited
from insights.queries import insights_json
from metrics.definitions import UnknownMetric, get_metric, parse_metric_keys
from metrics.filters import InvalidFilter, not_applying, parse_filters, slice_args
from metrics.periods import InvalidPeriod, parse_state
from metrics.queries import INTERVALS, TooManyPoints, get_filtered_metrics, get_timeseries
from metrics.scope import ORGANIZATION, OWN, scope_of
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


def _state(request):
    """The period and the dashboard filters (state, kind or customer_kind, category, owner,
    stage, claim_kind); raises InvalidPeriod or InvalidFilter."""
    organization = request.user.organization
    state = parse_state(request.GET, organization)
    filters = parse_filters(request.GET, organization, aliases=True)
    return dataclasses.replace(state, filters=filters)


@require_GET
@api_login_required
def metrics(request):
    organization = request.user.organization
    try:
        state = _state(request)
        keys = parse_metric_keys(request.GET.get("metrics"))
    except (InvalidPeriod, InvalidFilter, UnknownMetric) as exc:
        return _error(str(exc))
    payload = get_filtered_metrics(organization, state, keys, user=request.user)
    if state.filters:
        # Targets are set for the whole organisation; a filtered number is not measured
        # against them.
        return JsonResponse(payload)
    # As on the cards: the organisation's numbers against its targets, a technician's own
    # numbers against their personal targets.
    entries = payload["metrics"]
    for word, user in ((ORGANIZATION, None), (OWN, request.user)):
        scoped = {k: e for k, e in entries.items() if e["scope"] == word}
        if scoped:
            attach_targets(organization, state, {**payload, "metrics": scoped}, user=user)
    return JsonResponse(payload)


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
        state = _state(request)
    except (InvalidPeriod, InvalidFilter, UnknownMetric) as exc:
        return _error(str(exc))
    scope = scope_of(request.user, metric)
    args = slice_args(state.filters, metric.source, scope.owner)
    if args is None:
        names = ", ".join(f.param for f in not_applying(state.filters, [metric.source]))
        return _error(f"{metric.label} cannot be filtered by {names}; remove that filter")
    try:
        payload = get_timeseries(organization, state, metric.key, interval, **args)
    except TooManyPoints as exc:
        return _error(str(exc))
    notes = for_chart(
        organization,
        state.range,
        metrics=[metric.key],
        sources=[metric.source],
        filters=state.filters,
    )
    payload = {**payload, "scope": scope.word, "annotations": [api_json(n) for n in notes]}
    if state.filters:
        payload["filters"] = dict(state.filters)
    return JsonResponse(payload)


@require_GET
@api_login_required
@rate_limited("heavy", what="insights")
def insights(request):
    """Findings and their narrative for the period, as the user may see them: their scope and
    the dashboard's filters (docs/architecture.md, "JSON API")."""
    organization = request.user.organization
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter) as exc:
        return _error(str(exc))
    return JsonResponse(insights_json(organization, state, request.user))
