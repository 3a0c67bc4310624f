"""What a report shows: the owner's widgets, built by the dashboard, for the report's range.

Every number comes from presentation.widgets.build_widget (the same context a card or chart on
the dashboard renders), so a KPI in the PDF is the same string as on the card, and a technician
owner's report shows their own slice. Charts are the widgets' plotly figure dicts drawn as SVG
(presentation.svg). Top records come from metrics.queries.metric_records, shown with the drill-down's
columns (presentation.records). Reports never import the dashboard: the owner's saved layout
is read through presentation.layouts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import F

from metrics.definitions import METRICS
from metrics.periods import (
    COMPARISONS,
    PRESETS,
    DashboardState,
    comparison_label,
    comparison_name,
    parse_state,
    range_label,
)
from metrics.queries import metric_records
from metrics.scope import may_see_source, owner_for
from presentation import svg
from presentation.layouts import user_layout
from presentation.records import DRILL_SETS, format_cell
from presentation.widgets import CATALOGUE, WidgetSettingsError, build_widget, clean_settings
from presentation.wording import exact_time

# Widget types a report can print (per-user live lists are screen-only).
PRINTABLE = (
    "kpi",
    "trend",
    "sales_by_category",
    "pipeline_by_stage",
    "installations",
    "warranty_claims",
)
TOP_ROWS = 10
MAX_RECORD_SECTIONS = 3
# The records behind the main figures, largest first: metric -> column key to sort by.
TOP_RECORDS = {
    "revenue": ("total", "Largest orders"),
    "pipeline_value": ("value", "Largest open opportunities"),
    "kwh_deployed": ("kwh", "Largest installations completed"),
    "warranty_claims": ("cost", "Costliest warranty claims opened"),
}
# Drill-down columns left out of the printed tables, so each fits A4 portrait.
SKIP_COLUMNS = {"probability", "weighted"}
# Chart widgets stand for the metric whose records they show.
WIDGET_METRIC = {
    "sales_by_category": "revenue",
    "pipeline_by_stage": "pipeline_value",
    "installations": "kwh_deployed",
    "warranty_claims": "warranty_claims",
}


def widget_choices(owner=None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The report's widget picker: catalogue ids ("kpi:revenue", "installations") grouped."""
    groups: list[tuple[str, list[tuple[str, str]]]] = [
        ("Numbers", [(f"kpi:{m.key}", m.label) for m in METRICS.values()]),
        ("Trends", [(f"trend:{m.key}", f"{m.label} trend") for m in METRICS.values()]),
        (
            "Charts",
            [
                (w.type, w.title)
                for w in CATALOGUE.values()
                if w.type in PRINTABLE and not w.metric_setting
            ],
        ),
    ]
    if owner is None:
        return groups
    return [
        (label, [(v, text) for v, text in items if widget_allowed(v, owner)])
        for label, items in groups
    ]


def parse_widget_id(value: str) -> dict:
    """A catalogue id as a layout widget; raises WidgetSettingsError for unknown ids."""
    widget_type, _, metric = str(value).partition(":")
    if widget_type not in PRINTABLE:
        raise WidgetSettingsError(f"Unknown or unprintable widget {str(value)[:40]!r}")
    settings_ = clean_settings(widget_type, {"metric": metric} if metric else {})
    if metric and not CATALOGUE[widget_type].metric_setting:
        raise WidgetSettingsError(f"Widget {widget_type!r} takes no metric")
    return {"id": value, "type": widget_type, "size": "m", "settings": settings_}


def widget_allowed(value: str, owner) -> bool:
    try:
        widget = parse_widget_id(value)
    except WidgetSettingsError:
        return False
    return CATALOGUE[widget["type"]].allowed_for(owner, widget["settings"])


def report_widgets(report) -> list[dict]:
    """The widgets a report prints: its own list, or the owner's layout when empty; only those
    the owner may see."""
    if report.widgets:
        widgets = []
        for value in report.widgets:
            try:
                widgets.append(parse_widget_id(value))
            except WidgetSettingsError:
                continue
    else:
        widgets = [w for w in user_layout(report.owner) if w["type"] in PRINTABLE]
    return [
        w
        for w in widgets
        if CATALOGUE[w["type"]].allowed_for(report.owner, w.get("settings") or {})
    ]


def report_state(report, at: dt.datetime) -> DashboardState:
    """The dashboard state a report shows when sent at `at`."""
    return parse_state(
        {"range": report.range_preset, "compare": report.compare}, report.organization, now=at
    )


def dashboard_url(state: DashboardState) -> str:
    """A link that opens the dashboard with exactly the report's dates and comparison."""
    params = (
        f"from={state.range.start.isoformat()}&to={state.range.end.isoformat()}"
        f"&compare={state.compare}"
    )
    return f"{settings.SITE_URL}/dashboard/?{params}"


@dataclass
class ReportContent:
    report: object
    state: DashboardState
    as_of: dt.datetime
    range_label: str
    comparison_label: str | None
    compare_name: str | None
    kpis: list[dict] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    dashboard_url: str = ""

    @property
    def subject(self) -> str:
        return f"{self.report.name} · {self.range_label}"  # type: ignore[attr-defined]

    @property
    def preset_label(self) -> str:
        return PRESETS.get(self.state.preset or "", "Custom range")

    @property
    def compare_title(self) -> str:
        return COMPARISONS.get(self.state.compare, "")

    @property
    def tz_name(self) -> str:
        return str(self.state.tz)

    @property
    def as_of_label(self) -> str:
        """ "Data as of", in the organisation's timezone (templates would convert it to the
        server's)."""
        return exact_time(self.as_of, self.state.tz, weekday=False)


