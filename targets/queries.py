"""Target progress: actual against target, the expected pace to date, a forecast and a status.

How progress is judged (the thresholds are the constants below, defined only here):

* Metrics that add up over days (revenue, kWh, counts, hours) are paced while their period
  runs. The expected share of the target by now follows last year's shape: the share of last
  year's same-period total that had been reached at the same elapsed point (same local
  wall-clock span into the period). When last year has no data for the period, or had
  nothing yet by that point, the share is linear in elapsed local days.
  expected_to_date = target × share, pace_pct = actual / expected_to_date × 100,
  forecast = actual / share.
  Status: ``on_track`` when pace ≥ 98 % (the forecast reaches 98 % of the target),
  ``at_risk`` when pace ≥ 90 %, ``behind`` below.
* Rates (quote_win_rate, average_order_value) and state metrics (pipeline_value, open claims…,
  read at the end instant) are not paced: the actual is compared with the target directly,
  with the same 98 % / 90 % thresholds.
* A finished period compares its final actual with the target: ``met`` when it reached it
  (≥ 100 %), ``missed`` otherwise. The same two words on the cards, the API and the targets page.
* A period that has not started is ``on_track`` (nothing is expected yet).
* Where down is good (quotes_lost, warranty_claims, open_warranty_claims) the target is a
  ceiling and every comparison inverts: performance = expected / actual instead of
  actual / expected.
* A rate with no actual (nothing closed yet) is ``at_risk`` while running, ``missed`` when
  finished.
* Roll-up: a quarter or financial year without an explicit target of its own gets one for an
  additive metric by summing its monthly targets, when every month has one (``source`` is
  ``rolled_up``, with how many months). Rates and state metrics do not sum: they show the
  target of the range's last month (``source`` ``last_month``), measured over the range.

Progress is measured "as of" an instant: the end of the dashboard's selected range (now for a
running range), so a link to a past range reproduces the progress as it stood then.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from metrics import cache as metric_cache
from metrics.definitions import METRICS
from metrics.engine import WHOLE, Slice, TimeWindow
from metrics.periods import (
    DashboardState,
    add_months,
    local_midnight,
    parse_state,
    shift_year,
    unit_bounds,
)
from metrics.queries import compute_values_and
from targets.models import (
    MONTHS_IN,
    PERIOD_KINDS_BY_SIZE,
    PeriodKind,
    Target,
    period_bounds,
    period_label,
)

ON_TRACK_AT = 0.98  # running: pace (or actual / target when not paced) at least 98 %
AT_RISK_AT = 0.90  # running or finished: at least 90 %; below this a target is behind
MET_AT = 1.00  # finished: on track only when the target was met

STATUSES = ("on_track", "at_risk", "behind")  # while a period runs (or before it starts)
FINAL_STATUSES = ("met", "missed")  # once it has finished
STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "behind": "Behind",
    "met": "Met",
    "missed": "Missed",
}
UPCOMING, RUNNING, FINISHED = "upcoming", "running", "finished"


def status_word(status: str, phase: str | None = None) -> str:
    """How a target's status reads on every screen and delivery: "Not started" before its
    period begins, else "On track", "At risk", "Behind", "Met" or "Missed"."""
    if phase == UPCOMING:
        return "Not started"
    return STATUS_LABELS.get(status, status)


def status_for(performance: float | None, *, finished: bool) -> str:
    """Map performance (actual / expected, inverted where down is good) to a status: met or
    missed for a finished period, on_track, at_risk or behind while it runs."""
    if finished:
        return "met" if performance is not None and performance >= MET_AT else "missed"
    if performance is None:
        return "at_risk"
    if performance >= ON_TRACK_AT:
        return "on_track"
    if performance >= AT_RISK_AT:
        return "at_risk"
    return "behind"


def performance(actual: float | None, reference: float | None, up_is_good: bool) -> float | None:
    """How well `actual` does against `reference`: 1.0 is exactly on it, above is better."""
    if actual is None or reference is None:
        return None
    if up_is_good:
        return actual / reference if reference > 0 else math.inf
    return reference / actual if actual > 0 else math.inf


# --- Reading a period ------------------------------------------------------------------------


@dataclass
class PeriodReading:
    """The actuals of one target period as of an instant, with last year's shape."""

    kind: str
    start: dt.date
    end: dt.date
    phase: str
    elapsed_share: float  # linear, in local wall-clock time
    # Metric values as the engine returns them (int, float or Decimal), None when undefined.
    actual: dict[str, float | Decimal | None] = field(default_factory=dict)
    last_year_to_date: dict[str, float | Decimal | None] = field(default_factory=dict)
    last_year_total: dict[str, float | Decimal | None] = field(default_factory=dict)


