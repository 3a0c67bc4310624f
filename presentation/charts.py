"""Chart figures: the plotly figure dicts the screens draw and the PDFs redraw as SVG.

One palette, one axis and hover format per unit, one bucket labeller. A chart's money reads
"$1.2M" on its axis and "$1,234" in its tooltip wherever it is drawn: presentation.svg reads
the same axis dicts, so a PDF's chart matches the screen's. See docs/architecture.md, section
"Presentation vocabulary".
"""

from __future__ import annotations

import datetime as dt
import functools
import json

import plotly.io as pio

from operations.models import ClaimStatus

# Brand palette, shared by CSS (static/css/app.css) and the charts.
BRAND = "#0b6e4f"
COMPARE = "#8a96a3"
ENERGY = "#c27c0e"
INK = "#17202a"
MUTED = "#5a6472"
GRID = "#e6eaee"
STATUS_COLOURS = {
    ClaimStatus.OPEN: "#c2410c",
    ClaimStatus.IN_REVIEW: "#e3a008",
    ClaimStatus.APPROVED: "#2f7fc1",
    ClaimStatus.REJECTED: "#8a96a3",
    ClaimStatus.RESOLVED: BRAND,
}

# Axis and tooltip formats per unit (d3-format, as plotly reads them).
AXIS_FORMATS: dict[str, dict] = {
    "aud_cents": {"tickprefix": "$", "tickformat": "~s", "title": {"text": "AUD"}},
    "kwh": {"ticksuffix": " kWh", "tickformat": ",.0f"},
    "ratio": {"tickformat": ".0%"},
    "hours": {"ticksuffix": " h", "tickformat": ",.0f"},
}
HOVER_FORMATS = {
    "aud_cents": "$%{y:,.0f}",
    "kwh": "%{y:,.1~f} kWh",
    "ratio": "%{y:.1%}",
    "hours": "%{y:,.2~f} h",
}


def axis_for(unit: str, top=None) -> dict:
    """A y axis in the metric's unit; `top` (the largest value) keeps count ticks whole."""
    axis = {
        "gridcolor": GRID,
        "zeroline": False,
        "automargin": True,
        "rangemode": "tozero",
        "tickfont": {"color": MUTED},
    }
    if unit in AXIS_FORMATS:
        axis.update(AXIS_FORMATS[unit])
    else:
        axis.update(tickformat=",d")
        if top is not None and top <= 10:
            # Tricky: plotly picks half steps for small counts, which ",d" prints twice.
            axis.update(tick0=0, dtick=1 if top <= 6 else 2)
    return axis


def hover_format(unit: str) -> str:
    """A tooltip's value in the unit, as the cards write it (trailing zeros trimmed)."""
    return HOVER_FORMATS.get(unit, "%{y:,}")


def plot_value(value, unit: str):
    """Chart units: dollars for money (axes are in AUD), floats elsewhere."""
    if value is None:
        return None
    if unit == "aud_cents":
        return round(int(value) / 100, 2)
    return float(value)


def base_layout(**extra) -> dict:
    layout = {
        "autosize": True,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {
            "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "size": 12,
            "color": INK,
        },
        "hovermode": "x unified",
        "hoverlabel": {"bgcolor": "#fff", "bordercolor": GRID, "font": {"color": INK}},
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"color": MUTED},
        },
        "xaxis": {"gridcolor": GRID, "automargin": True, "showgrid": False, "linecolor": GRID},
        "separators": ".,",
        "template": "none",
    }
    layout.update(extra)
    return layout


def trace(kind: str, **props) -> dict:
    """A plotly trace as plain JSON data, spelled as plotly's own trace object would spell it
    (`go.Scatter(**props)`), without its validation: building the page's traces through
    plotly cost several ms a page (issue 25). tests/presentation/test_charts.py checks every
    chart against plotly's validated figure."""
    return {"type": kind, **props}


_TEMPLATES: dict[str, str] = {}


def _template(name: str) -> dict:
    """A named template spelled out as go.Figure spells it (read from plotly once)."""
    if name not in _TEMPLATES:
        _TEMPLATES[name] = json.dumps(pio.templates[name].to_plotly_json())
    return json.loads(_TEMPLATES[name])


