"""The findings engine: what moved in a period, computed from the metric layer, never invented.

`compute_findings(org, state, scope)` returns ranked findings of seven kinds (docs/architecture.md,
"Insights"):

* ``change``: the KPIs that moved the most against the comparison, good or bad;
* ``unusual``: a day (or, for long ranges, a week) far outside its trailing baseline: the
  same weekday over the previous eight weeks, by median and MAD, with a minimum volume;
* ``trend_break``: a sustained change of slope in the last sixteen complete weeks (a hinge
  regression beats a straight line by an F test, and the bend is material);
* ``contributors``: the dimension values (stage, kind, product category, customer state,
  owner) that drove a change, with their shares;
* ``concentration``: one customer making up an outsized share of revenue or claims;
* ``target_risk``: a target whose forecast (or final value) misses, with the gap;
* ``outlier_record``: one order or claim far beyond the usual size.

Every number comes from a handful of metric-layer calls: `get_metrics` once, one daily (or
weekly) `get_timeseries` per scanned metric over a trailing window, `get_breakdown` for the
changes worth explaining and for concentration, `targets_for_state`, and one query of record
sizes per outlier source. A finding carries its numbers, a one-line title (names are kept
apart as subjects, so narration can replace them with placeholders), a severity, and a
drill-down URL to the records behind it. `value` and `previous` are always the metrics API's
numbers for the finding's metric and `period` (the query parameters of that API call).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from accounts.models import User
from metrics.definitions import METRICS, SOURCES, WIN_RATE_PARTS, Metric
from metrics.formatting import format_value
from metrics.periods import DashboardState, compare_phrase, dates_label, parse_state
from metrics.queries import get_breakdown, get_metrics, get_timeseries, metric_records
from metrics.scope import may_see_source, owner_for
from operations.models import Customer
from targets.queries import targets_for_state

# --- Thresholds (all of them, in one place) -----------------------------------------------

MIN_CHANGE_PCT = 10.0  # a KPI must move at least this much to be a finding
MIN_RATIO_POINTS = 0.05  # a rate must move at least 5 percentage points
MIN_VOLUME = 10  # records behind a change (either period), so small counts do not shout
NOISE_PCT = 300.0  # and it must exceed 3 × 100 / √records percent (three sampling errors)
COUNT_Z = 2.5  # a count must move by 2.5 Poisson standard deviations
MAX_CHANGES = 4
BASELINE_WEEKS = 8  # unusual: the same weekday over the previous 8 weeks
MIN_BASELINE = 6
UNUSUAL_Z = 4.5  # robust z (median, 1.4826 × MAD) beyond which a day is unusual
UNUSUAL_RATIO_UP, UNUSUAL_RATIO_DOWN = 1.8, 0.5  # and at least 1.8× or at most half the usual
MIN_DAY_VOLUME = 5  # records that day or on a usual day
TREND_WEEKS = 16
TREND_MIN_SEGMENT = 5  # weeks on each side of a break
TREND_F = 15.0  # hinge vs straight line, F(1, n - 3)
TREND_MATERIAL = 0.30  # the bend adds up to 30 % of a typical week by the end
MIN_WEEK_VOLUME = 10
MIN_CONTRIBUTOR_SHARE = 0.40
MAX_EXPLAINED = 1  # changes explained by contributors (one breakdown read each)
CONCENTRATION_SHARE = 0.35
MIN_CONCENTRATION_PARTIES = 5
OUTLIER_TIMES = 5.0  # a record at least 5× the median record
OUTLIER_Z = 8.0
OUTLIER_BASELINE_DAYS = 90
MIN_OUTLIER_BASELINE = 30
MIN_SCORE = 1.0  # weaker findings are hidden
MAX_FINDINGS = 10
DAILY_MAX_DAYS = 120  # longer ranges are scanned week by week

# Range metrics scanned day by day, and the count that says how many records a value rests on.
SCANNED = (
    "revenue",
    "orders",
    "kwh_deployed",
    "jobs_completed",
    "quotes_won",
    "warranty_claims",
    "new_customers",
    "activities",
)
VOLUME_OF = {
    "revenue": "orders",
    "average_order_value": "orders",
    "kwh_deployed": "jobs_completed",
    "labor_hours": "jobs_completed",
}
# Dimensions that explain a change, per source ("owner" is the rows' owner).
CONTRIBUTOR_DIMS = {
    "sales": ("customer_state", "customer_kind", "owner"),
    "pipeline": ("stage", "customer_state", "owner"),
    "jobs": ("customer_state", "owner"),
    "warranty": ("kind", "product_category", "customer_state"),
    "customers": ("customer_state", "customer_kind"),
    "activities": ("kind", "owner"),
}
DIM_LABELS = {
    "customer_state": "customer state",
    "customer_kind": "customer kind",
    "owner": "owner",
    "stage": "stage",
    "kind": "kind",
    "product_category": "product category",
}
# Dimension values a drill-down can narrow to: (source, dimension) -> its query parameter.
DRILL_NARROWING = {
    ("pipeline", "stage"): "stage",
    ("warranty", "kind"): "kind",
    ("activities", "kind"): "kind",
    ("customers", "customer_kind"): "kind",
}
KIND_ORDER = (
    "change",
    "target_risk",
    "unusual",
    "trend_break",
    "contributors",
    "concentration",
    "outlier_record",
)


@dataclass(frozen=True)
class Subject:
    """A named thing from the records (a customer, a person, an order). Its name never goes to
    a language model: narration sees `role` and a placeholder."""

    role: str  # customer, person, order, claim
    ref: str
    name: str


@dataclass
class Finding:
    id: str
    kind: str
    metric: str
    title_format: str  # "{0} made up …": subjects fill the numbered fields
    subjects: list[Subject]
    value: object
    previous: object
    change_pct: float | None
    score: float
    drill_url: str
    period: dict  # the metrics API parameters value/previous come from
    facts: dict = field(default_factory=dict)  # the numbers behind it (no record text)
    figure: tuple = (None, "count")  # the headline number and its unit
    spark: dict = field(default_factory=dict)  # {"type": line|bars, "values", "highlight"}

    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit

    @property
    def severity(self) -> str:
        return "high" if self.score >= 3 else "medium" if self.score >= 1.8 else "low"

    def title(self, names: dict[Subject, str] | None = None) -> str:
        """The computed one-line title; `names` replaces subjects' names (placeholders)."""
        names = names or {}
        return self.title_format.format(*(names.get(s, s.name) for s in self.subjects))

    def as_json(self) -> dict:
        """The API's view of a finding (docs/architecture.md, "JSON API")."""
        return {
            "id": self.id,
            "kind": self.kind,
            "metric": self.metric,
            "title": self.title(),
            "value": self.value,
            "previous": self.previous,
            "change_pct": self.change_pct,
            "severity": self.severity,
            "drill_url": self.drill_url,
            "unit": self.unit,
            "period": self.period,
            "facts": self.facts,
        }


