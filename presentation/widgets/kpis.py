"""KPI cards: one number with its comparison and its target, as the card and the PDF print it.

The numbers are the JSON API's (metrics.queries.get_metrics) with targets attached
(targets.queries); the words come from the presentation vocabulary (docs/architecture.md, section "Presentation vocabulary").
"""

from __future__ import annotations

from metrics.definitions import METRICS, Metric
from metrics.formatting import format_change, format_value
from metrics.periods import DashboardState, comparison_name
from metrics.queries import get_metrics
from presentation.widgets.base import TONES, WidgetContext, drill_url, slice_for
from presentation.wording import direction
from targets.queries import attach_targets, status_word


def metric_entries(
    ctx: WidgetContext, keys: list[str], computed: list[str] | None = None
) -> dict[str, tuple[dict, dict]]:
    """{metric: (its §10 payload, its entry with its target)} exactly as the JSON API has them
    (for an owner slice: their own numbers against their personal targets), from one
    get_metrics over `computed` (None: every metric) and one targets read for all of `keys`. A
    filtered number has no target: targets are set for the whole organisation."""
    if ctx.state.filters:
        out = {}
        for source in dict.fromkeys(METRICS[key].source for key in keys):
            source_keys = [k for k, m in METRICS.items() if m.source == source]
            payload = get_metrics(
                ctx.organization, ctx.state, source_keys, **slice_for(ctx, source)
            )
            out.update(
                {
                    k: (payload, dict(payload["metrics"][k]))
                    for k in keys
                    if METRICS[k].source == source
                }
            )
        return out
    payload = get_metrics(ctx.organization, ctx.state, computed, owner=ctx.owner)
    entries = {key: dict(payload["metrics"][key]) for key in keys}
    attach_targets(
        ctx.organization,
        ctx.state,
        {**payload, "metrics": entries},
        user=ctx.user if ctx.owner else None,
    )
    return {key: (payload, entry) for key, entry in entries.items()}


def target_sentence(target: dict, metric: Metric, state: DashboardState | None = None) -> dict:
    """How a card reads its target, with the numbers a manager needs: "$267k of $2.65M ·
    expected by now $730k · pace 37% · forecast $1.0M · Behind", or for a rate "20.0% against
    a 38.0% target · Behind"; finished periods say Met or Missed. When the target's period is
    not the card's range (a custom 1 Sep – 15 Oct inside a financial year), the actual is the
    period's, so the sentence names it first: "FY2027 target: $8.59M of $46.48M · …"."""
    unit = metric.unit
    period_info = target.get("period") or {}
    own_period = state is None or (
        period_info.get("from") == state.range.start.isoformat()
        and period_info.get("to") == state.range.end.isoformat()
    )
    status = target.get("status") or "on_track"
    phase = (target.get("period") or {}).get("phase")
    goal = format_value(target.get("value"), unit)[0]
    actual = format_value(target.get("actual"), unit)[0]
    parts = []
    if not own_period and period_info.get("label"):
        parts.append(f"{period_info['label']} target:")
    if metric.additive:
        parts.append(f"{actual} of {goal}")
        if phase == "running":
            if target.get("expected_to_date") is not None:
                parts.append(f"expected by now {format_value(target['expected_to_date'], unit)[0]}")
            if target.get("pace_pct") is not None:
                parts.append(f"pace {target['pace_pct']:.0f}%")
            if target.get("forecast") is not None:
                parts.append(f"forecast {format_value(target['forecast'], unit)[0]}")
    else:
        parts.append(f"{actual} against a {goal} target")
    label = status_word(status, phase)
    rollup = target.get("rollup") or {}
    if rollup.get("rule") == "sum":
        source_text = f"Target from {rollup['months']} monthly targets"
    elif rollup.get("rule") == "last_month":
        source_text = f"Target of {rollup['month']}, the range's last month"
    else:
        source_text = ""
    pct = target.get("progress_pct")
    period = (target.get("period") or {}).get("label") or ""
    if not own_period and len(parts) > 1:
        # "FY2027 target: $8.59M of $46.48M", the period's words and its numbers as one part.
        parts[:2] = [f"{parts[0]} {parts[1]}"]
    return {
        "text": " · ".join(parts),
        "own_period": own_period,
        # The PDF's column: "Jul–Sep 2026 target: $9.84M", then the progress "45.3%".
        "period_label": period,
        "heading": f"{period} target: {goal}" if period else f"Target: {goal}",
        "progress": format_value(pct, "percent")[0],
        "status": status,
        "status_label": label,
        "source_text": source_text,
        "bar_pct": max(0, min(100, round(pct or 0))),
        "expected_pct": (
            max(0, min(100, round(target["expected_to_date"] / target["value"] * 100)))
            if phase == "running"
            and metric.additive
            and target.get("value")
            and target.get("expected_to_date") is not None
            else None
        ),
        "value": goal,
        "exact": format_value(target.get("value"), unit)[1],
    }


