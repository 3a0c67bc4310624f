"""The widget catalogue: every widget type, its settings, and how its context is built and
cached.

A widget in a layout is {"id", "type", "size", "settings"}. Its type names an entry of
CATALOGUE, which says how to validate its settings and how to build its context from the
metric layer (metrics.queries, its one entry point). Organisation-wide widgets are cached per
organisation data version, so a page can render them inline when they are warm
(`peek_widget`) and otherwise load them as htmx fragments (`build_widget`). The dashboard and
the PDF reports both build widgets here, so a KPI in a PDF is the card's string. See
docs/architecture.md, section "Presentation vocabulary".

Scope (metrics.scope): a technician's widgets read their own rows (the metric
layer's owner slice), and they can only add widgets whose records they may open.
"""

from __future__ import annotations

from typing import Any

from metrics import cache as metric_cache
from metrics.definitions import METRICS, SOURCES
from metrics.filters import FILTERS, describe, not_applying
from metrics.periods import DashboardState
from presentation.widgets.base import WidgetContext, WidgetType
from presentation.widgets.charts import (
    build_installations,
    build_pipeline_by_stage,
    build_trend,
    build_warranty,
    installations_payloads,
    pipeline_payloads,
    trend_payloads,
    warranty_payloads,
)
from presentation.widgets.insights import build_insights
from presentation.widgets.kpis import build_kpi, kpi_card, metric_entries
from presentation.widgets.lists import build_feed, build_my_jobs, build_team_jobs
from presentation.widgets.personal import build_personal_kpi
from presentation.widgets.sales import build_sales_by_category, sales_payloads

CATALOGUE: dict[str, WidgetType] = {
    w.type: w
    for w in [
        WidgetType(
            "kpi",
            "KPI",
            "One number with its comparison and target",
            "kpi",
            "s",
            build_kpi,
            metric_setting=True,
            sources=("targets",),
        ),
        WidgetType(
            "trend",
            "Trend",
            "A metric over time, with the comparison overlaid",
            "chart",
            "l",
            build_trend,
            metric_setting=True,
            payloads=trend_payloads,
        ),
        WidgetType(
            "pipeline_by_stage",
            "Pipeline by stage",
            "Open pipeline value per stage",
            "chart",
            "m",
            build_pipeline_by_stage,
            sources=("pipeline",),
            payloads=pipeline_payloads,
            metrics=("pipeline_value",),
        ),
        WidgetType(
            "sales_by_category",
            "Sales by category",
            "Revenue, orders, average order and kWh sold per product category",
            "chart",
            "m",
            build_sales_by_category,
            sources=("sales",),
            payloads=sales_payloads,
            metrics=("revenue", "kwh_sold"),
        ),
        WidgetType(
            "installations",
            "Installations",
            "Jobs completed and kWh deployed",
            "chart",
            "m",
            build_installations,
            sources=("jobs",),
            payloads=installations_payloads,
            metrics=("jobs_completed", "kwh_deployed"),
        ),
        WidgetType(
            "warranty_claims",
            "Warranty claims",
            "Claims opened, by kind and status",
            "chart",
            "m",
            build_warranty,
            sources=("warranty",),
            payloads=warranty_payloads,
            metrics=("warranty_claims",),
        ),
        WidgetType(
            "activity_feed",
            "Latest activity",
            "Calls, emails, meetings and visits, live",
            "feed",
            "m",
            build_feed,
            per_user=True,
        ),
        WidgetType(
            "personal_kpi",
            "Personal KPI",
            "One of your numbers against yesterday, last week and last month",
            "personal",
            "s",
            build_personal_kpi,
            metric_setting=True,
            per_user=True,
        ),
        WidgetType(
            "insights",
            "Insights",
            "What moved and why: computed findings, worded by AI when configured",
            "insights",
            "l",
            build_insights,
            per_user=True,  # without the findings the user marked not useful
            sources=(*SOURCES, "targets"),
        ),
        WidgetType(
            "my_jobs",
            "My jobs",
            "Your scheduled and in-progress installations",
            "jobs",
            "m",
            build_my_jobs,
            per_user=True,
        ),
        WidgetType(
            "team_jobs",
            "Installs this week",
            "This week's installations, Monday to Sunday, with who does each",
            "jobs",
            "m",
            build_team_jobs,
            per_user=True,
            sources=("jobs",),
        ),
    ]
}


