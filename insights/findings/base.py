"""What every kind of finding shares: the thresholds, the Finding and its Subjects, the scope the
findings read (the user's scope and the dashboard's filters), and small number helpers.

Words come from the metric layer's vocabulary (metrics.formatting, metrics.periods); insights sit
below presentation, so they never import it (docs/architecture.md, "Presentation vocabulary").
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from metrics.definitions import METRICS, SOURCES, Metric
from metrics.filters import Filters, not_applying, slice_args
from metrics.formatting import format_value
from metrics.periods import DashboardState
from metrics.scope import may_see_source, owner_for

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
    at_stake: int | None = None  # the AUD cents the finding is about (None: not money)

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
            "at_stake": self.at_stake,
            "drill_url": self.drill_url,
            "unit": self.unit,
            "period": self.period,
            "facts": self.facts,
        }


@dataclass(frozen=True)
class Scope:
    """Whose rows the findings read: `owner` (a technician's own), the sources the user may
    see, and the dashboard's filters (metrics.filters). `sources` are those the filters can
    narrow; `left_out` those they cannot, which findings leave out rather than read unfiltered."""

    owner: int | None
    sources: frozenset[str]
    filters: Filters = ()
    left_out: frozenset[str] = frozenset()

    def token(self) -> str:
        """The cache slice: the owner and the filters."""
        owner = "" if self.owner is None else f"o{self.owner}"
        return owner + ("|" + ";".join(f"{k}={v}" for k, v in self.filters) if self.filters else "")

    def slice(self, source: str) -> dict:
        """get_metrics/get_timeseries/get_breakdown/metric_records arguments for `source`."""
        return slice_args(self.filters, source, self.owner) or {"owner": self.owner}

    def owner_of(self, source: str) -> int | None:
        """The owner a source is read in: the user's own rows, or an owner filter."""
        return self.slice(source)["owner"]


EVERYTHING = Scope(None, frozenset(SOURCES))


def scope_for(user, filters: Filters = ()) -> Scope:
    """The user's scope (metrics.scope: the sources they may see, a technician's own rows),
    narrowed by the dashboard's filters."""
    visible = (
        frozenset(SOURCES)
        if user is None
        else frozenset(s for s in SOURCES if may_see_source(user, s))
    )
    owners = {owner_for(user, s) for s in visible} if user is not None else {None}
    owner = owners.pop() if len(owners) == 1 else None
    left_out = frozenset(s for s in visible if not_applying(filters, [s]))
    return Scope(owner, visible - left_out, tuple(filters), left_out)


def payload_keys(scope: Scope) -> list[str]:
    """The metrics the findings start from (over the scope's sources)."""
    return [k for k, m in METRICS.items() if m.source in scope.sources]


# --- Helpers ----------------------------------------------------------------------------------


def short(value, unit: str) -> str:
    return format_value(value, unit)[0]


def pct_text(pct: float) -> str:
    return format_value(abs(pct), "percent")[0]


def num(value) -> float:
    return float(value) if value is not None else 0.0


def escape(text: str) -> str:
    """A literal title for str.format (braces in text are not fields)."""
    return text.replace("{", "{{").replace("}", "}}")


def signed(value: float, unit: str) -> str:
    text = short(abs(value), unit)
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def lower_label(metric: Metric) -> str:
    """A label inside a sentence: "revenue", "kWh deployed"."""
    return metric.label[0].lower() + metric.label[1:]


def pct(value: float, previous: float) -> float | None:
    if not previous:
        return None
    return round((value - previous) / abs(previous) * 100, 2)


def metric_value(metric: Metric, x: float):
    """A series value as the API writes it: whole cents and counts, two places otherwise."""
    if metric.unit in ("aud_cents", "count"):
        return int(round(x))
    return round(x, 2)


def money_at_stake(metric: Metric, amount: float | None) -> int | None:
    """The AUD cents a finding is about when its metric is money, else None."""
    if metric.unit != "aud_cents" or amount is None:
        return None
    return int(round(abs(amount)))


def drill(metric: str, params: dict, **extra) -> str:
    """/dashboard/drill/<metric>/?<state params>[&…]: the records behind a finding."""
    query = {**params, **{k: v for k, v in extra.items() if v not in (None, "")}}
    return f"/dashboard/drill/{metric}/?{urlencode(query)}"


def custom_params(first: dt.date, last: dt.date, compare: str = "none", filters=()) -> dict:
    return {"from": first.isoformat(), "to": last.isoformat(), "compare": compare, **dict(filters)}


def period_key(state: DashboardState) -> str:
    return f"{state.range.start}..{state.range.end}:{state.compare}"


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def robust(values: list[float]) -> tuple[float, float]:
    """(median, 1.4826 × MAD): a location and scale that one spike cannot move."""
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    return med, 1.4826 * mad


def floor_scale(metric: Metric, median: float) -> float:
    # Tricky: with few baseline points MAD can be near zero; counts are at least Poisson-noisy
    # (√median) and amounts at least 15 % of the median, so a flat baseline does not shout.
    floor = 0.15 * abs(median)
    if metric.unit == "count":
        floor = max(floor, math.sqrt(max(median, 1.0)))
    return max(floor, 1e-9)


@dataclass
class Series:
    """The scanned metrics' closed days (or weeks): what unusual days and trend breaks read."""

    values: dict[str, dict[dt.date, float]]  # metric -> {day or week start: value}
    interval: str  # "day" or "week"
    complete_until: dt.date  # buckets starting before this are complete (and closed)

    def complete_bound(self) -> dt.date:
        """Buckets starting on or after this date are not complete yet."""
        if self.interval == "day":
            return self.complete_until
        # A week (Monday to Sunday) is complete when its Sunday is.
        return self.complete_until - dt.timedelta(days=6)


@dataclass
class Context:
    org: Any
    state: DashboardState
    scope: Scope
    payload: dict
    series: Series

    def allowed(self, metric: str) -> bool:
        return METRICS[metric].source in self.scope.sources

    def entry(self, metric: str) -> dict:
        return self.payload["metrics"][metric]

    def period(self) -> dict:
        """The metrics API parameters of the state, filters included."""
        return self.state.params()
