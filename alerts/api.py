"""`GET/POST /api/alerts` and `GET /api/alerts/<id>/events` (docs/alerts.md, "API"), and
`GET/POST/DELETE /api/follows` (docs/digests.md, "Screens and API").

Thresholds are in the metric's API unit (cents, 0–1 ratios; percent for changes), as
`/api/dashboard/metrics` reports values. Bad input is a 400 `{"error": …}` naming what is
wrong; another organisation's rule, or a colleague's own, is a 404.
"""

from __future__ import annotations

import json
import zoneinfo

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods

from alerts import actions, queries
from alerts.follows import canonical_filters, check_metric, check_scope
from alerts.forms import FILTER_PARAMS, RuleForm
from alerts.models import AlertRule

MAX_BODY = 20_000


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _login(request) -> JsonResponse | None:
    if not request.user.is_authenticated:
        return _error("Authentication required: log in first", status=401)
    return None


def _json_object(request) -> dict:
    """The request's JSON object; raises ValueError saying what is wrong with it."""
    if len(request.body) > MAX_BODY:
        raise ValueError("The body is too large")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("The body must be JSON") from None
    if not isinstance(body, dict):
        raise ValueError("The body must be a JSON object")
    return body


def _form_data(body: dict) -> dict:
    data = {k: body.get(k) for k in RuleForm.Meta.fields if body.get(k) is not None}
    if isinstance(body.get("recipients"), list):
        data["recipients"] = "\n".join(str(a) for a in body["recipients"])
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise ValueError('\'filters\' must be an object, e.g. {"state": "QLD"}')
    unknown = sorted(set(filters) - set(FILTER_PARAMS))
    if unknown:
        raise ValueError(
            f"Unknown filter {unknown[0][:40]!r}. Accepted: {', '.join(FILTER_PARAMS)}"
        )
    data.update({k: str(v) for k, v in filters.items()})
    if "range" in body:
        data["range_preset"] = body["range"]
    data.setdefault("range_preset", "yesterday")
    data.setdefault("compare", "previous_period")
    data.setdefault("pending_checks", 1)
    data.setdefault("active", True)
    if data["active"] is False:
        data.pop("active")
    return {k: (str(v) if not isinstance(v, bool) else v) for k, v in data.items()}


@require_http_methods(["GET", "POST"])
def alerts(request):
    if (denied := _login(request)) is not None:
        return denied
    if request.method == "GET":
        rules = list(queries.rules_for(request.user))
        states = queries.states_of(rules)
        return JsonResponse({"alerts": [queries.rule_json(r, states.get(r.pk)) for r in rules]})
    try:
        body = _json_object(request)
        data = _form_data(body)
    except ValueError as exc:
        return _error(str(exc))
    form = RuleForm(data, user=request.user, api_units=True)
    if not form.is_valid():
        errors = {k: [str(e) for e in v] for k, v in form.errors.items()}
        first = next(iter(errors.items()))
        name = "input" if first[0] == "__all__" else first[0]
        return JsonResponse({"error": f"{name}: {first[1][0]}", "fields": errors}, status=400)
    rule: AlertRule = form.save(commit=False)
    rule.organization = request.user.organization
    rule.owner = request.user
    rule.save()
    return JsonResponse(queries.rule_json(rule), status=201)


@require_GET
def events(request, pk):
    if (denied := _login(request)) is not None:
        return denied
    try:
        rule = queries.rule_for(request.user, pk)
    except Http404:
        return _error("No such alert", status=404)
    tz = zoneinfo.ZoneInfo(rule.organization.timezone)
    return JsonResponse(
        {"alert": rule.pk, "events": [queries.event_json(e, tz) for e in queries.history(rule)]}
    )


@require_http_methods(["GET", "POST", "DELETE"])
def follows(request, pk=None):
    """`GET /api/follows`: the user's follows (`/api/follows/<id>`: one). `POST` `{"metric",
    "filters"?}`: follow (201, or 200 when already following). `DELETE /api/follows/<id>` (or `DELETE /api/follows` with
    the same body): unfollow (204). Only ever the signed-in user's own."""
    if (denied := _login(request)) is not None:
        return denied
    user = request.user
    if request.method == "GET" and pk is None:
        return JsonResponse({"follows": [queries.follow_json(f) for f in queries.follows_of(user)]})
    if pk is not None and request.method in ("GET", "DELETE"):
        follow = queries.follow_of(user, pk)
        if follow is None:
            return _error("No such follow", status=404)
        if request.method == "GET":
            return JsonResponse(queries.follow_json(follow))
        actions.do_unfollow_metric(user, follow.metric, follow.filters)
        return HttpResponse(status=204)
    if pk is not None:
        return _error("POST to /api/follows", status=405)
    try:
        body = _json_object(request)
        filters = body.get("filters") or {}
        if not isinstance(filters, dict):
            raise ValueError('\'filters\' must be an object, e.g. {"state": "QLD"}')
        metric = check_metric(body.get("metric"))
        filters = check_scope(user, canonical_filters(filters, user.organization, strict=True))
    except ValueError as exc:
        return _error(str(exc))
    if request.method == "DELETE":
        if not actions.do_unfollow_metric(user, metric, filters):
            return _error("You do not follow that", status=404)
        return HttpResponse(status=204)
    follow, created = actions.do_follow_metric(user, metric, filters)
    return JsonResponse(queries.follow_json(follow), status=201 if created else 200)
