"""Sales by product category: revenue per category as bars, with orders, average order value and
kWh sold in its table (docs/architecture.md, "Sources and metrics": the sales source's grain and
the category rule).

An order with items in two categories counts in both bars' orders, so the orders of the bars
can add up to more than the orders card; the revenue of the bars adds up to the revenue card
(the part of an order total on no item is its own bar, "No category", when there is any).
"""

from __future__ import annotations

from metrics.definitions import average_order_value
from metrics.formatting import format_value, short
from metrics.periods import comparison_name, range_label
from metrics.queries import get_breakdown, plan_breakdown
from operations.models import ProductCategory
from presentation.charts import (
    BRAND,
    INK,
    MUTED,
    axis_for,
    base_layout,
    click_data,
    hover_format,
    make_figure,
    plot_value,
    trace,
)
from presentation.widgets.base import (
    WidgetContext,
    chart_annotations,
    drill_url,
    filter_url,
    slice_for,
)

NO_CATEGORY = "No category"


def build_sales_by_category(ctx: WidgetContext) -> dict:
    state = ctx.state
    sliced = slice_for(ctx, "sales")
    by = "product_category"
    revenue = {r["key"]: r for r in get_breakdown(ctx.organization, state, "revenue", by, **sliced)}
    kwh = {r["key"]: r for r in get_breakdown(ctx.organization, state, "kwh_sold", by, **sliced)}
    compared = state.comparison is not None
    compare_label = comparison_name(state.compare) or ""
    keys: list = [c for c in ProductCategory.values if c in revenue]
    if None in revenue:
        keys.append(None)
    labels = [dict(ProductCategory.choices).get(k, NO_CATEGORY) for k in keys]
    values = [int(revenue[k]["value"] or 0) for k in keys]
    orders = [int(revenue[k]["records"] or 0) for k in keys]

    def points(period: str | None = None) -> list:
        extra = {"period": period} if period else {}
        return [
            click_data(
                drill_url("revenue", state, **({"category": k} if k else {}), **extra),
                f"{label} revenue" + (f", {compare_label}" if period else ""),
                filter_url(state, category=k) if k else "",
                f"Product category: {label}" if k else "",
            )
            for k, label in zip(keys, labels, strict=True)
        ]

    traces = [
        trace(
            "bar",
            x=labels,
            y=[plot_value(v, "aud_cents") for v in values],
            name=range_label(state),
            marker={"color": BRAND},
            customdata=points(),
            hovertemplate=hover_format("aud_cents") + "<extra>%{x}</extra>",
        )
    ]
    previous = [int(revenue[k]["previous"] or 0) for k in keys] if compared else []
    if compared:
        traces.append(
            trace(
                "scatter",
                x=labels,
                y=[plot_value(v, "aud_cents") for v in previous],
                name=compare_label.capitalize(),
                mode="markers",
                marker={"color": INK, "symbol": "line-ew", "size": 28, "line": {"width": 3}},
                customdata=points("comparison"),
                hovertemplate=hover_format("aud_cents") + "<extra>" + compare_label + "</extra>",
            )
        )
    y = axis_for("aud_cents", max([*values, *previous], default=0) / 100)
    figure = make_figure(
        traces,
        base_layout(
            yaxis=y,
            bargap=0.35,
            legend={
                "orientation": "h",
                "x": 0,
                "y": 1.02,
                "yanchor": "bottom",
                "font": {"color": MUTED},
            },
        ),
    )
    rows = []
    for n, k in enumerate(keys):
        kwh_value = (kwh.get(k) or {}).get("value") or 0
        aov = average_order_value(values[n], orders[n])
        rows.append(
            {
                "label": labels[n],
                "drill": drill_url("revenue", state, **({"category": k} if k else {})),
                "cells": [
                    format_value(values[n], "aud_cents")[0],
                    f"{orders[n]:,}",
                    format_value(aov, "aud_cents")[0],
                    short(kwh_value, "kwh"),
                ]
                + ([format_value(previous[n], "aud_cents")[0]] if compared else []),
            }
        )
    total = sum(values)
    summary = f"Revenue by product category, {range_label(state)}: {short(total, 'aud_cents')}"
    if keys:
        top = max(range(len(keys)), key=lambda n: values[n])
        summary += f", most from {labels[top].lower()} ({short(values[top], 'aud_cents')})"
    summary += ". An order with items in two categories counts in both."
    return {
        "figure": figure,
        "table": {
            "caption": "Revenue, orders, average order value and kWh sold by product category",
            "columns": ["Category", "Revenue", "Orders", "Average order", "kWh sold"]
            + ([f"Revenue, {compare_label}"] if compared else []),
            "rows": rows,
        },
        "summary": summary,
        "empty": total == 0 and not any(orders),
        "empty_text": f"No orders in {range_label(state)}.",
        "annotations": chart_annotations(
            ctx, ["revenue", "orders", "average_order_value", "kwh_sold"], ["sales"]
        )[1],
        "drill": drill_url("revenue", state),
    }


def sales_payloads(ctx: WidgetContext) -> list[str | None]:
    """The keys of the payloads build_sales_by_category reads (presentation.widgets.charts)."""
    sliced = slice_for(ctx, "sales")
    return [
        plan_breakdown(ctx.organization, ctx.state, key, "product_category", **sliced)
        for key in ("revenue", "kwh_sold")
    ]