def build_content(report, at: dt.datetime) -> ReportContent:
    """Everything a report shows when sent at `at`, as its owner sees it."""
    organization = report.organization
    state = report_state(report, at)
    content = ReportContent(
        report=report,
        state=state,
        as_of=at,
        range_label=range_label(state),
        comparison_label=comparison_label(state),
        compare_name=comparison_name(state.compare),
        dashboard_url=dashboard_url(state),
    )
    metrics_shown: list[str] = []
    for widget in report_widgets(report):
        spec = CATALOGUE[widget["type"]]
        data = build_widget(widget, organization, report.owner, state)
        title = spec.title_for(widget.get("settings") or {})
        if spec.kind == "kpi":
            content.kpis.append({"title": title, **data})
            metrics_shown.append(widget["settings"]["metric"])
        else:
            content.charts.append(
                {
                    "title": title,
                    "svg": svg.data_uri(svg.render_figure(data["figure"], title=title)),
                    **{
                        k: data.get(k)
                        for k in ("summary", "table", "empty", "empty_text", "annotations")
                    },
                }
            )
            metric = widget["settings"].get("metric") or WIDGET_METRIC.get(widget["type"])
            if metric:
                metrics_shown.append(metric)
    as_of = [k["as_of"] for k in content.kpis if k.get("as_of")]
    if as_of:
        content.as_of = dt.datetime.fromisoformat(min(as_of))
    content.records = top_records(report, state, metrics_shown)
    return content


# Column widths: tables use a fixed layout (an automatic one measures every word of every cell,
# which made WeasyPrint's layout several times slower), so each column is given at least the
# width of its longest word (a word is never broken: "Performance", not "Performa/nce"), and
# the rest of the line by weight. Widths in mm of the A4 text block (210 mm less 2 × 14 mm of
# margin, static/css/report_print.css); per character at 8 pt DejaVu Sans, a header (capitals,
# spaced) and a body cell, plus the cell's padding.
_WEIGHTS = {
    "record": 1.8,
    "text": 2.0,
    "choice": 1.2,
    "list": 1.9,
    "datetime": 2.2,  # "20 Jul 2026 12:05" on two lines at most
    "percent": 1.0,
    "aud_cents": 1.6,
}
TABLE_MM = 182.0
HEAD_CHAR_MM, BODY_CHAR_MM, CELL_PADDING_MM = 2.15, 1.8, 4.0


def _longest_word(texts) -> int:
    return max((len(word) for text in texts for word in str(text).split()), default=0)


def _widths(columns, rows: list[list[str]] | None = None) -> list[float]:
    """Each column's width in % of the table: its longest word fits, the rest by weight."""
    rows = rows or []
    least = [
        max(
            _longest_word([c.label]) * HEAD_CHAR_MM,
            # Money and numbers never wrap (white-space: nowrap): the whole cell is one word.
            max((len(row[i]) for row in rows), default=0) * BODY_CHAR_MM
            if c.numeric
            else _longest_word(row[i] for row in rows) * BODY_CHAR_MM,
        )
        + CELL_PADDING_MM
        for i, c in enumerate(columns)
    ]
    spare = max(0.0, TABLE_MM - sum(least))
    weights = [_WEIGHTS.get(c.kind, 1.3) for c in columns]
    mm = [lo + spare * w / sum(weights) for lo, w in zip(least, weights, strict=True)]
    total = sum(mm)
    return [round(100 * width / total, 1) for width in mm]


def top_records(report, state: DashboardState, metrics_shown: list[str]) -> list[dict]:
    """The largest records behind the main figures (e.g. the ten largest orders)."""
    sections: list[dict] = []
    for key in dict.fromkeys(metrics_shown):
        if key not in TOP_RECORDS or len(sections) >= MAX_RECORD_SECTIONS:
            continue
        metric = METRICS[key]
        if not may_see_source(report.owner, metric.source):
            continue
        sort_key, title = TOP_RECORDS[key]
        drill_set = DRILL_SETS[metric.drill]
        order = drill_set.sort_keys[sort_key]
        window = state.range
        # The drill-down's rows in the owner's slice (a technician's own jobs).
        qs = metric_records(
            report.organization,
            metric,
            window.start_at,
            window.end_at,
            owner=owner_for(report.owner, metric.source),
        )
        if drill_set.related:
            qs = qs.select_related(*drill_set.related)
        rows = list(qs.order_by(F(order).desc(nulls_last=True), "-pk")[:TOP_ROWS])
        columns = [c for c in drill_set.columns if c.key not in SKIP_COLUMNS]
        texts = [
            [
                f"#{obj.pk}" if c.attr == "pk" else format_cell(c, c.value(obj), state.tz)
                for c in columns
            ]
            for obj in rows
        ]
        sections.append(
            {
                "title": title,
                "metric": metric.label,
                "columns": [
                    {"label": c.label, "numeric": c.numeric, "width": w}
                    for c, w in zip(columns, _widths(columns, texts), strict=True)
                ],
                "rows": [
                    [
                        {"text": text, "numeric": c.numeric}
                        for c, text in zip(columns, row, strict=True)
                    ]
                    for row in texts
                ],
            }
        )
    return sections