@dataclass(frozen=True)
class Scope:
    """Whose rows the findings read: `owner` (a technician's own) and the sources allowed."""

    owner: int | None
    sources: frozenset[str]

    def token(self) -> str:
        return "" if self.owner is None else f"o{self.owner}"


EVERYTHING = Scope(None, frozenset(SOURCES))


def scope_for(user) -> Scope:
    """The user's scope: the sources they may see, in their owner slice (technicians)."""
    if user is None:
        return EVERYTHING
    sources = frozenset(s for s in SOURCES if may_see_source(user, s))
    owners = {owner_for(user, s) for s in sources}
    return Scope(owners.pop() if len(owners) == 1 else None, sources)


# --- Helpers ----------------------------------------------------------------------------------


def short(value, unit: str) -> str:
    return format_value(value, unit)[0]


def pct_text(pct: float) -> str:
    return format_value(abs(pct), "percent")[0]


def _num(value) -> float:
    return float(value) if value is not None else 0.0


def drill(metric: str, params: dict, **extra) -> str:
    """/dashboard/drill/<metric>/?<state params>[&…]: the records behind a finding."""
    query = {**params, **{k: v for k, v in extra.items() if v not in (None, "")}}
    return f"/dashboard/drill/{metric}/?{urlencode(query)}"


def custom_params(first: dt.date, last: dt.date, compare: str = "none") -> dict:
    return {"from": first.isoformat(), "to": last.isoformat(), "compare": compare}


def _period_key(state: DashboardState) -> str:
    return f"{state.range.start}..{state.range.end}:{state.compare}"


def _robust(values: list[float]) -> tuple[float, float]:
    """(median, 1.4826 × MAD): a location and scale that one spike cannot move."""
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    return med, 1.4826 * mad


def _floor_scale(metric: Metric, median: float) -> float:
    # Tricky: with few baseline points MAD can be near zero; counts are at least Poisson-noisy
    # (√median) and amounts at least 15 % of the median, so a flat baseline does not shout.
    floor = 0.15 * abs(median)
    if metric.unit == "count":
        floor = max(floor, math.sqrt(max(median, 1.0)))
    return max(floor, 1e-9)


