"""``target_risk``: a target whose forecast (or final value) misses, with the gap. Targets are
the organisation's (or a technician's own), so a filtered view has none (docs/architecture.md)."""

from __future__ import annotations

from accounts.models import User
from insights.findings.base import (
    Context,
    Finding,
    drill,
    escape,
    metric_value,
    money_at_stake,
    short,
)
from metrics.definitions import METRICS
from metrics.formatting import format_value
from targets.queries import targets_for_state


def find_target_risks(ctx: Context) -> list[Finding]:
    if ctx.scope.filters:
        return []  # a filtered number is not compared with the organisation's targets
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
                title_format=escape(title),
                subjects=[],
                value=entry["value"],
                previous=entry["previous"],
                change_pct=entry["change_pct"],
                score=min(1.0 + gap_pct / 5, 6.0),
                drill_url=drill(key, ctx.period()),
                period=ctx.period(),
                facts={
                    "target": goal,
                    "forecast": outcome,
                    "gap": metric_value(metric, gap),
                    "gap_pct": round(gap_pct, 1),
                    "status": p["status"],
                },
                figure=(gap, metric.unit),
                spark={"type": "bars", "values": [float(outcome), float(goal)], "highlight": 0},
                at_stake=money_at_stake(metric, gap),
            )
        )
    return out
