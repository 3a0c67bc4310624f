"""The answer's small chart (docs/ask.md, "The answer"): a series as a line, a breakdown as bars,
each with its comparison, drawn as SVG by the server with the dashboard's and the PDF's
figures (`presentation.charts`, `presentation.svg`). A plain answer has no chart: its numbers
are the table."""

from __future__ import annotations

import plotly.graph_objects as go

from metrics.definitions import METRICS
from presentation import charts, svg

WIDE = (560, 240)
NARROW = (340, 220)


def _compared(make, labels: list, rows: list[dict], unit: str, **style) -> list:
    """The traces of this period and, when there is one, its comparison, over `labels`."""
    traces = [
        make(
            x=labels,
            y=[charts.plot_value(r["value"], unit) for r in rows],
            name="This period",
            **style["current"],
        )
    ]
    if any(r.get("previous") is not None for r in rows):
        traces.append(
            make(
                x=labels,
                y=[charts.plot_value(r.get("previous"), unit) for r in rows],
                name="Comparison",
                **style["previous"],
            )
        )
    return traces


def figure(answer: dict) -> dict | None:
    """The plotly figure of a series or a breakdown answer, or None."""
    result = answer["result"]
    intent = answer["intent"]
    if intent["interval"] and result.get("points"):
        unit = result["unit"]
        points = result["points"]
        labels, xaxis = charts.bucket_axis([p["date"] for p in points], intent["interval"])
        traces = _compared(
            go.Scatter,
            labels,
            points,
            unit,
            current={"mode": "lines+markers", "line": {"color": charts.BRAND, "width": 2.5}},
            previous={
                "mode": "lines",
                "line": {"color": charts.COMPARE, "width": 1.5, "dash": "dot"},
            },
        )
        top = max((p["value"] or 0 for p in points), default=0)
        layout = charts.base_layout(xaxis=xaxis, yaxis=charts.axis_for(unit, top))
        return charts.make_figure(traces, layout)
    table = result.get("breakdown")
    if table and table["rows"]:
        unit = METRICS[table["metric"]].unit
        rows = table["rows"][:12]
        labels = [r["label"] for r in rows]
        traces = _compared(
            go.Bar,
            labels,
            rows,
            unit,
            current={"marker": {"color": charts.BRAND}},
            previous={"marker": {"color": charts.COMPARE}},
        )
        top = max((r["value"] or 0 for r in rows), default=0)
        layout = charts.base_layout(yaxis=charts.axis_for(unit, top), barmode="group")
        return charts.make_figure(traces, layout)
    return None


def drawings(answer: dict, title: str) -> list[tuple[str, str]]:
    """(kind, SVG) for a desktop box and a phone's ("wide", "narrow"); empty without a chart.
    `svg.render_figure` escapes every text it writes."""
    fig = figure(answer)
    if fig is None:
        return []
    out = []
    for kind, (width, height) in (("wide", WIDE), ("narrow", NARROW)):
        out.append(
            (
                kind,
                svg.render_figure(
                    fig,
                    width=width,
                    height=height,
                    title=title,
                    desc=answer["text"],
                    ident=f"ask-svg-{kind}",
                ),
            )
        )
    return out