@dataclass
class _Context:
    org: Any
    state: DashboardState
    scope: Scope
    payload: dict
    series: dict[str, dict[dt.date, float]]  # metric -> {day or week start: value}
    interval: str  # "day" or "week"
    complete_until: dt.date  # buckets starting before this are complete

    def allowed(self, metric: str) -> bool:
        return METRICS[metric].source in self.scope.sources

    def entry(self, metric: str) -> dict:
        return self.payload["metrics"][metric]


# --- The engine ---------------------------------------------------------------------------


def payload_keys(scope: Scope) -> list[str]:
    """The metrics the findings start from, in one get_metrics (over the scope's owner)."""
    return [k for k, m in METRICS.items() if m.source in scope.sources]


def compute_findings(organization, state: DashboardState, scope: Scope = EVERYTHING) -> list:
    """Ranked findings for the period, strongest first; weak ones are left out."""
    keys = payload_keys(scope)
    if not keys:
        return []
    payload = get_metrics(organization, state, keys, owner=scope.owner)
    ctx = _context(organization, state, scope, payload)
    findings: list[Finding] = []
    changes = _changes(ctx)
    findings += changes
    findings += _contributors(ctx, changes)
    findings += _unusual(ctx)
    findings += _trend_breaks(ctx)
    findings += _concentration(ctx)
    findings += _target_risks(ctx)
    findings += _outliers(ctx)
    findings = [f for f in findings if f.score >= MIN_SCORE]
    findings.sort(key=lambda f: (-round(f.score, 6), KIND_ORDER.index(f.kind), f.id))
    return findings[:MAX_FINDINGS]


def _context(organization, state, scope, payload) -> _Context:
    """Fetch the scanned metrics' series over the range and the trailing baseline window."""
    last_day = state.range.last_day
    # The running day (or week) is incomplete: it is never compared with whole ones.
    complete_until = last_day if state.to_date else last_day + dt.timedelta(days=1)
    interval = "day" if state.range.days <= DAILY_MAX_DAYS else "week"
    if interval == "day":
        trend_start = _week_start(complete_until) - dt.timedelta(weeks=TREND_WEEKS)
        first = min(state.range.start - dt.timedelta(weeks=BASELINE_WEEKS), trend_start)
    else:
        scan_from = max(state.range.start, last_day - dt.timedelta(weeks=52))
        first = _week_start(scan_from) - dt.timedelta(weeks=max(BASELINE_WEEKS, TREND_WEEKS))
    window = parse_state(custom_params(first, last_day), organization, now=state.now)
    series = {}
    for key in SCANNED:
        if METRICS[key].source not in scope.sources:
            continue
        points = get_timeseries(organization, window, key, interval, owner=scope.owner)["points"]
        series[key] = {
            dt.date.fromisoformat(p["date"]): _num(p["value"])
            for p in points
            if dt.date.fromisoformat(p["date"]) >= first
        }
    return _Context(organization, state, scope, payload, series, interval, complete_until)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


# --- change -------------------------------------------------------------------------------


def _volume(ctx: _Context, metric: Metric) -> float | None:
    """Records behind the metric in the busier of the two periods (None: not a flow)."""
    key = VOLUME_OF.get(metric.key, metric.key)
    if METRICS[key].unit != "count":
        return None
    entry = ctx.payload["metrics"].get(key)
    if entry is None:
        return None
    return max(_num(entry["value"]), _num(entry["previous"]))


