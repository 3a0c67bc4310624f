"""`GET/POST /api/annotations` (docs/annotations.md, "API").

GET takes the same range keys as every other API (`range=…` or `from=…&to=…`, parsed by
metrics.periods) and optional `metric=`; POST takes
`{"title", "starts_at", "ends_at"?, "metric"?, "dimension"?, "note"?, "tags"?}` and answers
201 with the new annotation's `id`. Bad input is a 400 `{"error": …}` naming what is wrong.
"""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.views.decorators.http import require_http_methods

from annotations import queries
from annotations.actions import do_add_annotation, may_add
from annotations.forms import AnnotationForm
from metrics.definitions import UnknownMetric, get_metric
from metrics.periods import InvalidPeriod, parse_state

MAX_BODY = 20_000
FIELDS = ("title", "starts_at", "ends_at", "metric", "note")


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def form_data(body: dict) -> dict:
    """A JSON body as the form's string fields; raises ValueError on a wrong shape."""
    data = {}
    for name in FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"'{name}' must be a string")
        data[name] = value
    dimension = body.get("dimension")
    if isinstance(dimension, dict):
        if len(dimension) != 1 or not all(isinstance(v, str) for v in dimension.values()):
            raise ValueError('\'dimension\' names one value, e.g. {"state": "QLD"}')
        (name, value), *_ = dimension.items()
        data["dimension"] = f"{name}={value}"
    elif isinstance(dimension, str):
        data["dimension"] = dimension
    elif dimension is not None:
        raise ValueError('\'dimension\' is "state=QLD" or {"state": "QLD"}')
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("'tags' must be a list of strings")
        data["tags"] = ",".join(tags)
    return data


@require_http_methods(["GET", "POST"])
def annotations_api(request):
    if not request.user.is_authenticated:
        return _error("Authentication required: log in first", status=401)
    organization = request.user.organization
    if request.method == "GET":
        try:
            state = parse_state(request.GET, organization)
            metric = get_metric(request.GET["metric"]).key if request.GET.get("metric") else None
        except (InvalidPeriod, UnknownMetric) as exc:
            return _error(str(exc))
        notes = queries.in_range(organization, *queries.days_of(state.range), metric)
        return JsonResponse(
            {
                "range": {"from": str(state.range.start), "to": str(state.range.end)},
                "annotations": [queries.api_json_full(n) for n in notes],
            }
        )
    if not may_add(request.user):
        return _error("Viewers cannot add annotations", status=403)
    if len(request.body) > MAX_BODY:
        return _error("The body is too large")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error("The body must be JSON")
    if not isinstance(body, dict):
        return _error("The body must be a JSON object")
    try:
        data = form_data(body)
    except ValueError as exc:
        return _error(str(exc))
    form = AnnotationForm(data, tz=organization.tz)
    if not form.is_valid():
        name, messages = next(iter(form.errors.items()))
        return _error(f"{name}: {messages[0]}")
    annotation = do_add_annotation(organization, author=request.user, **form.fields_for_action())
    return JsonResponse(queries.api_json_full(queries.as_note(annotation)), status=201)
