"""Each metric rule's number, exactly as `/api/dashboard/metrics` computes it for the rule's
owner (docs/alerts.md, "Where the numbers come from").

Rules are grouped by (organisation, range, comparison, filters, scope), and each group is one
`get_filtered_metrics` over the group's metrics (plus one targets read when a rule of the group
watches a target), so the cost of a check grows with the number of groups, not with the number
of rules or with history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.http import QueryDict

from accounts.permissions import sees_own_rows_only
from alerts.conditions import Reading
from metrics.filters import InvalidFilter, parse_filters
from metrics.periods import DashboardState, InvalidPeriod, parse_state
from metrics.queries import get_filtered_metrics
from metrics.scope import ORGANIZATION, OWN
from targets.queries import attach_targets


def rule_params(rule) -> QueryDict:
    """The rule's range, comparison and filters as the dashboard's URL would carry them."""
    params = QueryDict(mutable=True)
    params["range"] = rule.range_preset
    params["compare"] = rule.compare
    for name, value in (rule.filters or {}).items():
        params[str(name)] = str(value)
    return params


CHANGES = ("change_up_pct", "change_down_pct")


def reading_compare(rule) -> str:
    """The comparison a rule's reading needs: its own for a change, else none (a value needs
    no previous period, and reading none halves the work)."""
    return rule.compare if rule.condition in CHANGES else "none"


def rule_state(rule, now: dt.datetime) -> DashboardState:
    """The dashboard state a rule is read in at `now`; raises InvalidPeriod or InvalidFilter."""
    params = rule_params(rule)
    params["compare"] = reading_compare(rule)
    state = parse_state(params, rule.organization, now=now)
    return dataclasses.replace(state, filters=parse_filters(params, rule.organization))


def scope_user(rule):
    """The user whose scope the rule is read in: a technician reads their own jobs and
    activities (metrics.scope); everyone else reads the organisation's numbers."""
    return rule.owner if sees_own_rows_only(rule.owner) else None


def payload_for(organization, state: DashboardState, keys: list[str], user, targets: bool):
    """The §10 payload `/api/dashboard/metrics` answers for these keys, in `user`'s scope,
    with targets attached the same way when asked (never to filtered numbers)."""
    payload = get_filtered_metrics(organization, state, keys, user=user)
    if targets and not state.filters:
        entries = payload["metrics"]
        for word, who in ((ORGANIZATION, None), (OWN, user)):
            scoped = {k: e for k, e in entries.items() if e["scope"] == word}
            if scoped:
                attach_targets(organization, state, {**payload, "metrics": scoped}, user=who)
    return payload


def reading_of(rule, entry: dict | None) -> Reading:
    """The rule's reading from its metric's §10 entry."""
    if entry is None:
        return Reading(error="The metric was not computed")
    if entry.get("not_filtered_by"):
        names = ", ".join(entry["not_filtered_by"])
        return Reading(error=f"This metric cannot be filtered by {names}")
    if rule.condition in CHANGES:
        pct = entry.get("change_pct")
        return Reading(value=None if pct is None else float(pct))
    if rule.condition == "target_status":
        target = entry.get("target") or {}
        return Reading(text=target.get("status") or "")
    value = entry.get("value")
    return Reading(value=None if value is None else float(value))


def group_key(rule) -> tuple:
    user = scope_user(rule)
    filters = tuple(sorted((rule.filters or {}).items()))
    return (
        rule.organization_id,
        rule.range_preset,
        rule.compare,
        filters,
        getattr(user, "pk", None),
    )


def read_rules(rules: Iterable, now: dt.datetime) -> tuple[dict[int, Reading], int]:
    """{rule id: its reading} for metric rules at `now`, and how many metric reads it took
    (one per group)."""
    groups: dict[tuple, list] = defaultdict(list)
    for rule in rules:
        groups[group_key(rule)].append(rule)
    out: dict[int, Reading] = {}
    reads = 0
    for members in groups.values():
        first = members[0]
        try:
            state = rule_state(first, now)
        except (InvalidPeriod, InvalidFilter) as exc:
            out.update({r.pk: Reading(error=str(exc)) for r in members})
            continue
        keys = sorted({r.metric for r in members})
        targets = any(r.condition == "target_status" for r in members)
        try:
            payload = payload_for(first.organization, state, keys, scope_user(first), targets)
        except Exception as exc:  # noqa: BLE001 - a failing read is the rules' "error" state
            out.update({r.pk: Reading(error=f"{type(exc).__name__}: {exc}"[:200]) for r in members})
            continue
        reads += 1
        for rule in members:
            out[rule.pk] = reading_of(rule, payload["metrics"].get(rule.metric))
    return out, reads