def _changes(ctx: _Context) -> list[Finding]:
    if ctx.state.comparison is None:
        return []
    compare_label = compare_phrase(ctx.state.compare)
    out = []
    for key, entry in ctx.payload["metrics"].items():
        metric = METRICS[key]
        value, previous = entry["value"], entry["previous"]
        if value is None or previous is None or value == previous:
            continue
        volume = _volume(ctx, metric)
        if volume is not None and volume < MIN_VOLUME:
            continue
        # Sampling noise: a total over n records moves by about 1/√n by chance alone.
        noise_pct = NOISE_PCT / math.sqrt(volume) if volume else 0.0
        if metric.unit == "ratio":
            closed = [ctx.payload["metrics"].get(k, {}) for k in WIN_RATE_PARTS]
            seen = sum(_num(e.get("value")) + _num(e.get("previous")) for e in closed)
            delta = float(value) - float(previous)
            if abs(delta) < MIN_RATIO_POINTS or seen < 2 * MIN_VOLUME:
                continue
            strength = abs(delta) * 100 / 5  # 5 points -> 1
            size = f"{format_value(abs(delta) * 100, 'percent')[0].rstrip('%')} pts"
        else:
            if not previous or entry["change_pct"] is None:
                continue
            pct = float(entry["change_pct"])
            if abs(pct) < max(MIN_CHANGE_PCT, noise_pct):
                continue
            if metric.unit == "count" and metric.kind != "state":
                # Poisson noise: a move within COUNT_Z standard deviations is not a finding.
                spread = math.sqrt(float(value) + float(previous))
                if abs(float(value) - float(previous)) < COUNT_Z * spread:
                    continue
            strength = min(abs(pct), 100) / 10
            size = pct_text(pct)
        up = float(value) > float(previous)
        good = up == metric.up_is_good
        title = (
            f"{metric.label} {'up' if up else 'down'} {size} to {short(value, metric.unit)}, "
            f"from {short(previous, metric.unit)} in {compare_label}"
        )
        spark_values = ctx.series.get(key)
        spark: dict
        if spark_values and ctx.interval == "day":
            days = [d for d in sorted(spark_values) if ctx.state.range.start <= d]
            spark = {"type": "line", "values": [spark_values[d] for d in days], "highlight": None}
        else:
            spark = {"type": "bars", "values": [_num(previous), _num(value)], "highlight": 1}
        out.append(
            Finding(
                id=f"change:{key}:{_period_key(ctx.state)}",
                kind="change",
                metric=key,
                title_format=_escape(title),
                subjects=[],
                value=value,
                previous=previous,
                change_pct=entry["change_pct"],
                score=min(strength, 6.0) * (1.0 if metric.kind != "state" else 0.8),
                drill_url=drill(key, ctx.state.params()),
                period=ctx.state.params(),
                facts={"direction": "up" if up else "down", "good": good},
                figure=(value, metric.unit),
                spark=spark,
            )
        )
    out.sort(key=lambda f: -f.score)
    # Keep the strongest movers, and always the strongest good and bad one.
    kept = out[:MAX_CHANGES]
    for good in (True, False):
        best = next((f for f in out if f.facts["good"] == good), None)
        if best is not None and best not in kept:
            kept.append(best)
    return kept


def _escape(text: str) -> str:
    """A literal title for str.format (braces in text are not fields)."""
    return text.replace("{", "{{").replace("}", "}}")


# --- contributors -------------------------------------------------------------------------


def _names(ctx: _Context, dim: str, keys) -> dict:
    """Display names of dimension values: people for owners, labels for choices."""
    if dim == "owner":
        ids = [k for k in keys if k is not None]
        users = User.objects.filter(organization_id=ctx.org.pk, pk__in=ids)
        return {u.pk: u.full_name or u.email for u in users.only("full_name", "email")}
    return {k: str(k).replace("_", " ") for k in keys if k is not None}


def _contributors(ctx: _Context, changes: list[Finding]) -> list[Finding]:
    out = []
    for change in changes[:MAX_EXPLAINED]:
        metric = METRICS[change.metric]
        if metric.kind != "range":
            continue  # rates do not add up; state metrics would read their whole history live
        dims = tuple(
            d
            for d in CONTRIBUTOR_DIMS.get(metric.source, ())  # a source without any: none
            if not (d == "owner" and ctx.scope.owner is not None)
        )
        if not dims:
            continue
        rows = get_breakdown(ctx.org, ctx.state, metric.key, dims, owner=ctx.scope.owner)
        total = _num(change.value) - _num(change.previous)
        if not total:
            continue
        best = None
        for i, dim in enumerate(dims):
            deltas: dict = {}
            for row in rows:
                key = row["key"][i] if len(dims) > 1 else row["key"]
                deltas[key] = deltas.get(key, 0.0) + _num(row["value"]) - _num(row["previous"])
            if len([k for k in deltas if k is not None]) < 2:
                continue
            ranked = sorted(deltas.items(), key=lambda kv: -kv[1] * math.copysign(1, total))
            share = ranked[0][1] / total
            if ranked[0][0] is not None and (best is None or share > best[1]):
                best = (dim, share, ranked)
        if best is None or best[1] < MIN_CONTRIBUTOR_SHARE:
            continue
        dim, share, ranked = best
        top = [(k, d) for k, d in ranked[:3] if k is not None and d * total > 0]
        names = _names(ctx, dim, [k for k, _ in top])
        subjects = []
        labels = []
        for k, _d in top:
            if dim == "owner":
                subjects.append(Subject("person", str(k), names.get(k, f"User {k}")))
                labels.append(f"{{{len(subjects) - 1}}}")
            else:
                labels.append(_escape(names[k]))
        direction = "rise" if total > 0 else "fall"
        unit = metric.unit
        first = f"{labels[0]} drove {pct_text(share * 100)} of the {direction} in "
        first += f"{lower_label(metric)} ({_signed(top[0][1], unit)} of {_signed(total, unit)})"
        rest = [
            f"{lab} {pct_text(d / total * 100)}"
            for lab, (_k, d) in zip(labels[1:], top[1:], strict=True)
        ]
        title = first + (f"; then {', '.join(rest)}" if rest else "") + f", by {DIM_LABELS[dim]}"
        narrowing = {}
        param = DRILL_NARROWING.get((metric.source, dim))
        if param and dim != "owner":
            narrowing[param] = top[0][0]
        facts = {
            "dimension": dim,
            "change": total,
            "top": [
                {
                    "key": f"{{{j}}}" if dim == "owner" else str(k),
                    "change": d,
                    "share_pct": round(d / total * 100, 1),
                }
                for j, (k, d) in enumerate(top)
            ],
        }
        out.append(
            Finding(
                id=f"contributors:{metric.key}:{dim}:{_period_key(ctx.state)}",
                kind="contributors",
                metric=metric.key,
                title_format=title,
                subjects=subjects,
                value=change.value,
                previous=change.previous,
                change_pct=change.change_pct,
                score=change.score * min(1.0, share) * 0.9,
                drill_url=drill(metric.key, ctx.state.params(), **narrowing),
                period=ctx.state.params(),
                facts=facts,
                figure=(share * 100, "percent"),
                spark={"type": "bars", "values": [abs(d) for _, d in top], "highlight": 0},
            )
        )
    return out


