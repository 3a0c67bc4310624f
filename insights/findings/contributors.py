"""``contributors``: the dimension values (stage, kind, product category, customer state,
owner) that drove the strongest change, with their shares."""

from __future__ import annotations

import math

from accounts.models import User
from insights.findings.base import (
    MAX_EXPLAINED,
    MIN_CONTRIBUTOR_SHARE,
    Context,
    Finding,
    Subject,
    drill,
    escape,
    lower_label,
    money_at_stake,
    num,
    pct_text,
    period_key,
    signed,
)
from metrics.definitions import METRICS
from metrics.queries import get_breakdown

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


def _names(ctx: Context, dim: str, keys) -> dict:
    """Display names of dimension values: people for owners, labels for choices."""
    if dim == "owner":
        ids = [k for k in keys if k is not None]
        users = User.objects.filter(organization_id=ctx.org.pk, pk__in=ids)
        return {u.pk: u.full_name or u.email for u in users.only("full_name", "email")}
    return {k: str(k).replace("_", " ") for k in keys if k is not None}


def find_contributors(ctx: Context, changes: list[Finding]) -> list[Finding]:
    out = []
    for change in changes[:MAX_EXPLAINED]:
        metric = METRICS[change.metric]
        if metric.kind != "range":
            continue  # rates do not add up; state metrics would read their whole history live
        owner = ctx.scope.owner_of(metric.source)
        dims = tuple(
            d
            for d in CONTRIBUTOR_DIMS.get(metric.source, ())
            if not (d == "owner" and owner is not None)
        )
        if not dims:
            continue
        rows = get_breakdown(ctx.org, ctx.state, metric.key, dims, **ctx.scope.slice(metric.source))
        total = num(change.value) - num(change.previous)
        if not total:
            continue
        best = None
        for i, dim in enumerate(dims):
            deltas: dict = {}
            for row in rows:
                key = row["key"][i] if len(dims) > 1 else row["key"]
                deltas[key] = deltas.get(key, 0.0) + num(row["value"]) - num(row["previous"])
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
                labels.append(escape(names[k]))
        direction = "rise" if total > 0 else "fall"
        unit = metric.unit
        first = f"{labels[0]} drove {pct_text(share * 100)} of the {direction} in "
        first += f"{lower_label(metric)} ({signed(top[0][1], unit)} of {signed(total, unit)})"
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
                id=f"contributors:{metric.key}:{dim}:{period_key(ctx.state)}",
                kind="contributors",
                metric=metric.key,
                title_format=title,
                subjects=subjects,
                value=change.value,
                previous=change.previous,
                change_pct=change.change_pct,
                score=change.score * min(1.0, share) * 0.9,
                drill_url=drill(metric.key, ctx.period(), **narrowing),
                period=ctx.period(),
                facts=facts,
                figure=(share * 100, "percent"),
                spark={"type": "bars", "values": [abs(d) for _, d in top], "highlight": 0},
                at_stake=money_at_stake(metric, top[0][1]),
            )
        )
    return out