def build_kpi(ctx: WidgetContext) -> dict:
    """One KPI card on its own (a report, the cache warmer): from the payload of every metric,
    which the JSON API and the insights share."""
    metric = METRICS[ctx.settings["metric"]]
    return kpi_card(ctx, metric, *metric_entries(ctx, [metric.key])[metric.key])


def kpi_card(ctx: WidgetContext, metric: Metric, payload: dict, entry: dict) -> dict:
    short, exact = format_value(entry["value"], metric.unit)
    previous_short, previous_exact = format_value(entry["previous"], metric.unit)
    compare = comparison_name(ctx.state.compare)
    change = format_change(entry, metric.unit)
    tone = TONES.get(entry.get("good"), "neutral")
    target = entry.get("target")
    target_view = target_sentence(target, metric, ctx.state) if target else None
    # What the card shows, in reading order; the accessible name starts with exactly this.
    if not compare:
        delta_text, vs_text = "", "No comparison"
    else:
        vs_text = f"vs {previous_short} {compare}"
        if change and entry["trend"] in ("up", "down"):
            delta_text = change
        elif entry["trend"] == "flat":
            delta_text = "No change"
        else:
            delta_text = "—"
    visible = [metric.label]
    if ctx.owner is not None:
        visible.append("Yours")
    if ctx.state.to_date:
        visible.append("To date")
    visible += [short, delta_text, vs_text]
    # The same change with its direction, for text without arrows (the plain-text mail).
    change_text = (
        f"{direction(entry['trend'])} {delta_text}"
        if change and entry["trend"] in ("up", "down")
        else delta_text
    )
    if target_view:
        visible.append(f"{target_view['text']} · {target_view['status_label']}")
        if target_view["source_text"]:
            visible.append(target_view["source_text"])
    details = [f"Exact value {exact}"]
    if compare and entry["trend"]:
        verdict = {"good": ", better", "bad": ", worse"}.get(tone, "")
        details.append(f"{direction(entry['trend'])}{verdict}; {compare} {previous_exact}")
    if target_view:
        details.append(f"target {target_view['exact']}")
    aria_label = (
        " ".join(part for part in visible if part)
        + ". "
        + "; ".join(details)
        + ". Opens the records behind this number."
    )
    return {
        "metric": {"key": metric.key, "label": metric.label, "unit": metric.unit},
        "entry": entry,
        "value": short,
        "exact": exact,
        "raw": entry["value"],
        "previous": previous_short,
        "previous_exact": previous_exact,
        "change": change,
        "trend": entry["trend"],
        "tone": tone,
        "compare_label": compare,
        "target": target_view,
        "as_of": payload["as_of"],
        "delta_text": delta_text,
        "change_text": change_text,
        "vs_text": vs_text,
        "aria_label": aria_label,
        "drill": drill_url(metric.key, ctx.state),
        "empty": entry["value"] is None,
        "yours": ctx.owner is not None,
    }