def lower_label(metric: Metric) -> str:
    """A label inside a sentence: "revenue", "kWh deployed"."""
    return metric.label[0].lower() + metric.label[1:]


def _signed(value: float, unit: str) -> str:
    text = short(abs(value), unit)
    return ("+" if value > 0 else "−" if value < 0 else "") + text


# --- unusual ----------------------------------------------------------------------------


def _unusual(ctx: _Context) -> list[Finding]:
    out = []
    stride = dt.timedelta(days=7)  # the same weekday, or the previous weeks
    for key, values in ctx.series.items():
        metric = METRICS[key]
        volume_series = ctx.series.get(VOLUME_OF.get(key, key), values)
        best = None
        for day in sorted(values):
            if day < ctx.state.range.start or day >= _complete_bound(ctx):
                continue
            baseline_days = [day - stride * k for k in range(1, BASELINE_WEEKS + 1)]
            baseline = [values[d] for d in baseline_days if d in values]
            if len(baseline) < MIN_BASELINE:
                continue
            x = values[day]
            med, scale = _robust(baseline)
            if med <= 0:
                continue  # no usual level to stand out from (a new series, a closed weekday)
            scale = max(scale, _floor_scale(metric, med))
            z = (x - med) / scale
            usual_volume = statistics.median(
                [volume_series.get(d, 0.0) for d in baseline_days if d in volume_series]
            )
            if max(volume_series.get(day, 0.0), usual_volume) < MIN_DAY_VOLUME:
                continue
            high = z >= UNUSUAL_Z and x >= UNUSUAL_RATIO_UP * med
            low = z <= -UNUSUAL_Z and x <= UNUSUAL_RATIO_DOWN * med
            if not (high or low):
                continue
            if best is None or abs(z) > abs(best[1]):
                best = (day, z, x, med, baseline_days)
        if best is None:
            continue
        day, z, x, med, baseline_days = best
        if ctx.interval == "day":
            when = f"on {day:%a} {dates_label(day, day)}"
            usual = f"the usual {short(med, metric.unit)} for a {day:%A}"
            first, last = day, day
            extra = {"bucket": day.isoformat(), "interval": "day"}
        else:
            last = min(day + dt.timedelta(days=6), ctx.state.range.end)
            when = f"in the week of {dates_label(day, day)}"
            usual = f"a usual {short(med, metric.unit)} a week"
            first = day
            extra = {"bucket": day.isoformat(), "interval": "week"}
        times = x / med if med else None
        if x > med:
            tail = f"{times:.1f}× {usual}" if times else f"against {usual}"
        else:
            tail = f"against {usual}"
        title = f"{metric.label} {when} was {short(x, metric.unit)}, {tail}"
        history = [ctx.series[key].get(d, 0.0) for d in reversed(baseline_days)] + [x]
        out.append(
            Finding(
                id=f"unusual:{key}:{ctx.interval}:{day.isoformat()}",
                kind="unusual",
                metric=key,
                title_format=_escape(title),
                subjects=[],
                value=_metric_value(metric, x),
                previous=None,
                change_pct=None,
                score=min(abs(z) / 2.5, 6.0),
                drill_url=drill(key, ctx.state.params(), **extra),
                period=custom_params(first, last),
                facts={
                    "baseline_median": _metric_value(metric, med),
                    "robust_z": round(z, 1),
                    "times_usual": round(times, 1) if times else None,
                    "interval": ctx.interval,
                },
                figure=(x, metric.unit),
                spark={"type": "line", "values": history, "highlight": len(history) - 1},
            )
        )
    return out


