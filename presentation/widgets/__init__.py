"""Widget payloads: what a card, chart, list or insight shows, built once for the dashboard and
the PDF reports alike (docs/architecture.md, section "Presentation vocabulary").

The modules: catalogue (the widget types, building and caching), kpis (KPI cards), charts
(trend, pipeline, installations, warranty), lists (activity feed, my jobs), personal (the
personal page's numbers), insights (the findings widget), base (context, type and links).
"""

from presentation.widgets.base import SIZES, WidgetContext, WidgetType, drill_url, job_url
from presentation.widgets.catalogue import (
    CATALOGUE,
    WidgetSettingsError,
    build_kpis,
    build_personal_widget,
    build_widget,
    cache_name,
    catalogue_choices,
    clean_settings,
    load_key_versions,
    payload_keys,
    peek_widget,
    unfiltered_context,
    widget_key,
)
from presentation.widgets.lists import FEED_PAGE_SIZE, feed_page

__all__ = [
    "CATALOGUE",
    "FEED_PAGE_SIZE",
    "SIZES",
    "WidgetContext",
    "WidgetSettingsError",
    "WidgetType",
    "build_kpis",
    "build_personal_widget",
    "build_widget",
    "cache_name",
    "catalogue_choices",
    "clean_settings",
    "load_key_versions",
    "payload_keys",
    "drill_url",
    "feed_page",
    "job_url",
    "peek_widget",
    "unfiltered_context",
    "widget_key",
]