def catalogue_choices(user=None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for the "add widget" form, those the user may have: values are "<type>"
    or "<type>:<metric>"."""

    def allowed(widget_type: str, metric: str | None = None) -> bool:
        settings = {"metric": metric} if metric else {}
        return user is None or CATALOGUE[widget_type].allowed_for(user, settings)

    return [
        ("Numbers", [(f"kpi:{m.key}", m.label) for m in METRICS.values() if allowed("kpi", m.key)]),
        (
            "Trends",
            [
                (f"trend:{m.key}", f"{m.label} trend")
                for m in METRICS.values()
                if allowed("trend", m.key)
            ],
        ),
        (
            "Charts and lists",
            [
                (w.type, w.title)
                for w in CATALOGUE.values()
                if not w.metric_setting and allowed(w.type)
            ],
        ),
    ]


class WidgetSettingsError(ValueError):
    pass


def clean_settings(widget_type: Any, settings) -> dict:
    """Validated settings for a widget type (both as stored: any JSON value); raises
    WidgetSettingsError."""
    spec = CATALOGUE.get(widget_type)
    if spec is None:
        raise WidgetSettingsError(f"Unknown widget type {str(widget_type)[:40]!r}")
    settings = settings if isinstance(settings, dict) else {}
    if spec.metric_setting:
        metric = settings.get("metric")
        if metric not in METRICS:
            raise WidgetSettingsError(f"Unknown metric {str(metric)[:40]!r} for {widget_type}")
        return {"metric": metric}
    return {}


# --- Building and caching -------------------------------------------------------------------


CONTEXT_VERSION = 3  # bump when a builder's output changes shape, so old cached contexts go


def cache_name(widget: dict) -> str:
    settings = widget.get("settings") or {}
    parts = "".join(f":{k}={v}" for k, v in sorted(settings.items()))
    return f"w{CONTEXT_VERSION}:{widget['type']}{parts}"


def _key_parts(spec: WidgetType, widget: dict, state, owner) -> tuple:
    """(the parts a widget's value is keyed by, the live dimensions its filters name)."""
    # Its metrics' measures, not their whole sources (WidgetType.key_parts): a write that
    # moves no measure it shows keeps it.
    parts = spec.key_parts(widget.get("settings") or {}, owner is not None or bool(state.filters))
    # A filter by a live dimension (metrics/cache.py, per-dimension versions) names it.
    # Tricky: a widget that broke its numbers down by a live dimension would have to name it
    # here too; none does (stage, claim kind and status, product category are summary ones).
    dims = [FILTERS[param].dimension for param, _ in state.filters if param in FILTERS]
    return parts, dims


def _key(spec: WidgetType, widget: dict, organization, state, owner) -> str | None:
    parts, dims = _key_parts(spec, widget, state, owner)
    token = f"o{owner}" if owner is not None else ""
    if state.filters:
        # Tricky: the filters change the numbers and every link the widget holds.
        token += "|" + ";".join(f"{k}={v}" for k, v in state.filters)
    return metric_cache.make_key(organization.pk, cache_name(widget), state, parts, token, dims)


def unfiltered_context(spec: WidgetType, settings: dict, state: DashboardState) -> dict | None:
    """What a widget shows when a dashboard filter cannot narrow its numbers (say so, never an
    unfiltered number), or None when every filter applies."""
    missing = not_applying(state.filters, spec.data_sources(settings))
    if not missing or spec.per_user:
        return None
    title = spec.title_for(settings)
    text = f"{title} cannot be filtered by {describe(missing)}."
    metric = METRICS[settings["metric"]] if spec.metric_setting else None
    return {
        "not_filtered": True,
        "empty": True,
        "empty_text": text,
        "not_filtered_text": text,
        "metric": {"key": metric.key, "label": metric.label, "unit": metric.unit}
        if metric
        else None,
    }


def build_widget(
    widget: dict, organization, user, state: DashboardState, *, ready: bool = False
) -> dict:
    """The context of one widget, computed (or read from the cache for org-wide widgets and
    owner slices). `ready`: the dashboard page, where insights show what is stored."""
    spec = CATALOGUE[widget["type"]]
    settings = widget.get("settings") or {}
    owner = spec.owner_for(user, settings) if user is not None else None
    ctx = WidgetContext(organization, user, state, settings, owner, ready=ready)
    if spec.per_user:
        return spec.build(ctx)
    unfiltered = unfiltered_context(spec, settings, state)
    if unfiltered is not None:
        return unfiltered
    return metric_cache.get_or_compute(
        _key(spec, widget, organization, state, owner), lambda: spec.build(ctx)
    )


def payload_keys(widget: dict, organization, user, state: DashboardState) -> list[str | None]:
    """The keys of the cached payloads build_widget would read for this widget (a chart's
    series or breakdowns), for a page to look up with the widgets' values in one round trip;
    none for per-user widgets and those a filter cannot narrow."""
    spec = CATALOGUE[widget["type"]]
    settings = widget.get("settings") or {}
    if spec.payloads is None or spec.per_user or unfiltered_context(spec, settings, state):
        return []
    owner = spec.owner_for(user, settings) if user is not None else None
    return spec.payloads(WidgetContext(organization, user, state, settings, owner))


def build_personal_widget(
    widget: dict, organization, subject, state: DashboardState, period: str, keys
) -> dict:
    """The context of a widget on `subject`'s personal dashboard: their own slice."""
    spec = CATALOGUE[widget["type"]]
    ctx = WidgetContext(
        organization,
        subject,
        state,
        widget.get("settings") or {},
        subject.pk,
        period=period,
        keys=tuple(keys),
    )
    return spec.build(ctx)


def widget_key(widget: dict, organization, state: DashboardState, user=None) -> str | None:
    """The cache key of a widget's value as `user` sees it: None for per-user widgets (never
    cached across users) and when Redis is down."""
    spec = CATALOGUE[widget["type"]]
    if spec.per_user:
        return None
    owner = spec.owner_for(user, widget.get("settings") or {}) if user is not None else None
    return _key(spec, widget, organization, state, owner)


def load_key_versions(layout: list[dict], organization, state: DashboardState, user=None) -> None:
    """Read what every widget_key of a page needs from Redis in one round trip, before the
    page asks for them one by one (metrics.cache.load_key_histories)."""
    wanted = []
    for widget in layout:
        spec = CATALOGUE.get(widget.get("type", ""))
        if spec is None or spec.per_user:
            continue
        owner = spec.owner_for(user, widget.get("settings") or {}) if user is not None else None
        wanted.append(_key_parts(spec, widget, state, owner))
    metric_cache.load_key_histories(organization.pk, state, wanted)


def peek_widget(widget: dict, organization, state: DashboardState, user=None) -> dict | None:
    """The cached context of a widget as `user` sees it, or None; never computes."""
    spec = CATALOGUE[widget["type"]]
    if spec.per_user:
        return None
    owner = spec.owner_for(user, widget.get("settings") or {}) if user is not None else None
    return metric_cache.peek(_key(spec, widget, organization, state, owner))


def build_kpis(layout: list[dict], organization, user, state: DashboardState) -> dict[str, dict]:
    """{widget id: context} of the layout's KPI cards, as build_widget would give each, from one
    get_metrics over their metrics and one targets read per owner slice (a technician's cards
    of jobs are their own): never one computation, or one wait on another's, per card. The
    cards read only their own metrics: the page never computes findings (they are stored,
    insights.queries), so it does not read the metrics only findings need."""
    out: dict[str, dict] = {}
    groups: dict[int | None, list[dict]] = {}
    for widget in (w for w in layout if CATALOGUE[w["type"]].kind == "kpi"):
        spec = CATALOGUE[widget["type"]]
        settings = widget.get("settings") or {}
        unfiltered = unfiltered_context(spec, settings, state)
        if unfiltered is not None:
            out[widget["id"]] = unfiltered
            continue
        owner = spec.owner_for(user, settings) if user is not None else None
        groups.setdefault(owner, []).append(widget)
    for owner, members in groups.items():
        ctx = WidgetContext(organization, user, state, {}, owner)
        keys = sorted({w["settings"]["metric"] for w in members})
        entries = metric_entries(ctx, keys, keys)
        for widget in members:
            metric = METRICS[widget["settings"]["metric"]]
            out[widget["id"]] = kpi_card(ctx, metric, *entries[metric.key])
    return out