def _complete_bound(ctx: _Context) -> dt.date:
    """Buckets starting on or after this date are not complete yet."""
    if ctx.interval == "day":
        return ctx.complete_until
    # A week (Monday to Sunday) is complete when its Sunday is.
    return ctx.complete_until - dt.timedelta(days=6)


def _metric_value(metric: Metric, x: float):
    """A series value as the API writes it: whole cents and counts, two places otherwise."""
    if metric.unit in ("aud_cents", "count"):
        return int(round(x))
    return round(x, 2)


# --- trend_break --------------------------------------------------------------------------


def _weekly(ctx: _Context, values: dict[dt.date, float]) -> list[tuple[dt.date, float]]:
    """Complete Monday-to-Sunday weeks, oldest first, the last TREND_WEEKS of them."""
    if ctx.interval == "week":
        weeks = sorted((d, v) for d, v in values.items() if d.weekday() == 0)
        bound = _complete_bound(ctx)
        weeks = [(d, v) for d, v in weeks if d < bound]
        return weeks[-TREND_WEEKS:]
    end = _week_start(ctx.complete_until)  # weeks starting before this are complete
    out = []
    for k in range(TREND_WEEKS, 0, -1):
        start = end - dt.timedelta(weeks=k)
        days = [start + dt.timedelta(days=i) for i in range(7)]
        if not all(d in values for d in days):
            continue
        out.append((start, sum(values[d] for d in days)))
    return out


def _line_sse(ts: list[float], ys: list[float]) -> tuple[float, float]:
    n = len(ts)
    mt, my = sum(ts) / n, sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    slope = sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / sxx
    sse = sum((y - (my + slope * (t - mt))) ** 2 for t, y in zip(ts, ys, strict=True))
    return sse, slope


def _hinge(ys: list[float], b: int) -> tuple[float, float, float]:
    """Least squares y = a + s1·t + d·max(0, t − b): (sse, s1, s1 + d)."""
    n = len(ys)
    rows = [(1.0, float(t), float(max(0, t - b))) for t in range(n)]
    # Normal equations, 3×3, solved by Cramer's rule (no numpy for a 16-point fit).
    m = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    v = [sum(r[i] * y for r, y in zip(rows, ys, strict=True)) for i in range(3)]

    def det(a):
        return (
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        )

    d = det(m)
    if abs(d) < 1e-12:
        return math.inf, 0.0, 0.0
    coef = []
    for i in range(3):
        mi = [row[:] for row in m]
        for r in range(3):
            mi[r][i] = v[r]
        coef.append(det(mi) / d)
    a, s1, bend = coef
    sse = sum(
        (y - (a + s1 * t + bend * max(0, t - b))) ** 2 for t, y in zip(range(n), ys, strict=True)
    )
    return sse, s1, s1 + bend