def make_figure(traces: list, layout: dict) -> dict:
    """A plotly figure as plain JSON data: the traces are `trace` dicts (or plotly's objects),
    the layout ours. Tricky: not through go.Figure, whose validation of the whole figure cost
    1–12 ms a chart (issue 25); a named template is expanded as go.Figure would, so the JSON
    is the same (tests/presentation/test_charts.py)."""
    data = [t if isinstance(t, dict) else t.to_plotly_json() for t in traces]
    spelled = dict(layout)
    if isinstance(spelled.get("template"), str):
        spelled["template"] = _template(spelled["template"])
    return json.loads(pio.to_json({"data": data, "layout": spelled}, validate=False))


MAX_TICKS = 7  # a phone's width of labels


def _tick_label(day: dt.date, interval: str, long: bool) -> str:
    if interval == "month":
        return f"{day:%b %Y}"
    return f"{day:%-d %b %y}" if long else f"{day:%-d %b}"


def bucket_axis(dates: list[str], interval: str) -> tuple[list[str], dict]:
    """Category labels for the buckets and an x axis ticking at most MAX_TICKS of them, each
    label once: days or weeks for short ranges, months for long ones."""
    days = [dt.date.fromisoformat(d) for d in dates]
    long = bool(days) and (days[-1] - days[0]).days > 300
    labels = [_tick_label(d, interval, long) for d in days]
    step = max(1, -(-len(labels) // MAX_TICKS))
    axis = {
        "type": "category",
        "gridcolor": GRID,
        "automargin": True,
        "showgrid": False,
        "linecolor": GRID,
        "tickfont": {"color": MUTED},
        "tickmode": "array",
        "tickvals": labels[::step],
        "ticktext": labels[::step],
        "tickangle": 0,
    }
    return labels, axis


def line_traces(
    x, y, partial: list[bool], *, name, color, hover, customdata, so_far="So far", **extra
) -> list:
    """A series as a solid line over finished buckets and the running bucket as a hollow
    marker apart from it, whose tooltip says "so far" (never a plunge to zero)."""
    running = bool(partial) and partial[-1]
    solid_y = list(y[:-1]) + [None] if running else list(y)
    traces = [
        trace(
            "scatter",
            x=x,
            y=solid_y,
            name=name,
            mode="lines+markers" if len(x) <= 45 else "lines",
            line={"color": color, "width": 2.5, "shape": "linear"},
            marker={"size": 5 if len(x) > 3 else 9},
            cliponaxis=False,  # a marker on the plot's edge is drawn whole
            customdata=customdata,
            hovertemplate=hover + "<extra>%{fullData.name}</extra>",
            **extra,
        )
    ]
    if not running:
        return traces
    # Tricky: no segment joins the running bucket to the last finished one; early in a day a
    # line down to "$0 so far" would read as a collapse.
    extra = {k: v for k, v in extra.items() if k == "yaxis"}
    traces.append(
        trace(
            "scatter",
            x=x[-1:],
            y=y[-1:],
            name=so_far,
            mode="markers",
            marker={"size": 9, "symbol": "circle-open", "color": color, "line": {"width": 2}},
            customdata=customdata[-1:],
            hovertemplate=hover + " so far<extra>Running</extra>",
            **extra,
        )
    )
    return traces


def click_data(drill: str, label: str, filter_url: str = "", filter_label: str = "") -> list[str]:
    """A chart point's click data (dashboard.js): where its records are, what it is, and, for
    a bar of a filterable dimension, the dashboard narrowed to it."""
    return [drill, label, filter_url, filter_label]


@functools.lru_cache(maxsize=4096)
def bucket_label(day: dt.date, interval: str) -> str:
    """A bucket's words ("Mon 2 Nov 2026", "Week of 2 Nov 2026", "Nov 2026"), memoised: a
    chart words each bucket in its points, its comparison's and its table rows (issue 25)."""
    if interval == "month":
        return f"{day:%b %Y}"
    if interval == "week":
        return f"Week of {day:%-d %b %Y}"
    return f"{day:%a %-d %b %Y}"


# Annotations (docs/annotations.md, "On charts"): a moment is a dotted line, a span a shaded
# band, each labelled at the top of the plot; marks closer than a tenth of the axis are one
# label with their count.
ANNOTATION = "#7c3aed"
ANNOTATION_FILL = "rgba(124,58,237,0.09)"
LABEL_CHARS = 28


def _bucket_index(day: dt.date, starts: list[dt.date]) -> int:
    """The bucket holding a local day (the last bucket starting on or before it)."""
    index = 0
    for i, start in enumerate(starts):
        if start <= day:
            index = i
    return index


def _bucket_end(start: dt.date, interval: str) -> dt.date:
    if interval == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=7 if interval == "week" else 1)


def _clip(text: str, size: int = LABEL_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def annotation_marks(notes: list[dict], dates: list[str], interval: str, tz) -> list[dict]:
    """Each annotation placed on a bucket axis, clipped to the visible buckets (a span that
    starts before the first bucket still shows, from the first), then clustered: a list of
    {"x0", "x1", "spans", "titles", "ids", "label"}, x in bucket indices."""
    if not dates or not notes:
        return []
    starts = [dt.date.fromisoformat(d) for d in dates]
    first, end = starts[0], _bucket_end(starts[-1], interval)
    placed = []
    for note in notes:
        s = note["starts_at"].astimezone(tz).date()
        e = (note["ends_at"] or note["starts_at"]).astimezone(tz).date()
        if e < first or s >= end:
            continue
        i0, i1 = _bucket_index(max(s, first), starts), _bucket_index(min(e, end), starts)
        title = note["title"]
        if s < first:
            title = "← " + title
        if e >= end:
            title += " →"
        placed.append(
            {
                "x0": i0,
                "x1": i1,
                "span": note["ends_at"] is not None,
                "title": title,
                "id": note["id"],
            }
        )
    placed.sort(key=lambda m: (m["x0"], m["id"]))
    gap = max(1, len(dates) // 10)
    clusters: list[dict] = []
    for mark in placed:
        if clusters and mark["x0"] - clusters[-1]["x0"] < gap:
            cluster = clusters[-1]
        else:
            cluster = {"x0": mark["x0"], "x1": mark["x0"], "spans": [], "titles": [], "ids": []}
            clusters.append(cluster)
        cluster["x1"] = max(cluster["x1"], mark["x1"])
        cluster["titles"].append(mark["title"])
        cluster["ids"].append(mark["id"])
        if mark["span"]:
            cluster["spans"].append((mark["x0"], mark["x1"]))
    for n, cluster in enumerate(clusters):
        cluster["row"] = n % 2  # neighbouring labels alternate between two lines
        count = len(cluster["titles"])
        cluster["label"] = _clip(cluster["titles"][0]) if count == 1 else f"{count} annotations"
    return clusters


def annotation_layout(marks: list[dict]) -> dict:
    """The plotly layout keys that draw the marks: `shapes` (bands and lines) and
    `annotations` (labels whose hover lists every title of a cluster). presentation.svg draws
    the same keys for the first paint and the PDF."""
    if not marks:
        return {}
    shapes, labels = [], []
    for mark in marks:
        for x0, x1 in mark["spans"]:
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": x0 - 0.5,
                    "x1": x1 + 0.5,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": ANNOTATION_FILL,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": mark["x0"],
                "x1": mark["x0"],
                "y0": 0,
                "y1": 1,
                "line": {"color": ANNOTATION, "width": 1.5, "dash": "dot"},
            }
        )
        labels.append(
            {
                "x": mark["x0"],
                "xref": "x",
                "yref": "paper",
                "y": 1,
                "yanchor": "top",
                "xanchor": "left",
                "xshift": 3,
                "yshift": -14 * mark["row"],
                "showarrow": False,
                "text": mark["label"],
                "hovertext": "<br>".join(mark["titles"]),
                "captureevents": True,
                "font": {"size": 10, "color": ANNOTATION},
                "bgcolor": "rgba(255,255,255,0.85)",
                "name": ",".join(str(i) for i in mark["ids"]),
            }
        )
    return {"shapes": shapes, "annotations": labels}