def _elapsed_share(start: dt.date, end: dt.date, cut: dt.datetime, tz) -> float:
    # Tricky: measured on the local wall clock, so a day is a day even when it has 23 or 25
    # hours at a daylight-saving change, and local midnight always lands on a whole day.
    local = cut.astimezone(tz).replace(tzinfo=None)
    elapsed = (local - dt.datetime.combine(start, dt.time.min)).total_seconds()
    total = ((end - start).days + 1) * 86_400
    return min(1.0, max(0.0, elapsed / total))


def read_period(organization, kind: str, start: dt.date, keys: list[str], at, user=None):
    """Actuals of `keys` over the target period up to `at`, plus last year's same period."""
    tz = organization.tz
    end = period_bounds(kind, start)[1]
    start_at = local_midnight(start, tz)
    end_at = local_midnight(end + dt.timedelta(days=1), tz)
    cut = min(max(at, start_at), end_at)
    phase = UPCOMING if at <= start_at else FINISHED if at >= end_at else RUNNING
    reading = PeriodReading(kind, start, end, phase, _elapsed_share(start, end, cut, tz))
    if not keys:
        return reading
    paced = [k for k in keys if METRICS[k].kind == "range"] if phase == RUNNING else []
    params = {"from": start.isoformat(), "to": end.isoformat()}
    state = parse_state(
        {**params, "compare": "previous_year" if paced else "none"}, organization, now=cut
    )
    # Last year's whole period (the pace's denominator) is read beside the period and last
    # year's same days, in the same read of each source.
    ly_start = shift_year(start)
    ly_whole = TimeWindow(
        local_midnight(ly_start, tz),
        local_midnight(period_bounds(kind, ly_start)[1] + dt.timedelta(days=1), tz),
    )
    where = WHOLE if user is None else Slice.of(owner=user.pk)
    values, totals = compute_values_and(
        organization, state, keys, where=where, extra=ly_whole, extra_keys=tuple(paced)
    )
    reading.actual = {k: v for k, (v, _) in values.items()}
    if paced:
        reading.last_year_to_date = {k: values[k][1] for k in paced}
        reading.last_year_total = {k: totals[k] for k in paced}
    return reading


# --- Progress --------------------------------------------------------------------------------


