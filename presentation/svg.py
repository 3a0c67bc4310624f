"""Plotly figure dicts (what presentation.widgets' builders return as "figure") drawn as SVG.

Why not plotly's static export: it needs a browser (kaleido ships or drives Chromium), which is
heavy to start, memory hungry and fragile inside a Celery worker. The web widgets already
describe each chart as a figure dict, so this module reads the same dict (traces, colours,
dashes, bar mode, axis formats) and draws the few shapes our widgets use: bars (grouped or
stacked), lines (with dots, dashes and a fill), marker ticks, a left and an optional right
axis, and a legend. The SVG is vector, needs no network, and WeasyPrint embeds it inline.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

WIDTH = 680
HEIGHT = 220
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
INK = "#17202a"
MUTED = "#5a6472"
GRID = "#e6eaee"
DASHES = {"dot": "2 3", "dash": "6 4", "dashdot": "6 3 2 3"}
MAX_X_LABELS = 8


def _attr(value) -> str:
    return escape(str(value), {'"': "&quot;"})


def nice_ticks(top: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """0 … a round number at or above `top`, in about `count` steps of 1, 2, 2.5 or 5 × 10^n
    (`whole`: whole-number steps only, for counts)."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in steps if m * power >= raw)
    if whole:
        step = max(1, round(step))
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _si(value: float) -> str:
    """d3's "~s": 1.5M, 250k, 12 (trailing zeros trimmed)."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            text = f"{value / size:.2f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value)}"


def tick_label(value: float, axis: dict) -> str:
    fmt = axis.get("tickformat") or ""
    if fmt == "~s":
        text = _si(value)
    elif fmt.endswith("%"):
        text = f"{value * 100:.0f}%"
    elif fmt in (",.0f", ",d"):
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    return f"{axis.get('tickprefix', '')}{text}{axis.get('ticksuffix', '')}"


def x_label(value, axis: dict) -> str:
    if axis.get("type") == "date":
        try:
            day = dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
        return f"{day:%b %Y}" if axis.get("tickformat") == "%b %Y" else f"{day:%-d %b}"
    return str(value)


# Tricky: an estimate, not a measure: the widest common glyphs of the 10 px sans-serif.
LABEL_CHAR_PX = 6.2


def fit_label(text: str, room: float) -> str:
    """`text` cut with "…" to fit `room` pixels of 10 px text (at least 3 characters)."""
    most = max(int((room - 4) // LABEL_CHAR_PX), 3)
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _colour(trace: dict) -> str:
    marker = trace.get("marker") or {}
    line = trace.get("line") or {}
    colour = marker.get("color") if trace.get("type") == "bar" else line.get("color")
    return str(colour or marker.get("color") or INK)


@dataclass(frozen=True)
class Plot:
    """A figure read once: everything its drawing needs that does not depend on the box (the
    visible traces, the categories, each trace's points as numbers, the axes' ticks and their
    labels). The dashboard draws every chart twice, for a desktop box and a phone's
    (presentation.templatetags.vocabulary.chart_svg), and reads its figure once."""

    traces: list[dict]
    # Per trace: (category index, number) of each point, None where the figure has none.
    points: list[list[tuple[int | None, float | None]]]
    layout: dict
    xaxis: dict
    stacked: bool
    bargap: float
    categories: list
    ticks1: list[float]
    ticks2: list[float]
    labels1: list[str]
    labels2: list[str]
    legend_items: list[dict]


def read_figure(figure: dict) -> Plot:
    """The box-independent part of drawing a plotly figure dict (data + layout)."""
    traces = [t for t in figure.get("data", []) if t.get("visible", True) is not False]
    layout = figure.get("layout") or {}
    xaxis = layout.get("xaxis") or {}
    y1 = layout.get("yaxis") or {}
    y2 = layout.get("yaxis2") or {}
    stacked = layout.get("barmode") == "stack"

    categories: list = []
    seen: set = set()
    for trace in traces:
        for x in trace.get("x") or []:
            if x not in seen:
                seen.add(x)
                categories.append(x)
    if xaxis.get("type") == "date":
        categories.sort(key=str)
    index = {x: i for i, x in enumerate(categories)}
    points = [
        [
            (index.get(x), _number(y))
            for x, y in zip(t.get("x") or [], t.get("y") or [], strict=False)
        ]
        for t in traces
    ]

    # Axis tops: stacked bars add up per category; everything else is its own height.
    tops = {False: 0.0, True: 0.0}
    if stacked:
        sums: dict[tuple[bool, int | None], float] = {}
        for t, pts in zip(traces, points, strict=True):
            if t.get("type") != "bar":
                continue
            for i, number in pts:
                key = (_on_y2(t), i)
                sums[key] = sums.get(key, 0.0) + max(number or 0.0, 0.0)
        for (axis2, _), total in sums.items():
            tops[axis2] = max(tops[axis2], total)
    for t in traces:
        if stacked and t.get("type") == "bar":
            continue
        values = [_number(y) for y in t.get("y") or []]
        tops[_on_y2(t)] = max([tops[_on_y2(t)], *(v for v in values if v is not None)])
    ticks1 = nice_ticks(tops[False], whole=y1.get("tickformat") == ",d")
    has_y2 = any(_on_y2(t) for t in traces)
    ticks2 = nice_ticks(tops[True], whole=y2.get("tickformat") == ",d") if has_y2 else []
    return Plot(
        traces=traces,
        points=points,
        layout=layout,
        xaxis=xaxis,
        stacked=stacked,
        bargap=float(layout.get("bargap") or 0.3),
        categories=categories,
        ticks1=ticks1,
        ticks2=ticks2,
        labels1=[tick_label(v, y1) for v in ticks1],
        labels2=[tick_label(v, y2) for v in ticks2],
        legend_items=[
            t for t in traces if t.get("name") and t.get("showlegend", True) is not False
        ],
    )


def _on_y2(trace: dict) -> bool:
    return trace.get("yaxis") == "y2"


def render_figure(
    figure: dict,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    title: str = "",
    desc: str = "",
    ident: str = "",
) -> str:
    """An <svg> element for a plotly figure dict (data + layout). With `ident` (the dashboard's
    first paint) it is named by its <title> and described by its <desc> (the chart's summary),
    and scales to its box."""
    return draw(
        read_figure(figure), width=width, height=height, title=title, desc=desc, ident=ident
    )


def draw(
    plot: Plot,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    title: str = "",
    desc: str = "",
    ident: str = "",
) -> str:
    """render_figure's drawing of a figure already read (read_figure), in a box."""
    traces, layout, ticks1, ticks2 = plot.traces, plot.layout, plot.ticks1, plot.ticks2
    n = max(len(plot.categories), 1)
    legend_rows = _legend_layout(plot.legend_items, width)
    top = 10 + 16 * len(legend_rows)
    left = 12 + 6.2 * max(len(label) for label in plot.labels1)
    right = (12 + 6.2 * max(len(label) for label in plot.labels2)) if ticks2 else 12
    bottom = 26
    plot_w = width - left - right
    plot_h = height - top - bottom
    band = plot_w / n

    def y_of(value: float, ticks: list[float]) -> float:
        return top + plot_h - (value / ticks[-1]) * plot_h

    title_id = f' id="{ident}-t"' if ident else ""
    desc_id = f' id="{ident}-d"' if ident else ""
    if ident:
        labelled = f"{ident}-t {ident}-d" if desc else f"{ident}-t"
        named = f'class="chart-svg" role="img" aria-labelledby="{labelled}"'
    else:
        named = f'width="{width}" height="{height}" role="img" aria-label="{_attr(title)}"'
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" {named} '
        f'font-family="{_attr(FONT)}" font-size="10">'
    ]
    if title:
        out.append(f"<title{title_id}>{escape(title)}</title>")
    if desc:
        out.append(f"<desc{desc_id}>{escape(desc)}</desc>")
    # Grid and the left axis.
    for v, label in zip(ticks1, plot.labels1, strict=True):
        y = y_of(v, ticks1)
        out.append(
            f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="0.8"/>'
        )
        out.append(
            f'<text x="{left - 6:.1f}" y="{y + 3.5:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(label)}</text>"
        )
    for v, label in zip(ticks2, plot.labels2, strict=True):
        y = y_of(v, ticks2)
        out.append(
            f'<text x="{left + plot_w + 6:.1f}" y="{y + 3.5:.1f}" fill="{MUTED}">'
            f"{escape(label)}</text>"
        )
    out.append(
        f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{top + plot_h:.1f}" '
        f'y2="{top + plot_h:.1f}" stroke="#b8c0c8" stroke-width="1"/>'
    )
    shapes = layout.get("shapes") or []
    marks = layout.get("annotations") or []

    def x_at(index) -> float:
        """A position in category indices (as plotly reads a shape's x on a category axis),
        clipped to the plot."""
        x = left + band * (float(index) + 0.5)
        return min(max(x, left), left + plot_w)

    # Annotation bands, under the data.
    for shape in shapes:
        if shape.get("type") == "rect" and shape.get("xref") == "x":
            x0, x1 = x_at(shape["x0"]), x_at(shape["x1"])
            out.append(
                f'<rect class="annotation-band" x="{x0:.1f}" y="{top:.1f}" '
                f'width="{max(x1 - x0, 1):.1f}" height="{plot_h:.1f}" '
                f'fill="{_attr(shape.get("fillcolor") or GRID)}"/>'
            )
    # X labels, thinned so they never overlap, and each cut to the room it has (long category
    # names, e.g. customers, ran into each other; the whole names are in the chart's table).
    step = max(1, math.ceil(n / MAX_X_LABELS))
    for at in range(0, len(plot.categories), step):
        cx = left + band * (at + 0.5)
        label = fit_label(x_label(plot.categories[at], plot.xaxis), band * step)
        out.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 15:.1f}" text-anchor="middle" '
            f'fill="{MUTED}">{escape(label)}</text>'
        )
    # Bars.
    stacked = plot.stacked
    inner = band * (1 - plot.bargap)
    bars = [(t, pts) for t, pts in zip(traces, plot.points, strict=True) if t.get("type") == "bar"]
    slots = 1 if stacked else max(len(bars), 1)
    width_each = inner / slots
    bar_width = f"{max(width_each - 1, 0.5):.1f}"
    base: dict[int, float] = {}
    for b_index, (trace, pts) in enumerate(bars):
        ticks = ticks2 if _on_y2(trace) else ticks1
        fill = _attr(_colour(trace))
        for i, number in pts:
            if i is None:  # never: every visible trace's x is a category
                continue
            value = max(number or 0.0, 0.0)
            if stacked:
                x0 = left + band * i + (band - inner) / 2
                start = base.get(i, 0.0)
                base[i] = start + value
                y_top, y_bottom = y_of(start + value, ticks), y_of(start, ticks)
            else:
                x0 = left + band * i + (band - inner) / 2 + width_each * b_index
                y_top, y_bottom = y_of(value, ticks), y_of(0, ticks)
            if y_bottom - y_top <= 0:
                continue
            out.append(
                f'<rect x="{x0:.1f}" y="{y_top:.1f}" width="{bar_width}" '
                f'height="{y_bottom - y_top:.1f}" fill="{fill}"/>'
            )
    # Lines and markers, drawn over the bars.
    for trace, pts in zip(traces, plot.points, strict=True):
        if trace.get("type") == "bar":
            continue
        ticks = ticks2 if _on_y2(trace) else ticks1
        colour = _colour(trace)
        mode = trace.get("mode") or "lines"
        points: list[tuple[float, float] | None] = [
            None if number is None or i is None else (left + band * (i + 0.5), y_of(number, ticks))
            for i, number in pts
        ]
        line = trace.get("line") or {}
        opacity = trace.get("opacity", 1)
        if "lines" in mode:
            for run in _runs(points):
                coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                if trace.get("fill") == "tozeroy" and len(run) > 1:
                    floor = y_of(0, ticks)
                    area = f"{run[0][0]:.1f},{floor:.1f} {coords} {run[-1][0]:.1f},{floor:.1f}"
                    out.append(
                        f'<polygon points="{area}" '
                        f'fill="{_attr(trace.get("fillcolor") or colour)}" '
                        f'fill-opacity="{1 if trace.get("fillcolor") else 0.1}"/>'
                    )
                dash = DASHES.get(line.get("dash") or "")
                out.append(
                    f'<polyline points="{coords}" fill="none" stroke="{_attr(colour)}" '
                    f'stroke-width="{float(line.get("width") or 2) * 0.8:.1f}" '
                    f'stroke-linejoin="round" opacity="{opacity}"'
                    + (f' stroke-dasharray="{dash}"' if dash else "")
                    + "/>"
                )
        if "markers" in mode:
            marker = trace.get("marker") or {}
            symbol = marker.get("symbol")
            if symbol == "line-ew":
                half = min(inner / 2, 14)
                stroke = _attr(marker.get("color") or INK)
                for point in points:
                    if point is not None:
                        px, py = point
                        out.append(
                            f'<line x1="{px - half:.1f}" x2="{px + half:.1f}" y1="{py:.1f}" '
                            f'y2="{py:.1f}" stroke="{stroke}" stroke-width="2.2"/>'
                        )
            elif "lines" not in mode or len(points) <= 45:
                fill = _attr(colour)
                for point in points:
                    if point is not None:
                        px, py = point
                        out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.2" fill="{fill}"/>')
    # Annotation lines and labels, over the data (docs/annotations.md, "On charts").
    for shape in shapes:
        if shape.get("type") == "line" and shape.get("xref") == "x":
            x = x_at(shape["x0"])
            line = shape.get("line") or {}
            out.append(
                f'<line class="annotation-line" x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" '
                f'y2="{top + plot_h:.1f}" stroke="{_attr(line.get("color") or INK)}" '
                f'stroke-width="1.2" stroke-dasharray="{DASHES["dot"]}"/>'
            )
    for mark in marks:
        if mark.get("xref") != "x":
            continue
        x = x_at(mark["x"]) + 3
        text = str(mark.get("text") or "")
        anchor = "start"
        if x + 5.6 * len(text) > left + plot_w:  # a label near the right edge reads leftwards
            anchor, x = "end", x - 6
        colour = (mark.get("font") or {}).get("color") or INK
        hover = str(mark.get("hovertext") or text).replace("<br>", "; ")
        y = top + 10 - float(mark.get("yshift") or 0)
        # A white box behind the label keeps it readable over the lines (no paint-order: the
        # PDF's SVG renderer does not know it).
        box_w = 5.6 * len(text) + 4
        box_x = x - 2 if anchor == "start" else x - box_w + 2
        out.append(
            f"<g><title>{escape(hover)}</title>"
            f'<rect x="{box_x:.1f}" y="{y - 9:.1f}" width="{box_w:.1f}" height="12" '
            f'fill="#fff" fill-opacity="0.85"/>'
            f'<text class="annotation-label" x="{x:.1f}" y="{y:.1f}" '
            f'text-anchor="{anchor}" fill="{_attr(colour)}">{escape(text)}</text></g>'
        )
    # Legend.
    for row_index, row in enumerate(legend_rows):
        y = 12 + 16 * row_index
        for x, trace in row:
            colour = _colour(trace)
            if trace.get("type") == "bar":
                swatch = (
                    f'<rect x="{x:.1f}" y="{y - 7:.1f}" width="10" height="8" '
                    f'fill="{_attr(colour)}"/>'
                )
            else:
                dash = DASHES.get((trace.get("line") or {}).get("dash") or "")
                swatch = (
                    f'<line x1="{x:.1f}" x2="{x + 12:.1f}" y1="{y - 3:.1f}" y2="{y - 3:.1f}" '
                    f'stroke="{_attr(colour)}" stroke-width="2"'
                    + (f' stroke-dasharray="{dash}"' if dash else "")
                    + "/>"
                )
            out.append(swatch)
            out.append(
                f'<text x="{x + 16:.1f}" y="{y:.1f}" fill="{MUTED}">'
                f"{escape(str(trace.get('name')))}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def data_uri(svg_text: str) -> str:
    """The SVG as a data: URL, so the PDF embeds it as one vector image (WeasyPrint styles an
    inline SVG node by node, which costs more than the rest of the page)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg_text.encode()).decode()


def _runs(points: list) -> list[list[tuple[float, float]]]:
    """Unbroken stretches of a line (a missing value breaks it, as plotly does)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [r for r in runs if r]


def _legend_layout(traces: list[dict], width: int) -> list[list[tuple[float, dict]]]:
    rows: list[list[tuple[float, dict]]] = []
    x = 0.0
    for trace in traces:
        item = 22 + 5.6 * len(str(trace.get("name")))
        if not rows or x + item > width:
            rows.append([])
            x = 0.0
        rows[-1].append((x, trace))
        x += item + 10
    return rows


SPARK_WIDTH, SPARK_HEIGHT = 120, 32
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(
    values: list, *, width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT, label: str = ""
) -> str:
    """A small <svg> line of the values (a missing value breaks it) with its last point marked,
    drawn with attributes only (no CSS, no script), so an HTML mail can carry it inline. Named by
    `label` for screen readers; "" when there is nothing to draw."""
    numbers = [_number(v) for v in values]
    known = [v for v in numbers if v is not None]
    if not known:
        return ""
    top, bottom = max(max(known), 0.0), min(min(known), 0.0)
    span = (top - bottom) or 1.0
    pad = 3.0
    step = (width - 2 * pad) / max(len(numbers) - 1, 1)

    def at(i: int, v: float) -> tuple[float, float]:
        return (round(pad + i * step, 1), round(pad + (height - 2 * pad) * (top - v) / span, 1))

    points = [None if v is None else at(i, v) for i, v in enumerate(numbers)]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_attr(label)}">'
    ]
    if label:
        out.append(f"<title>{escape(label)}</title>")
    for run in _runs(points):
        joined = " ".join(f"{x},{y}" for x, y in run)
        out.append(
            f'<polyline points="{joined}" fill="none" stroke="#0b6e4f" stroke-width="1.6" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    last = next((p for p in reversed(points) if p is not None), None)
    if last is not None:
        out.append(f'<circle cx="{last[0]}" cy="{last[1]}" r="2.4" fill="#0b6e4f"/>')
    out.append("</svg>")
    return "".join(out)


def sparkline_text(values: list) -> str:
    """The same line as block characters ("▁▃▅█"), for the text part of a mail and for mail
    clients that drop SVG; a missing value is a space."""
    numbers = [_number(v) for v in values]
    known = [v for v in numbers if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    top = len(SPARK_BLOCKS) - 1
    return "".join(
        " " if v is None else SPARK_BLOCKS[round((v - low) / span * top)] for v in numbers
    )
