"""Preview: replay a rule over the last 90 days before it is saved (docs/alerts.md, "Preview").

Each finished local day is one check, as at the end of that day: the rule's range and
comparison are resolved for that moment by the metric layer's own period parser, and the
metric's value comes from the metric's own formula over one daily read of its source (plus,
for a state metric, one read of everything before), through the same hybrid engine as
`/api/dashboard/metrics`. The replay then runs the same state machine as the live checks
(alerts.evaluate.advance), so the days it would have fired and resolved are the days people
would have been told. `pending_checks` counts days here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.utils import timezone

from alerts.conditions import Reading, classify, value_words
from alerts.evaluate import Snapshot, advance
from alerts.models import Notice
from alerts.readings import rule_state, scope_user
from metrics.coverage import LazyCoverage
from metrics.definitions import METRICS, SOURCES
from metrics.engine import Frame, Slice, TimeWindow, read
from metrics.filters import InvalidFilter, slice_args
from metrics.periods import InvalidPeriod, Window, local_date, local_midnight
from metrics.queries import compare_entry
from metrics.scope import owner_for

DAYS = 90
ONE_DAY = dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)
NOTICE_STATES = {Notice.FIRED: "firing", Notice.RESOLVED: "ok", Notice.FLAPPING: "pending"}


class PreviewError(ValueError):
    """The rule cannot be replayed; the message says why."""


@dataclass
class Preview:
    days: int
    fired: list[dt.date] = field(default_factory=list)
    resolved: list[dt.date] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    summary: str = ""


def _span(window: Window) -> tuple[dt.date, dt.date]:
    return window.start, window.last_day


def _value(metric, frame: Frame, baseline: Frame | None, span):
    lo, hi = span
    if metric.is_state:
        groups = frame.group(0, lambda key: 0 if key[0] <= hi else None)
        total = Frame(frame.source, 1, frame.dims)
        if baseline is not None:
            total.absorb(baseline)
        if 0 in groups:
            total.absorb(groups[0])
    else:
        groups = frame.group(0, lambda key: 0 if lo <= key[0] <= hi else None)
        total = groups.get(0) or Frame(frame.source, 1, frame.dims)
    return metric.value(lambda measure, **dims: total.total(0, measure, **dims))


def _day_label(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def preview_rule(rule, *, now: dt.datetime | None = None, days: int = DAYS) -> Preview:
    """What the rule would have done on each of the last `days` finished days."""
    if rule.condition == "target_status":
        raise PreviewError(
            "Preview replays numbers and changes; a target's status depends on the targets "
            "set at the time, so it is not replayed."
        )
    metric = METRICS[rule.metric]
    source = SOURCES[metric.source]
    now = now or timezone.now()
    org = rule.organization
    tz = zoneinfo.ZoneInfo(org.timezone)
    today = local_date(now, tz)
    checks = [today - dt.timedelta(days=n) for n in range(days, 0, -1)]
    try:
        # Each check as at the last instant of its day.
        states = [rule_state(rule, local_midnight(d + ONE_DAY, tz) - TICK) for d in checks]
    except (InvalidPeriod, InvalidFilter) as exc:
        raise PreviewError(str(exc)) from None
    args = slice_args(states[0].filters, source, owner_for(scope_user(rule), metric))
    if args is None:
        raise PreviewError(f"{metric.label} cannot be filtered by the rule's filters")
    change = rule.condition in ("change_up_pct", "change_down_pct")
    spans = [_span(s.range) for s in states]
    previous = [_span(s.comparison) if change and s.comparison else None for s in states]
    lows = [lo for lo, _ in spans] + [p[0] for p in previous if p]
    highs = [hi for _, hi in spans] + [p[1] for p in previous if p]
    lo, hi = min(lows), max(highs)
    where = Slice.of(**args).for_source(source)
    coverage = LazyCoverage(org.pk, tz)
    window = TimeWindow(local_midnight(lo, tz), local_midnight(hi + ONE_DAY, tz))
    frame = read(org.pk, tz, source, [window], daily=True, coverage=coverage, where=where)
    baseline = None
    if metric.is_state:
        base = TimeWindow(None, local_midnight(lo, tz))
        baseline = read(org.pk, tz, source, [base], coverage=coverage, where=where)
    result = Preview(days=days)
    snap = Snapshot()
    for day, span, prev_span in zip(checks, spans, previous, strict=True):
        value = _value(metric, frame, baseline, span)
        if change:
            before = _value(metric, frame, baseline, prev_span) if prev_span else None
            pct = compare_entry(metric, value, before)["change_pct"]
            reading = Reading(value=None if pct is None else float(pct))
        else:
            entry = compare_entry(metric, value, None)
            reading = Reading(value=None if entry["value"] is None else float(entry["value"]))
        kind = classify(rule, reading, firing=snap.state == "firing")
        step = advance(snap, kind, pending_checks=rule.pending_checks)
        snap = step.snapshot
        for event in step.events:
            if event.notice == Notice.FIRED:
                result.fired.append(day)
            elif event.notice == Notice.RESOLVED:
                result.resolved.append(day)
            if event.notice in (Notice.FIRED, Notice.RESOLVED, Notice.FLAPPING):
                result.changes.append(
                    {
                        "day": _day_label(day),
                        "date": day.isoformat(),
                        "state": NOTICE_STATES[Notice(event.notice)],
                        "label": Notice(event.notice).label,
                        "value": value_words(rule, reading.value, reading.text),
                    }
                )
    result.summary = summary(result)
    return result


def summary(result: Preview) -> str:
    if not result.fired:
        return f"It would not have fired in the last {result.days} days."
    days = ", ".join(_day_label(d) for d in result.fired[:6])
    more = f" and {len(result.fired) - 6} more" if len(result.fired) > 6 else ""
    n = len(result.fired)
    text = f"It would have fired on {n} day{'s' if n != 1 else ''}: {days}{more}"
    if result.resolved:
        r = len(result.resolved)
        text += f"; resolved {r} time{'s' if r != 1 else ''}"
    return text + "."
