"""What every widget builder shares: its context, its type, its links and its data slice.

See docs/architecture.md, section "Presentation vocabulary".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode

from django.urls import reverse

from accounts.models import Organization, User
from annotations.queries import for_chart, scope_words, when_words
from metrics.cache import WHOLE_PARTS
from metrics.definitions import METRICS
from metrics.filters import slice_args
from metrics.periods import DashboardState
from metrics.scope import may_see_source, owner_for
from presentation.charts import annotation_layout, annotation_marks

SIZES = {"s": "Small", "m": "Medium", "l": "Large"}
TONES: dict[bool | None, str] = {True: "good", False: "bad"}


def job_url(job_id: int) -> str:
    """A job's page (dashboard.field): customer, site, products, status and history."""
    return f"/dashboard/jobs/{job_id}/"


def _query(state: DashboardState, extra: dict[str, str]) -> str:
    """state.querystring(**extra), byte for byte. The state's own part is encoded once per
    state, and each extra part once per state and page: a chart's every point carries a drill
    link, a few hundred a page, and the revenue trend's table rows, installations' two series
    and their rows repeat the same bucket's (issue 25). Tricky: only when no extra parameter
    replaces one of the state's, whose place in the query would move."""
    memo = _state_queries.get(state)
    if memo is None:
        if len(_state_queries) > 64:
            _state_queries.clear()
        params = state.params()
        memo = _state_queries[state] = (urlencode(params), frozenset(params), {})
    own, names, extras = memo
    if not extra:
        return own
    wanted = tuple(extra.items())
    query = extras.get(wanted)
    if query is None:
        if not names.isdisjoint(extra):
            return state.querystring(**extra)
        if len(extras) > 2048:
            extras.clear()
        part = _encode(wanted)
        query = extras[wanted] = f"{own}&{part}" if own else part
    return query


_state_queries: dict[
    DashboardState, tuple[str, frozenset[str], dict[tuple[tuple[str, str], ...], str]]
] = {}

# What quote_plus leaves as it is (urllib.parse's always-safe characters): a date, an interval,
# a stage or a category, the usual values of a link's extra part.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


def _quoted(value: object) -> str:
    """quote_plus(str(value)), as urlencode spells a str value, without its byte-by-byte walk
    for the usual value that has nothing to quote."""
    text = str(value)
    return text if _PLAIN.fullmatch(text) else quote_plus(text)


def _encode(pairs: tuple[tuple[str, str], ...]) -> str:
    """urlencode(dict(pairs)) of str values, the same bytes
    (tests/presentation/test_chart_cost_links.py)."""
    return "&".join([f"{_quoted(key)}={_quoted(value)}" for key, value in pairs])


def drill_url(metric: str, state: DashboardState, **extra: str) -> str:
    """Where a number drills to: the records behind it, in the same state."""
    return f"/dashboard/drill/{metric}/?{_query(state, extra)}"


def filter_url(state: DashboardState, **extra: str) -> str:
    """The dashboard in the same state with one more filter."""
    return f"/dashboard/?{_query(state, extra)}"


@dataclass(frozen=True)
class WidgetContext:
    organization: Organization
    user: User | None  # None when warming the cache of org-wide widgets
    state: DashboardState
    settings: dict
    owner: int | None = None  # read only this user's rows (a technician's own)
    period: str = "day"  # personal widgets: day, 7d or mtd (metrics.personal.PERIODS)
    keys: tuple[str, ...] = ()  # personal widgets: every metric on the page, computed together
    ready: bool = False  # the dashboard page: show what is stored, never compute findings


@dataclass(frozen=True)
class WidgetType:
    type: str
    title: str
    description: str
    kind: str  # the template partial: kpi, chart, feed, jobs
    default_size: str
    build: Callable[[WidgetContext], dict]
    metric_setting: bool = False  # settings = {"metric": <key>}
    per_user: bool = False  # depends on the user, so never cached across users
    sources: tuple[str, ...] = ()  # the cache parts it reads, beyond its metric's source
    # The keys of the cached payloads its build reads (a page looks them up ahead).
    payloads: Callable[[WidgetContext], list[str | None]] | None = None
    # The metrics it reads, beyond its metric setting, when it reads nothing else of their
    # sources: its key then carries their measures' versions, not the sources'.
    metrics: tuple[str, ...] = ()

    def cache_parts(self, settings: dict) -> set[str]:
        """The data sources (cache version parts) this widget's value is built from; a chart
        also shows the annotations of its range."""
        parts = set(self.sources)
        if self.kind == "chart":
            parts.add("annotations")
        if self.metric_setting:
            parts.add(METRICS[settings["metric"]].source)
        return parts

    def key_parts(self, settings: dict, sliced: bool = False) -> set[str]:
        """The version parts its cached value carries: cache_parts, with each source read only
        through metrics replaced by those metrics' measures (metrics/cache.py, per-measure
        versions). A KPI shows its metric's value (`sliced`: an owner's, or filtered); a
        chart also the records behind it."""
        read = [METRICS[key] for key in self.metrics]
        if self.metric_setting:
            read.append(METRICS[settings["metric"]])
        through = {metric.source for metric in read}
        parts = self.cache_parts(settings) - through
        for metric in read:
            parts |= set(metric.value_parts(sliced) if self.kind == "kpi" else metric.reads_parts)
        return parts

    def data_sources(self, settings: dict) -> set[str]:
        """The metric sources whose records the widget shows."""
        return self.cache_parts(settings) - set(WHOLE_PARTS)

    def allowed_for(self, user, settings: dict) -> bool:
        """Whether the user may have this widget: they may open the records behind it."""
        return all(may_see_source(user, source) for source in self.data_sources(settings))

    def owner_for(self, user, settings: dict) -> int | None:
        """The owner slice the user reads this widget in (None: the whole organisation)."""
        owners = {owner_for(user, source) for source in self.data_sources(settings)}
        return owners.pop() if len(owners) == 1 else None

    def title_for(self, settings: dict) -> str:
        if self.metric_setting:
            label = METRICS[settings["metric"]].label
            return label if self.kind == "kpi" else f"{label} trend"
        return self.title


def slice_for(ctx: WidgetContext, source: str) -> dict:
    """The owner and dimension filters a widget reads `source` with: a technician's own rows,
    or the dashboard's filters (build_widget has checked that they apply)."""
    return slice_args(ctx.state.filters, source, ctx.owner) or {"owner": ctx.owner}


def annotate_url(metric: str = "") -> str:
    """The add form, opened from a chart (its metric filled in; dashboard.js adds the day or
    span clicked or dragged)."""
    return reverse("annotations-create") + "?" + urlencode({"metric": metric})


def chart_annotations(
    ctx: WidgetContext,
    metrics: list[str],
    sources: list[str],
    dates: list[str] | None = None,
    interval: str = "day",
) -> tuple[dict, list[dict]]:
    """(the plotly layout keys that mark a chart's annotations on its bucket axis, the same
    annotations as words for the chart's note list): those of the chart's range that apply to
    its metrics, sources and filters (annotations.queries; one read per page)."""
    notes = for_chart(
        ctx.organization,
        ctx.state.range,
        metrics=metrics,
        sources=sources,
        filters=ctx.state.filters,
    )
    tz = ctx.state.tz
    listed = [
        {"id": n["id"], "title": n["title"], "when": when_words(n, tz), "scope": scope_words(n)}
        for n in notes
    ]
    layout = annotation_layout(annotation_marks(notes, dates, interval, tz)) if dates else {}
    return layout, listed
