"""Findings about single records and customers: ``concentration`` (one customer making up an
outsized share of revenue or claims) and ``outlier_record`` (one order or claim far beyond the
usual size)."""

from __future__ import annotations

import datetime as dt

from insights.findings.base import (
    CONCENTRATION_SHARE,
    MIN_CONCENTRATION_PARTIES,
    MIN_OUTLIER_BASELINE,
    MIN_VOLUME,
    OUTLIER_BASELINE_DAYS,
    OUTLIER_TIMES,
    OUTLIER_Z,
    Context,
    Finding,
    Subject,
    drill,
    escape,
    metric_value,
    money_at_stake,
    num,
    pct_text,
    period_key,
    robust,
    short,
)
from metrics.definitions import METRICS
from metrics.periods import parse_state
from metrics.queries import get_breakdown, metric_records
from operations.models import Customer


def find_concentration(ctx: Context) -> list[Finding]:
    out = []
    # Only the current period matters here: read it without its comparison.
    current = parse_state({**ctx.state.params(), "compare": "none"}, ctx.org, now=ctx.state.now)
    for key, noun in (("revenue", "revenue"), ("warranty_claims", "warranty claims")):
        metric = METRICS[key]
        source = metric.source
        if not ctx.allowed(key) or ctx.scope.owner_of(source) is not None:
            continue
        rows = get_breakdown(ctx.org, current, key, "customer_id", **ctx.scope.slice(source))
        rows = [r for r in rows if r["key"] is not None and num(r["value"]) > 0]
        total = sum(num(r["value"]) for r in rows)
        records = sum(int(r["records"] or 0) for r in rows)
        if len(rows) < MIN_CONCENTRATION_PARTIES or not total or records < MIN_VOLUME:
            continue
        top = rows[0]
        share = num(top["value"]) / total
        if share < CONCENTRATION_SHARE:
            continue
        customer = Customer.objects.filter(organization_id=ctx.org.pk, pk=top["key"]).first()
        if customer is None:
            continue
        subject = Subject("customer", str(customer.pk), customer.name)
        verb = "made up" if key == "revenue" else "opened"
        title = "{0} " + escape(
            f"{verb} {pct_text(share * 100)} of {noun} in the period "
            f"({short(top['value'], metric.unit)} of {short(total, metric.unit)}, "
            f"across {len(rows):,} customers)"
        )
        entry = ctx.entry(key)
        out.append(
            Finding(
                id=f"concentration:{key}:c{customer.pk}:{period_key(ctx.state)}",
                kind="concentration",
                metric=key,
                title_format=title,
                subjects=[subject],
                value=entry["value"],
                previous=entry["previous"],
                change_pct=entry["change_pct"],
                score=min(share * 5, 6.0),
                drill_url=drill(key, ctx.period(), q=customer.name),
                period=ctx.period(),
                facts={
                    "share_pct": round(share * 100, 1),
                    "customer_value": top["value"],
                    "total": metric_value(metric, total),
                    "customers": len(rows),
                },
                figure=(share * 100, "percent"),
                spark={"type": "bars", "values": [num(top["value"]), total], "highlight": 0},
                at_stake=money_at_stake(metric, num(top["value"])),
            )
        )
    return out


def find_outliers(ctx: Context) -> list[Finding]:
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
            metric_records(
                ctx.org, key, start, ctx.state.range.end_at, **ctx.scope.slice(METRICS[key].source)
            )
            .order_by()
            .values_list("pk", size_field, at_field)
        )
        sizes = [float(r[1]) for r in rows]
        if len(sizes) < MIN_OUTLIER_BASELINE:
            continue
        med, scale = robust(sizes)
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
            + escape(f"{short(size, 'aud_cents')}, {times:.1f}× the usual {role} of ")
            + escape(short(med, "aud_cents"))
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
                    ctx.period(),
                    bucket=day.isoformat(),
                    interval="day",
                    q=label if role == "order" else str(pk),
                ),
                period=ctx.period(),
                facts={
                    "record_size": int(size),
                    "usual_size": int(round(med)),
                    "times_usual": round(times, 1),
                    "size_unit": "aud_cents",
                },
                figure=(int(size), "aud_cents"),
                spark={"type": "bars", "values": [med, float(size)], "highlight": 1},
                at_stake=int(round(float(size) - med)),
            )
        )
    return out