def _trend_breaks(ctx: _Context) -> list[Finding]:
    out = []
    for key, values in ctx.series.items():
        metric = METRICS[key]
        weeks = _weekly(ctx, values)
        if len(weeks) < 2 * TREND_MIN_SEGMENT + 2:
            continue
        ys = [v for _, v in weeks]
        volume_weeks = _weekly(ctx, ctx.series.get(VOLUME_OF.get(key, key), values))
        if statistics.mean(v for _, v in volume_weeks) < MIN_WEEK_VOLUME:
            continue
        n = len(ys)
        sse0, _ = _line_sse(list(range(n)), ys)
        best = None
        # The bend lies in the recent half, so the weeks since it can be compared with as many
        # weeks just before it.
        for b in range(max(TREND_MIN_SEGMENT, n - 1 - n // 2), n - TREND_MIN_SEGMENT):
            sse1, s1, s2 = _hinge(ys, b)
            if best is None or sse1 < best[0]:
                best = (sse1, s1, s2, b)
        if best is None:
            continue
        sse1, s1, s2, b = best
        f_stat = (sse0 - sse1) / max(sse1 / (n - 3), 1e-9)
        typical = statistics.mean(abs(y) for y in ys) or 1.0
        bend = abs(s2 - s1) * (n - 1 - b)
        if f_stat < TREND_F or bend < TREND_MATERIAL * typical:
            continue
        break_week = weeks[b][0]
        recent = n - 1 - b  # weeks since the break
        last_week_end = weeks[-1][0] + dt.timedelta(days=6)
        first_recent = weeks[n - recent][0]
        per = metric.unit
        direction = "up" if s2 > s1 else "down"
        title = (
            f"{_possessive(metric.label)} weekly trend turned {direction} after the week of "
            f"{dates_label(break_week, break_week)}: {_signed(s2, per)} a week since, "
            f"after {_signed(s1, per)} a week before"
        )
        out.append(
            Finding(
                id=f"trend_break:{key}:{break_week.isoformat()}",
                kind="trend_break",
                metric=key,
                title_format=_escape(title),
                subjects=[],
                value=_metric_value(metric, sum(ys[n - recent :])),
                previous=_metric_value(metric, sum(ys[n - 2 * recent : n - recent])),
                change_pct=_pct(sum(ys[n - recent :]), sum(ys[n - 2 * recent : n - recent])),
                score=min(2.0 + bend / typical, 6.0),
                drill_url=drill(key, custom_params(first_recent, last_week_end)),
                period=custom_params(first_recent, last_week_end, "previous_period"),
                facts={
                    "slope_before": _metric_value(metric, s1),
                    "slope_after": _metric_value(metric, s2),
                    "weeks_since": recent,
                    "f_statistic": round(f_stat, 1),
                },
                figure=(s2, per),
                spark={"type": "line", "values": ys, "highlight": b},
            )
        )
    return out


def _possessive(label: str) -> str:
    return f"{label}'" if label.endswith("s") else f"{label}'s"


def _pct(value: float, previous: float) -> float | None:
    if not previous:
        return None
    return round((value - previous) / abs(previous) * 100, 2)


# --- concentration ------------------------------------------------------------------------


def _concentration(ctx: _Context) -> list[Finding]:
    out = []
    # Only the current period matters here: read it without its comparison.
    current = parse_state({**ctx.state.params(), "compare": "none"}, ctx.org, now=ctx.state.now)
    for key, noun in (("revenue", "revenue"), ("warranty_claims", "warranty claims")):
        metric = METRICS[key]
        if not ctx.allowed(key) or ctx.scope.owner is not None:
            continue
        rows = get_breakdown(ctx.org, current, key, "customer_id")
        rows = [r for r in rows if r["key"] is not None and _num(r["value"]) > 0]
        total = sum(_num(r["value"]) for r in rows)
        records = sum(int(r["records"] or 0) for r in rows)
        if len(rows) < MIN_CONCENTRATION_PARTIES or not total or records < MIN_VOLUME:
            continue
        top = rows[0]
        share = _num(top["value"]) / total
        if share < CONCENTRATION_SHARE:
            continue
        customer = Customer.objects.filter(organization_id=ctx.org.pk, pk=top["key"]).first()
        if customer is None:
            continue
        subject = Subject("customer", str(customer.pk), customer.name)
        verb = "made up" if key == "revenue" else "opened"
        title = "{0} " + _escape(
            f"{verb} {pct_text(share * 100)} of {noun} in the period "
            f"({short(top['value'], metric.unit)} of {short(total, metric.unit)}, "
            f"across {len(rows):,} customers)"
        )
        entry = ctx.entry(key)
        out.append(
            Finding(
                id=f"concentration:{key}:c{customer.pk}:{_period_key(ctx.state)}",
                kind="concentration",
                metric=key,
                title_format=title,
                subjects=[subject],
                value=entry["value"],
                previous=entry["previous"],
                change_pct=entry["change_pct"],
                score=min(share * 5, 6.0),
                drill_url=drill(key, ctx.state.params(), q=customer.name),
                period=ctx.state.params(),
                facts={
                    "share_pct": round(share * 100, 1),
                    "customer_value": top["value"],
                    "total": _metric_value(metric, total),
                    "customers": len(rows),
                },
                figure=(share * 100, "percent"),
                spark={"type": "bars", "values": [_num(top["value"]), total], "highlight": 0},
            )
        )
    return out


# --- target_risk --------------------------------------------------------------------------


def _target_risks(ctx: _Context) -> list[Finding]:
    keys = [k for k in ctx.payload["metrics"] if ctx.allowed(k)]
    user = User.objects.get(pk=ctx.scope.owner) if ctx.scope.owner is not None else None
    progress = targets_for_state(ctx.org, ctx.state, keys, user=user)
    out = []
    for key, p in progress.items():
        if not p or p["status"] == "on_track" or p["period"]["phase"] == "upcoming":
            continue
        metric = METRICS[key]
        finished = p["period"]["phase"] == "finished"
        outcome = p["actual"] if finished or metric.kind != "range" else p["forecast"]
        goal = p["value"]
        if outcome is None or goal in (None, 0):
            continue
        gap = (goal - float(outcome)) if metric.up_is_good else (float(outcome) - goal)
        if gap <= 0:
            continue
        gap_pct = gap / abs(goal) * 100
        label = p["period"]["label"]
        if metric.up_is_good:
            verb = "missed" if finished else "is forecast to miss"
            what = f"its {label} target of {short(goal, metric.unit)}"
        else:
            verb = "went over" if finished else "is forecast to go over"
            what = f"its {label} ceiling of {short(goal, metric.unit)}"
        outcome_word = "finished at" if finished else "forecast"
        gap_text = (
            f"{format_value(gap * 100, 'percent')[0].rstrip('%')} pts"
            if metric.unit == "ratio"
            else short(gap, metric.unit)
        )
        title = (
            f"{metric.label} {verb} {what} by {gap_text} "
            f"({outcome_word} {short(outcome, metric.unit)})"
        )
        entry = ctx.entry(key)
        out.append(
            Finding(
                id=f"target_risk:{key}:t{p['target_id']}",
                kind="target_risk",
                metric=key,
                title_format=_escape(title),
                subjects=[],
                value=entry["value"],
                previous=entry["previous"],
                change_pct=entry["change_pct"],
                score=min(1.0 + gap_pct / 5, 6.0),
                drill_url=drill(key, ctx.state.params()),
                period=ctx.state.params(),
                facts={
                    "target": goal,
                    "forecast": outcome,
                    "gap": _metric_value(metric, gap),
                    "gap_pct": round(gap_pct, 1),
                    "status": p["status"],
                },
                figure=(gap, metric.unit),
                spark={"type": "bars", "values": [float(outcome), float(goal)], "highlight": 0},
            )
        )
    return out


# --- outlier_record -----------------------------------------------------------------------


def _outliers(ctx: _Context) -> list[Finding]:
    out = []
    specs = (
        ("revenue", "total_cents", "ordered_at", "order"),
        ("warranty_claims", "cost_cents", "opened_at", "claim"),
    )
    # Records of the last OUTLIER_BASELINE_DAYS of the range are candidates, judged against
    # the OUTLIER_BASELINE_DAYS before them too (so a long range costs no more than a quarter).
    since = max(
        ctx.state.range.start_at,
        ctx.state.range.end_at - dt.timedelta(days=OUTLIER_BASELINE_DAYS),
    )
    start = since - dt.timedelta(days=OUTLIER_BASELINE_DAYS)
    for key, size_field, at_field, role in specs:
        if not ctx.allowed(key):
            continue
        rows = list(
            metric_records(ctx.org, key, start, ctx.state.range.end_at, owner=ctx.scope.owner)
            .order_by()
            .values_list("pk", size_field, at_field)
        )
        sizes = [float(r[1]) for r in rows]
        if len(sizes) < MIN_OUTLIER_BASELINE:
            continue
        med, scale = _robust(sizes)
        if med <= 0:
            continue
        scale = max(scale, 0.15 * med)
        in_range = [r for r in rows if r[2] >= since]
        if not in_range:
            continue
        pk, size, at = max(in_range, key=lambda r: (r[1], r[0]))
        times = float(size) / med
        if times < OUTLIER_TIMES or (float(size) - med) / scale < OUTLIER_Z:
            continue
        record = (
            metric_records(ctx.org, key, start, ctx.state.range.end_at)
            .filter(pk=pk)
            .select_related("customer")
            .first()
        )
        if record is None:
            continue
        label = getattr(record, "number", None) or f"#{pk}"
        subjects = [
            Subject(role, str(pk), label),
            Subject("customer", str(record.customer_id), record.customer.name),
        ]
        noun = "Order" if role == "order" else "Claim"
        amount = "for" if role == "order" else "costing"
        title = (
            f"{noun} {{0}} from {{1}} {amount} "
            + _escape(f"{short(size, 'aud_cents')}, {times:.1f}× the usual {role} of ")
            + _escape(short(med, "aud_cents"))
        )
        entry = ctx.entry(key)
        day = at.astimezone(ctx.state.tz).date()
        out.append(
            Finding(
                id=f"outlier_record:{key}:{role[0]}{pk}",
                kind="outlier_record",
                metric=key,
                title_format=title,
                subjects=subjects,
                value=entry["value"],
                previous=entry["previous"],
                change_pct=entry["change_pct"],
                score=min(times / 2.5, 6.0),
                drill_url=drill(
                    key,
                    ctx.state.params(),
                    bucket=day.isoformat(),
                    interval="day",
                    q=label if role == "order" else str(pk),
                ),
                period=ctx.state.params(),
                facts={
                    "record_size": int(size),
                    "usual_size": int(round(med)),
                    "times_usual": round(times, 1),
                    "size_unit": "aud_cents",
                },
                figure=(int(size), "aud_cents"),
                spark={"type": "bars", "values": [med, float(size)], "highlight": 1},
            )
        )
    return out
