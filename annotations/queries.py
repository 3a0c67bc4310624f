"""Reading annotations: which touch a window, which apply to a chart, and how they are worded
(docs/annotations.md).

One read per page: `window_notes` reads every annotation of the organisation touching a window
once (one SQL statement), shares it with every chart of the page (the page pass's memo) and
keeps it in Redis by the organisation's annotations version, so a cached page runs none. An
organisation with no annotations at all is remembered as such for that version, so its pages
run no annotation statement at any range.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from django.db.models import Q, Subquery

from annotations.models import Annotation
from metrics import cache as metric_cache
from metrics.definitions import METRICS
from metrics.filters import FILTERS
from metrics.periods import local_midnight

PART = "annotations"
TTL_SECONDS = 36 * 3600  # keyed by version, so they live as long as closed-day blocks
NONE_TTL_SECONDS = 30 * 24 * 3600  # "this organisation has none", until its next write

Note = dict  # {"id", "title", "starts_at", "ends_at", "metric", "dimension", "value", ...}


def _note(a: Annotation) -> Note:
    return {
        "id": a.pk,
        "title": a.title,
        "note": a.note,
        "tags": list(a.tags or []),
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "metric": a.metric or None,
        "dimension": a.dimension or None,
        "value": a.dimension_value or None,
        "source": a.source,
        "author_id": a.author_id,
    }


def _instant(value, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return local_midnight(value, tz)


def _read(org_id: int, start: dt.datetime, end: dt.datetime) -> tuple[list[Note], bool]:
    """(the notes touching [start, end), whether the organisation has any at all), in one
    statement: the window's rows, plus the organisation's first row as a witness that it has
    some (dropped again when it lies outside the window)."""
    scoped = Annotation.objects.for_org(org_id)
    first = scoped.order_by("pk").values("pk")[:1]
    rows = list(
        scoped.filter(Q(pk__in=scoped.overlapping(start, end).values("pk")) | Q(pk=Subquery(first)))
    )
    inside = {a.pk for a in rows if a.starts_at < end and (a.ends_at or a.starts_at) >= start}
    return [_note(a) for a in rows if a.pk in inside], bool(rows)


def window_notes(organization, start, end) -> list[Note]:
    """Every annotation of the organisation touching [start, end) (instants, or local dates
    with `end` exclusive), whatever its scope, oldest first: at most one SQL statement, none
    when cached or when the organisation has none."""
    tz = zoneinfo.ZoneInfo(organization.timezone)
    start, end = _instant(start, tz), _instant(end, tz)
    memo = metric_cache.computation_memo()
    memo_key = ("annotations", organization.pk, start, end)
    if memo is not None and memo_key in memo:
        return memo[memo_key]
    none_key = metric_cache.part_key(organization.pk, PART, "none")
    window_key = metric_cache.part_key(
        organization.pk, PART, f"{start.isoformat()}/{end.isoformat()}"
    )
    notes: list[Note] | None = None
    if none_key is not None and window_key is not None:
        cached = metric_cache.get_blocks([none_key, window_key], counted=False) or [None, None]
        if cached[0]:
            notes = []
        elif cached[1] is not None:
            notes = cached[1]
    if notes is None:
        notes, has_any = _read(organization.pk, start, end)
        if window_key is not None and none_key is not None:
            metric_cache.set_blocks({window_key: notes}, ttl=TTL_SECONDS)
            if not has_any:
                metric_cache.set_blocks({none_key: True}, ttl=NONE_TTL_SECONDS)
    if memo is not None:
        memo[memo_key] = notes
    return notes


def days_of(window) -> tuple[dt.date, dt.date]:
    """A metrics.periods Window's whole local days, [first, day after last): a range still
    running reads its annotations to the end of its last day, not only up to now."""
    return window.start, window.end + dt.timedelta(days=1)


def applies(note: Note, metrics: Iterable[str] | None, sources: Iterable[str], filters=()) -> bool:
    """Whether an annotation shows on a chart of these metrics (None: any) and sources under
    these dashboard filters: an organisation's on every chart, a metric's on that metric's
    charts, a dimension value's on charts that can be sliced by that dimension and are not
    narrowed to another of its values."""
    if note["metric"] and metrics is not None and note["metric"] not in set(metrics):
        return False
    if note["dimension"]:
        spec = FILTERS.get(note["dimension"])
        if spec is None or not any(spec.applies_to(s) for s in sources):
            return False
        chosen = dict(filters).get(note["dimension"])
        if chosen is not None and chosen != note["value"]:
            return False
    return True


def for_chart(organization, window, *, metrics, sources, filters=()) -> list[Note]:
    """The annotations a chart of these metrics and sources shows over a metrics.periods
    Window (its range), under the dashboard filters."""
    notes = window_notes(organization, *days_of(window))
    return [n for n in notes if applies(n, metrics, sources, filters)]


def in_range(organization, start, end, metric: str | None = None, filters=None) -> list[Note]:
    """The annotations touching [start, end) (instants, or local dates with `end` exclusive)
    that a view of `metric` (None: any metric) under `filters` ((param, value) pairs) shows:
    the function digests and other readers call."""
    sources = [METRICS[metric].source] if metric else list({m.source for m in METRICS.values()})
    return [
        n
        for n in window_notes(organization, start, end)
        if applies(n, [metric] if metric else None, sources, filters or ())
    ]


def scope_words(note: Note) -> str:
    """ "Whole organisation", "Revenue" or "Customer state: QLD"."""
    if note["metric"]:
        metric = METRICS.get(note["metric"])
        return metric.label if metric else note["metric"]
    if note["dimension"]:
        spec = FILTERS.get(note["dimension"])
        label = spec.label if spec else note["dimension"]
        value = spec.value_label(note["value"]) if spec else note["value"]
        return f"{label}: {value}"
    return "Whole organisation"


def when_words(note: Note, tz: zoneinfo.ZoneInfo) -> str:
    """ "3 Mar 2026" for a moment, "3–5 Mar 2026" for a span, in local days."""
    first = note["starts_at"].astimezone(tz).date()
    last = (note["ends_at"] or note["starts_at"]).astimezone(tz).date()
    if first == last:
        return f"{first:%-d %b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%-d}–{last:%-d %b %Y}"
    if first.year == last.year:
        return f"{first:%-d %b}–{last:%-d %b %Y}"
    return f"{first:%-d %b %Y}–{last:%-d %b %Y}"


def api_json(note: Note) -> dict:
    """An annotation as the JSON API gives it (docs/architecture.md, "JSON API")."""
    return {
        "id": note["id"],
        "title": note["title"],
        "starts_at": note["starts_at"].isoformat(),
        "ends_at": note["ends_at"].isoformat() if note["ends_at"] else None,
        "metric": note["metric"],
    }


def api_json_full(note: Note) -> dict:
    return {
        **api_json(note),
        "note": note["note"],
        "tags": note["tags"],
        "dimension": {note["dimension"]: note["value"]} if note["dimension"] else None,
        "source": note["source"],
    }


def list_for(organization, *, tag: str = "", metric: str = ""):
    """The organisation's annotations for the list screen, newest first, by tag and metric."""
    qs = Annotation.objects.for_org(organization).select_related("author")
    if tag:
        qs = qs.filter(tags__contains=[tag])
    if metric:
        qs = qs.filter(metric=metric)
    return qs.order_by("-starts_at", "-pk")


def tags_of(organization) -> list[str]:
    """Every tag the organisation's annotations carry, sorted (for the list's filter)."""
    seen: set[str] = set()
    for tags in Annotation.objects.for_org(organization).values_list("tags", flat=True):
        seen.update(tags or [])
    return sorted(seen)


def as_note(annotation: Annotation) -> Note:
    return _note(annotation)
