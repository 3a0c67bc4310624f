"""From a question to its answer (docs/ask.md, "The answer"): read the question (the parser,
else the optional model), check the intent against the registry and the asker's scope, and
compute it through the metric layer's `get_filtered_metrics` / `get_breakdown` /
`get_timeseries`, the reads behind the dashboard and its JSON API. Nothing else makes a number.

`ask(...)` returns the §14 answer `{"question", "intent", "result", "text", "source", "links"}`
(plus the chips, the unused words and the scope), or raises `Unanswerable` (a 422 with the
closest metrics it can answer) or `BadQuestion` (a 400: too long, control characters, code).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone as dj_timezone

from accounts.models import User
from accounts.permissions import sees_own_rows_only
from ask import vocabulary as v
from ask.intent import MAX_METRICS, MAX_TOP, Intent, Reading, make
from ask.models import MAX_QUESTION
from ask.parser import Parser
from metrics.definitions import METRICS, SOURCES, UnknownMetric, get_metric, parse_metric_keys
from metrics.filters import (
    FILTERS,
    InvalidFilter,
    describe,
    not_applying,
    parse_filters,
    slice_args,
)
from metrics.formatting import format_change, short
from metrics.periods import (
    COMPARISONS,
    DEFAULT_PRESET,
    PRESETS,
    DashboardState,
    InvalidPeriod,
    comparison_name,
    parse_state,
    range_label,
)
from metrics.queries import (
    INTERVALS,
    TooManyPoints,
    default_interval,
    get_breakdown,
    get_filtered_metrics,
    get_timeseries,
    series_buckets,
)
from metrics.scope import may_see_source, scope_of
from operations.models import Customer
from presentation.charts import bucket_label
from presentation.wording import direction

# Control characters (tab and newline aside) and what only code is written with.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e]")
_CODE = re.compile(
    r"[;=<>{}`\\]|--|/\*|\b(select\s.+\sfrom|drop\s+table|delete\s+from|insert\s+into|"
    r"union\s+select)\b",
    re.IGNORECASE,
)


class BadQuestion(ValueError):
    """Input that is not a question (a 400): the message says what is accepted."""


@dataclasses.dataclass
class Unanswerable(Exception):
    """A question the metric layer cannot answer (a 422): why, and what it can answer."""

    error: str
    suggestions: list[str]
    unused: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        return self.error


def clean(question: str | None) -> str:
    """The question, checked: 1 to MAX_QUESTION characters of words; raises BadQuestion."""
    text = (question or "").strip()
    if not text:
        raise BadQuestion("Ask a question, e.g. 'revenue in NSW last quarter vs last year'")
    if len(text) > MAX_QUESTION:
        raise BadQuestion(f"A question is at most {MAX_QUESTION} characters")
    if _CONTROL.search(text):
        raise BadQuestion("The question has control characters; type it in plain words")
    if _CODE.search(unicodedata.normalize("NFKC", text)):
        raise BadQuestion("Ask in plain words; code and symbols such as ; = < > are not read")
    return text


def parser_for(organization, now: dt.datetime) -> Parser:
    """The parser for the organisation on its local today."""
    return Parser(
        v.build(organization),
        now.astimezone(organization.tz).date(),
        organization.fiscal_year_start_month,
    )


def read_params(params) -> Intent:
    """An intent from URL parameters (a chip's link); raises BadQuestion."""
    try:
        keys = parse_metric_keys(params.get("metrics"))
    except UnknownMetric as exc:
        raise BadQuestion(str(exc)) from None
    if len(keys) > MAX_METRICS:
        raise BadQuestion(f"At most {MAX_METRICS} metrics at a time")
    if params.get("from") or params.get("to"):
        rng = {"from": params.get("from") or "", "to": params.get("to") or ""}
    else:
        rng = {"preset": params.get("range") or DEFAULT_PRESET}
    top = params.get("top")
    if top and not (top.isascii() and top.isdigit() and 0 < int(top) <= MAX_TOP):
        raise BadQuestion(f"'top' is a number from 1 to {MAX_TOP}")
    filters = {p: params.get(p) for p in FILTERS if params.get(p)}
    return make(
        keys,
        range=rng,
        compare=params.get("compare") or None,
        filters=filters,
        by=params.get("by") or None,
        top=int(top) if top else None,
        interval=params.get("interval") or None,
    )


def has_intent_params(params) -> bool:
    return bool(params.get("metrics"))


def _refuse(error: str, suggestions, unused=()) -> Unanswerable:
    return Unanswerable(
        error, [k for k in dict.fromkeys(suggestions) if k in METRICS][:3], list(unused)
    )


def _visible(user, keys) -> list[str]:
    return [k for k in keys if may_see_source(user, METRICS[k].source)]


def resolve(organization, user, intent: Intent, now: dt.datetime | None = None):
    """The intent checked against the registry and the asker's scope, and its state; raises
    Unanswerable with the closest metrics it can answer."""
    for key in intent.metrics:
        if key not in METRICS:
            raise _refuse(f"There is no metric {key[:40]!r}", ["revenue"])
    if not intent.metrics or len(intent.metrics) > MAX_METRICS:
        raise _refuse(f"Ask for 1 to {MAX_METRICS} metrics", ["revenue"])
    own_only = sees_own_rows_only(user)
    if own_only:
        hidden = [k for k in intent.metrics if not may_see_source(user, METRICS[k].source)]
        if hidden:
            raise _refuse(
                f"{METRICS[hidden[0]].label} is not among the numbers your role sees",
                _visible(user, METRICS),
            )
        owner = dict(intent.filters).get("owner")
        if owner is not None and owner != str(user.pk):
            raise _refuse(
                "You see your own figures only, not another person's",
                intent.metrics,
            )
        intent = intent.without_filter("owner")  # their own rows are their scope already
    try:
        state = parse_state(intent.state_params(), organization, now)
        filters = parse_filters(dict(intent.filters), organization)
    except (InvalidPeriod, InvalidFilter) as exc:
        raise _refuse(str(exc), intent.metrics) from None
    if state.range.start > state.now.astimezone(state.tz).date():
        raise _refuse(
            "That period has not started yet; only what has happened is counted", intent.metrics
        )
    state = dataclasses.replace(state, filters=filters)
    for key in intent.metrics:
        metric = METRICS[key]
        missing = not_applying(filters, [metric.source])
        if missing:
            others = [
                k
                for k, m in METRICS.items()
                if not not_applying(filters, [m.source]) and m.unit == metric.unit
            ]
            raise _refuse(
                f"{metric.label} cannot be filtered by {describe(missing)}",
                _visible(user, others),
            )
    if intent.by is not None:
        metric = METRICS[intent.metrics[0]]
        source = SOURCES[metric.source]
        accepted = [d for d in source.dims if d in v.DIMENSION_WORDS]
        if source.has_owner:
            accepted.append("owner")
        if intent.by not in accepted:
            able = [
                k
                for k, m in METRICS.items()
                if intent.by in SOURCES[m.source].dims
                or (intent.by == "owner" and SOURCES[m.source].has_owner)
            ]
            raise _refuse(
                f"{metric.label} cannot be broken down by {_dim_word(intent.by)}",
                _visible(user, able) or list(intent.metrics),
            )
        if intent.top is not None and not 0 < intent.top <= MAX_TOP:
            raise _refuse(f"Top takes 1 to {MAX_TOP}", intent.metrics)
    if intent.interval is not None:
        interval = default_interval(state) if intent.interval == "auto" else intent.interval
        if interval not in INTERVALS:
            raise _refuse(f"Intervals are {', '.join(INTERVALS)}", intent.metrics)
        try:
            series_buckets(state, interval)
        except TooManyPoints as exc:
            raise _refuse(str(exc), intent.metrics) from None
        intent = intent.changed(interval=interval)
    if (intent.by or intent.interval) and len(intent.metrics) > 1:
        raise _refuse("A breakdown or a series reads one metric at a time", intent.metrics)
    return intent, state


def _dim_word(dim: str) -> str:
    return "owner" if dim == "owner" else v.dimension_label(dim).lower()


# --- Computing ------------------------------------------------------------------------------


def _key_labels(organization, by: str, keys) -> dict:
    """How each breakdown key reads: a person's or a customer's name from the organisation,
    a filter value's label."""
    ids = [k for k in keys if k is not None]
    if by == "owner":
        users = User.objects.filter(organization=organization, pk__in=ids)
        return {u.pk: u.full_name or u.email for u in users}
    if by == "customer_id":
        customers = Customer.objects.filter(organization=organization, pk__in=ids)
        return {c.pk: c.name for c in customers}
    spec = next((f for f in FILTERS.values() if f.dimension == by), None)
    return {k: spec.value_label(k) if spec else str(k) for k in ids}


def compute(organization, user, intent: Intent, state: DashboardState) -> dict:
    """The §10 payload for the intent, in the asker's scope: the metrics payload (with a
    `breakdown` for `by`), or the timeseries payload for an interval."""
    key = intent.metrics[0]
    metric = get_metric(key)
    if intent.interval:
        scope = scope_of(user, metric)
        args = slice_args(state.filters, metric.source, scope.owner) or {}
        payload = get_timeseries(organization, state, key, intent.interval, **args)
        payload = {**payload, "scope": scope.word}
        if state.filters:
            payload["filters"] = dict(state.filters)
        return payload
    payload = get_filtered_metrics(organization, state, list(intent.metrics), user=user)
    if intent.by:
        scope = scope_of(user, metric)
        args = slice_args(state.filters, metric.source, scope.owner) or {}
        rows = get_breakdown(organization, state, key, intent.by, **args)
        shown = rows[: intent.top] if intent.top else rows
        labels = _key_labels(organization, intent.by, [r["key"] for r in shown])
        payload = {
            **payload,
            "breakdown": {
                "metric": key,
                "by": intent.by,
                "top": intent.top,
                # Rows with records in the range: a row of the comparison period only (a
                # customer who bought last year, not this) is not one of "N in all".
                "count": sum(1 for r in rows if r.get("records")),
                "rows": [
                    {
                        **row,
                        "label": labels.get(row["key"], "None")
                        if row["key"] is not None
                        else "None",
                    }
                    for row in shown
                ],
            },
        }
    return payload


# --- Wording --------------------------------------------------------------------------------


def _period_words(state: DashboardState) -> str:
    dates = range_label(state)
    if state.preset:
        return f"{PRESETS[state.preset].lower()} ({dates}{', to date' if state.to_date else ''})"
    return f"{dates}{' (to date)' if state.to_date else ''}"


def _owner_names(organization, state: DashboardState) -> dict[str, str]:
    """{id: name} of the organisation's people when an owner filter is set (else no query)."""
    if not any(p == "owner" for p, _ in state.filters):
        return {}
    users = User.objects.filter(organization=organization)
    return {str(u.pk): u.full_name or u.email for u in users}


def _filter_words(organization, state: DashboardState) -> str:
    if not state.filters:
        return ""
    owners = _owner_names(organization, state)
    parts = [
        f"{FILTERS[p].label.lower()} {FILTERS[p].value_label(val, owners)}"
        for p, val in state.filters
    ]
    return " for " + " and ".join(parts)


def _entry_words(entry: dict, unit: str, compare: str) -> str:
    text = short(entry["value"], unit)
    name = comparison_name(compare)
    if name and entry.get("previous") is not None:
        moved = direction(entry.get("trend"))
        change = format_change(entry, unit)
        if moved == "unchanged" or not change:
            text += f", unchanged vs {name}"
        else:
            text += f", {moved} {change} vs {name} ({short(entry['previous'], unit)})"
    return text


def _label(label: str, *, own: bool) -> str:
    """A metric's label inside a sentence: "Revenue", or after "Your" "revenue" ("kWh" kept)."""
    if own and label[:1].isupper() and label[1:2].islower():
        return label[0].lower() + label[1:]
    return label


def sentence(organization, intent: Intent, state: DashboardState, result: dict) -> str:
    """The computed sentence: what was asked and the numbers, worded by the one vocabulary."""
    period = _period_words(state)
    where = _filter_words(organization, state)
    if intent.interval:
        metric = METRICS[intent.metrics[0]]
        points = [p for p in result["points"] if p["value"] is not None]
        own = "Your " if result.get("scope") == "own" else ""
        label = _label(metric.label, own=bool(own))
        if not points:
            return f"{own}{label} by {intent.interval}{where}, {period}: no data."
        high = max(points, key=lambda p: p["value"])
        low = min(points, key=lambda p: p["value"])

        def when(p):
            return bucket_label(dt.date.fromisoformat(p["date"]), intent.interval or "day")

        return (
            f"{own}{label} by {intent.interval}{where}, {period}: highest {when(high)} "
            f"({short(high['value'], metric.unit)}), lowest {when(low)} "
            f"({short(low['value'], metric.unit)}), over {len(points)} {intent.interval}s."
        )
    parts = []
    for key in intent.metrics:
        metric = METRICS[key]
        entry = result["metrics"][key]
        own = entry.get("scope") == "own"
        label = ("Your " if own else "") + _label(metric.label, own=own)
        words = _entry_words(entry, metric.unit, intent.compare)
        parts.append(f"{label}{where}, {period}: {words}.")
    if intent.by and result.get("breakdown"):
        table = result["breakdown"]
        metric = METRICS[table["metric"]]
        rows = [r for r in table["rows"] if r["value"] is not None and r.get("records")]
        if rows:
            lead = rows[0]
            text = f"By {_dim_word(intent.by)}, {lead['label']} leads with {short(lead['value'], metric.unit)}"
            rest = [f"{r['label']} ({short(r['value'], metric.unit)})" for r in rows[1:3]]
            if rest:
                text += ", then " + " and ".join(rest)
            parts.append(text + f"; {table['count']} in all.")
        else:
            parts.append(f"By {_dim_word(intent.by)}: no data.")
    return " ".join(parts)


# --- Links and chips --------------------------------------------------------------------


def ask_url(intent: Intent, question: str = "", base: str | None = None) -> str:
    """The ask page for the intent (the question kept for display)."""
    params = intent.params()
    if question:
        params["q"] = question
    return f"{base or reverse('dashboard-ask')}?{urlencode(params)}"


def links(intent: Intent, state: DashboardState) -> dict:
    """ "Open this on the dashboard" (its URL state) and "see the records" (the drill-down)."""
    query = state.querystring()
    return {
        "dashboard": f"{reverse('dashboard-home')}?{query}",
        "records": f"{reverse('drill-metric', args=[intent.metrics[0]])}?{query}",
    }


def chips(organization, user, intent: Intent, state: DashboardState, question: str) -> list[dict]:
    """The interpretation as chips, each a set of links that re-ask with one part changed."""

    base = reverse("dashboard-ask")

    def option(label: str, changed: Intent, current: bool = False) -> dict:
        return {"label": label, "url": ask_url(changed, question, base), "current": current}

    out = []
    visible = _visible(user, METRICS)
    for key in intent.metrics:
        others = [k for k in visible if k == key or k not in intent.metrics]
        out.append(
            {
                "kind": "metric",
                "label": "Metric",
                "value": METRICS[key].label,
                "options": [
                    option(
                        METRICS[k].label,
                        intent.changed(metrics=tuple(k if m == key else m for m in intent.metrics)),
                        k == key,
                    )
                    for k in others
                ],
                "remove_url": ask_url(
                    intent.changed(metrics=tuple(m for m in intent.metrics if m != key)),
                    question,
                    base,
                )
                if len(intent.metrics) > 1
                else None,
            }
        )
    out.append(
        {
            "kind": "range",
            "label": "Period",
            "value": PRESETS[state.preset] if state.preset else range_label(state),
            "options": [
                option(label, intent.changed(range=(("preset", p),)), p == state.preset)
                for p, label in PRESETS.items()
            ],
            "remove_url": None,
        }
    )
    out.append(
        {
            "kind": "compare",
            "label": "Compare with",
            "value": COMPARISONS[intent.compare],
            "options": [
                option(label, intent.changed(compare=c), c == intent.compare)
                for c, label in COMPARISONS.items()
            ],
            "remove_url": None,
        }
    )
    owners = _owner_names(organization, state)
    for param, value in state.filters:
        spec = FILTERS[param]
        out.append(
            {
                "kind": "filter",
                "label": spec.label,
                "value": spec.value_label(value, owners),
                "options": [
                    option(label, intent.with_filter(param, val), val == value)
                    for val, label in spec.choices
                ],
                "remove_url": ask_url(intent.without_filter(param), question, base),
            }
        )
    if intent.by:
        metric = METRICS[intent.metrics[0]]
        source = SOURCES[metric.source]
        dims = [d for d in source.dims if d in v.DIMENSION_WORDS] + (
            ["owner"] if source.has_owner else []
        )
        out.append(
            {
                "kind": "by",
                "label": "Broken down by",
                "value": _dim_word(intent.by) + (f", top {intent.top}" if intent.top else ""),
                "options": [
                    option(_dim_word(d), intent.changed(by=d), d == intent.by) for d in dims
                ],
                "remove_url": ask_url(intent.changed(by=None, top=None), question, base),
            }
        )
    if intent.interval:
        out.append(
            {
                "kind": "interval",
                "label": "Every",
                "value": intent.interval,
                "options": [
                    option(i, intent.changed(interval=i), i == intent.interval) for i in INTERVALS
                ],
                "remove_url": ask_url(intent.changed(interval=None), question, base),
            }
        )
    return out


# --- The whole answer -----------------------------------------------------------------------


def answer_intent(
    organization, user, intent: Intent, *, question: str = "", source: str = "parser", unused=()
) -> dict:
    """The answer to a checked-or-not intent; raises Unanswerable."""
    intent, state = resolve(organization, user, intent)
    result = compute(organization, user, intent, state)
    return {
        "question": question,
        "intent": intent.as_json(),
        "result": result,
        "text": sentence(organization, intent, state, result),
        "source": source,
        "links": links(intent, state),
        "chips": chips(organization, user, intent, state, question),
        "unused": list(unused),
        "scope": "own"
        if any(e.get("scope") == "own" for e in result.get("metrics", {}).values())
        or result.get("scope") == "own"
        else "organization",
        "_intent": intent,
        "_state": state,
    }


def read_question(organization, user, question: str, now: dt.datetime) -> Reading:
    """The parser's reading of a question (clean it first)."""
    return parser_for(organization, now).parse(question, asker_id=user.pk)


def public(answer: dict) -> dict:
    """The answer as the JSON API returns it (without the objects screens use)."""
    return {k: v for k, v in answer.items() if not k.startswith("_")}


NO_METRIC = "no metric was named"


def ask(organization, user, params, now: dt.datetime | None = None) -> dict:
    """The answer to `?q=…` (or to an intent in the URL, from a chip); raises BadQuestion or
    Unanswerable. A question the parser cannot read goes to the model when one is configured."""
    from ask import model  # the model path imports openai only when it is used

    now = now or dj_timezone.now()
    raw = params.get("q")
    if has_intent_params(params):
        question = clean(raw) if raw else ""
        return answer_intent(organization, user, read_params(params), question=question)
    question = clean(raw)
    reading = read_question(organization, user, question, now)
    if reading.intent is not None:
        return answer_intent(
            organization, user, reading.intent, question=question, unused=reading.unused
        )
    if reading.refusal == NO_METRIC and model.model_configured():
        proposed, _why = model.propose(organization, question, now)
        if proposed is not None:
            answer = answer_intent(organization, user, proposed, question=question, source="llm")
            text, _why = model.word(organization, answer, now)
            answer["text_source"] = "llm" if text else "computed"
            answer["text"] = text or answer["text"]
            return answer
    # The closest metrics the asker may see (a technician: their own sources' only).
    suggestions = _visible(user, reading.suggestions) or _visible(user, METRICS)[:3]
    raise _refuse(f"I can't answer that: {reading.refusal}.", suggestions, reading.unused)
