"""What a rule's condition says about one reading, and how the line reads (docs/alerts.md).

A reading is the rule's number as the JSON API computes it (alerts.readings): the metric's value
in its API unit for `above`/`below`, its `change_pct` for `change_*_pct`, its target's status for
`target_status`. Comparisons are strict: "above $10k" fires at $10,000.01, not at $10,000.
While a rule fires, it keeps firing until the number is back on the good side of the resolve
threshold (hysteresis); without one, the threshold itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics.definitions import METRICS
from metrics.formatting import format_value
from targets.queries import status_word

BREACH, CLEAR, NO_DATA, ERROR = "breach", "clear", "no_data", "error"
# A target status and the statuses that are at least as bad.
TARGET_SEVERITY = {"on_track": 0, "met": 0, "at_risk": 1, "behind": 2, "missed": 3}


@dataclass(frozen=True)
class Reading:
    """One check's number: `value` (a float, or None) or `text` (a target status), or an
    `error` saying why there is no number."""

    value: float | None = None
    text: str = ""
    error: str = ""


def classify(rule, reading: Reading, *, firing: bool) -> str:
    """BREACH, CLEAR, NO_DATA or ERROR for `reading` under `rule`; a firing rule is measured
    against its resolve threshold."""
    if reading.error:
        return ERROR
    if rule.condition == "target_status":
        if not reading.text:
            return NO_DATA
        level = TARGET_SEVERITY.get(rule.target_status, 9)
        return BREACH if TARGET_SEVERITY.get(reading.text, 0) >= level else CLEAR
    if reading.value is None:
        return NO_DATA
    line = rule.threshold
    if firing and rule.resolve_threshold is not None:
        line = rule.resolve_threshold
    if line is None:
        return ERROR
    value = reading.value
    if rule.condition == "above":
        return BREACH if value > line else CLEAR
    if rule.condition == "below":
        return BREACH if value < line else CLEAR
    if rule.condition == "change_up_pct":
        return BREACH if value > line else CLEAR
    if rule.condition == "change_down_pct":
        return BREACH if value < -line else CLEAR
    if rule.condition in ("job_failing", "data_stale"):
        return BREACH if value > line else CLEAR
    return ERROR


def unit_of(rule) -> str:
    """The unit a rule's numbers are in: the metric's API unit, or percent for changes."""
    if rule.condition in ("change_up_pct", "change_down_pct"):
        return "percent"
    if rule.metric in METRICS:
        return METRICS[rule.metric].unit
    return "count"


def value_words(rule, value: float | None, text: str = "") -> str:
    """A reading as people read it: "$12,345.00 AUD", "-12.5%", "At risk"."""
    if rule.condition == "target_status":
        return status_word(text) if text else "No data"
    if rule.condition in ("change_up_pct", "change_down_pct") and value is not None:
        size = format_value(abs(value), "percent")[0]
        return f"up {size}" if value > 0 else f"down {size}" if value < 0 else "unchanged"
    return format_value(value, unit_of(rule))[1]


def line_words(rule) -> str:
    """The condition as a phrase: "above $10,000.00 AUD", "falls by more than 10%"."""
    unit = unit_of(rule)
    if rule.condition == "job_failing":
        return f"fires when a job has failed {int(rule.threshold or 0) + 1} times in a row"
    if rule.condition == "data_stale":
        return "fires when a summary misses its refresh cadence twice, or beat stops"
    if rule.condition == "target_status":
        return f"target {rule.get_target_status_display()}"
    if rule.threshold is None:
        return rule.get_condition_display()
    line = format_value(rule.threshold, unit)[0 if unit == "percent" else 1]
    words = {
        "above": f"above {line}",
        "below": f"below {line}",
        "change_up_pct": f"up by more than {line}",
        "change_down_pct": f"down by more than {line}",
    }.get(rule.condition, rule.get_condition_display())
    if rule.resolve_threshold is not None and rule.condition not in ("job_failing", "data_stale"):
        words += f" (resolves at {format_value(rule.resolve_threshold, unit)[1]})"
    return words