def _rounded(unit: str, value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if unit == "aud_cents":
        return round(value)
    if unit == "ratio":
        return round(float(value), 4)
    if unit == "count" and float(value).is_integer():
        return int(value)
    return round(float(value), 2)


def _progress(target: Target, reading: PeriodReading) -> dict:
    metric = METRICS[target.metric]
    goal = float(target.value)
    raw_actual = reading.actual.get(metric.key)
    actual = None if raw_actual is None else float(raw_actual)
    finished = reading.phase == FINISHED
    expected = forecast = pace_pct = None
    basis = None
    if metric.kind == "range":
        actual = actual or 0.0
        share = {UPCOMING: 0.0, FINISHED: 1.0}.get(reading.phase, reading.elapsed_share)
        if reading.phase == RUNNING:
            basis = "linear"
            ly_total = reading.last_year_total.get(metric.key)
            ly_to_date = reading.last_year_to_date.get(metric.key)
            if ly_total and ly_to_date and ly_total > 0 and ly_to_date > 0:
                share, basis = min(1.0, float(ly_to_date) / float(ly_total)), "last_year"
        expected = goal * share
        forecast = actual / share if share > 0 else None
        pace_pct = round(actual / expected * 100, 1) if expected > 0 else None
        reference = goal if finished else expected
    else:
        forecast = actual
        reference = goal
    met = None
    if finished:
        final = performance(actual, goal, metric.up_is_good)
        met = final is not None and final >= MET_AT
    if reading.phase == UPCOMING or (not finished and reference == 0 and metric.kind == "range"):
        status = "on_track"
    else:
        status = status_for(performance(actual, reference, metric.up_is_good), finished=finished)
    return {
        "target_id": target.pk,
        "metric": metric.key,
        "value": _rounded(metric.unit, goal),
        "unit": metric.unit,
        "actual": raw_actual if metric.kind != "range" else _rounded(metric.unit, actual),
        "progress_pct": None if actual is None else round(actual / goal * 100, 1),
        "status": status,
        "expected_to_date": _rounded(metric.unit, expected),
        "forecast": _rounded(metric.unit, forecast),
        "pace_pct": pace_pct,
        "pace_basis": basis,
        "met": met,
        "source": getattr(target, "source", "explicit"),
        "rollup": getattr(target, "rollup", None),
        "period": {
            "kind": reading.kind,
            "from": reading.start.isoformat(),
            "to": reading.end.isoformat(),
            "label": period_label(reading.kind, reading.start),
            "phase": reading.phase,
            "elapsed_pct": round(reading.elapsed_share * 100, 1),
        },
    }


def progress_for_targets(organization, targets: Iterable[Target], at: dt.datetime) -> dict:
    """{target id: progress} for targets of one organisation, as of the instant `at`.

    One engine read per target period (and person), shared by all metrics of that period.
    """
    targets = list(targets)
    return {
        target.pk: progress
        for target, progress in zip(targets, _progress_list(organization, targets, at), strict=True)
    }


def _progress_list(organization, targets: list[Target], at: dt.datetime) -> list[dict | None]:
    """Progress of each target (saved or built by a roll-up), in order."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, target in enumerate(targets):
        groups[(target.period_kind, target.period_start, target.user_id)].append(i)
    out: list[dict | None] = [None] * len(targets)
    for (kind, start, _user_id), members in groups.items():
        group = [targets[i] for i in members]
        keys = sorted({t.metric for t in group if t.metric in METRICS})
        user = group[0].user if group[0].user_id else None
        reading = read_period(organization, kind, start, keys, at, user=user)
        for i in members:
            if targets[i].metric in METRICS:
                out[i] = _progress(targets[i], reading)
    return out


def containing_periods(state: DashboardState, fiscal_start_month: int) -> list[tuple[str, dt.date]]:
    """Target periods (smallest first) that fully contain the state's range."""
    out = []
    for kind in PERIOD_KINDS_BY_SIZE:
        start, end = unit_bounds(kind, state.range.start, fiscal_start_month)
        if state.range.end <= end:
            out.append((kind.value, start))
    return out


def _derived(template: Target, kind: str, start: dt.date, value, rollup: dict) -> Target:
    """An unsaved target for a period without its own, built from monthly targets."""
    target = Target(
        organization_id=template.organization_id,
        metric=template.metric,
        period_kind=kind,
        period_start=start,
        value=value,
        user_id=template.user_id,
    )
    target.source = "rolled_up"  # type: ignore[attr-defined]
    target.rollup = rollup  # type: ignore[attr-defined]
    return target


def _rolled_up(
    metric_key: str, kind: str, start: dt.date, range_end: dt.date, months: dict
) -> Target | None:
    """A quarter's or year's target from its monthly ones: the sum of every month for an
    additive metric (all months needed), the range's last month for a rate or state metric."""
    if kind == PeriodKind.MONTH:
        return None
    mine = months.get(metric_key, {})
    if METRICS[metric_key].additive:
        starts = [add_months(start, n) for n in range(MONTHS_IN[kind])]
        if not all(m in mine for m in starts):
            return None
        total = sum((mine[m].value for m in starts), Decimal(0))
        rollup = {"rule": "sum", "months": len(starts)}
        return _derived(mine[starts[0]], kind, start, total, rollup)
    last = range_end.replace(day=1)
    if last not in mine:
        return None
    rollup = {"rule": "last_month", "months": 1, "month": period_label("month", last)}
    return _derived(mine[last], kind, start, mine[last].value, rollup)


def targets_for_state(organization, state: DashboardState, keys: list[str], user=None) -> dict:
    """{metric: progress or None} for the dashboard's range; one Target query in all.

    A metric's target comes from the smallest period (month, quarter or financial year) that
    fully contains the range: its own target, or else one rolled up from its monthly targets
    (see the module docstring); org-wide unless `user` is given.
    """
    result: dict[str, dict | None] = {key: None for key in keys}
    periods = containing_periods(state, organization.fiscal_year_start_month)
    if not periods or not keys:
        return result
    matches = Q()
    for kind, start in periods:
        matches |= Q(period_kind=kind, period_start=start)
    # Monthly targets inside the largest containing period, for roll-ups.
    outer_kind, outer_start = periods[-1]
    outer_end = period_bounds(outer_kind, outer_start)[1]
    matches |= Q(period_kind=PeriodKind.MONTH, period_start__range=(outer_start, outer_end))
    targets = Target.objects.for_org(organization).filter(matches, metric__in=keys)
    targets = targets.for_person(user) if user is not None else targets.org_wide()
    explicit: dict[tuple, Target] = {}
    months: dict[str, dict[dt.date, Target]] = defaultdict(dict)
    for target in targets:
        explicit[(target.metric, target.period_kind, target.period_start)] = target
        if target.period_kind == PeriodKind.MONTH:
            months[target.metric][target.period_start] = target
    chosen: dict[str, Target] = {}
    for key in keys:
        for kind, start in periods:
            found = explicit.get((key, kind, start)) or _rolled_up(
                key, kind, start, state.range.end, months
            )
            if found is not None:
                chosen[key] = found
                break
    if user is not None:
        for target in chosen.values():
            target.user = user
    order = list(chosen)
    progress = _progress_list(organization, [chosen[k] for k in order], state.range.end_at)
    result.update(zip(order, progress, strict=True))
    return result


def target_progress(organization, metric_key: str, state: DashboardState, user=None) -> dict | None:
    """Progress of the target for one metric over the state's range, or None without one."""
    return targets_for_state(organization, state, [metric_key], user=user)[metric_key]


# --- Reads for the screens -------------------------------------------------------------------


def targets_in_fiscal_year(organization, fy_start: dt.date):
    """Every target (org-wide and personal) whose period starts within the financial year."""
    fy_end = period_bounds("fiscal_year", fy_start)[1]
    return (
        Target.objects.for_org(organization)
        .starting_between(fy_start, fy_end)
        .select_related("user")
        .order_by("period_start", "period_kind", "metric", "user__email")
    )


def fiscal_years_with_targets(organization) -> list[dt.date]:
    """Starts of the financial years that have at least one target, newest first."""
    fiscal = organization.fiscal_year_start_month
    starts = (
        Target.objects.for_org(organization)
        .values_list("period_start", flat=True)
        .order_by("period_start")
        .distinct()
    )
    return sorted({unit_bounds("fiscal_year", s, fiscal)[0] for s in starts}, reverse=True)


def attach_targets(organization, state, payload: dict, user=None) -> dict:
    """Fill each metric's `target` in a §10 payload (cached with the metrics' sources): the
    organisation's targets, or `user`'s personal ones for a payload of their own numbers."""
    keys = sorted(payload["metrics"])
    parts = {"targets", *(METRICS[k].source for k in keys)}
    key = metric_cache.make_key(
        organization.pk,
        "targets:" + ",".join(keys),
        state,
        parts,
        f"o{user.pk}" if user is not None else "",
    )
    progress = metric_cache.get_or_compute(
        key, lambda: targets_for_state(organization, state, keys, user=user)
    )
    for key, entry in payload["metrics"].items():
        target = progress.get(key)
        entry["target"] = api_target(target) if target else None
    return payload


API_TARGET_FIELDS = (
    "value",
    "actual",
    "progress_pct",
    "status",
    "expected_to_date",
    "pace_pct",
    "forecast",
    "source",
    "rollup",
    "period",
)


def api_target(progress: dict) -> dict:
    """The `target` object of a §10 metric: value, progress, pace, forecast, where the target
    comes from (explicit or rolled_up) and its status (on_track, at_risk, behind; met, missed)."""
    return {name: progress.get(name) for name in API_TARGET_FIELDS}
