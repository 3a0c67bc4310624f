"""Parts of the dashboard's widget bodies (dashboard/dashboard.html: the `kpi` and `chart`
partials, the rows of `feed_rows`) spelled in Python, because as template nodes they were most
of a page's rendering time: with values expired and history cached, 15 bodies a page cost
about 21 ms, a KPI card about 0.5 ms, a chart's data table a few hundred nodes and the feed's
rows about 2 ms (docs/scaling.md, issue 25: "a cheaper widget body than Django's template per
widget").

Each function prints what its template did, byte for byte, blank lines included: the page
and the bodies already cached (dashboard.views.FRAGMENT_VERSION) stay the same.
tests/dashboard/test_body_markup.py renders both spellings and compares them. Values print
as {{ value }} prints them (`_text`); a missing key prints "" (the template's
string_if_invalid), as it did."""

from __future__ import annotations

import html
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe

from presentation.templatetags.vocabulary import chart_svg, json_script_fast

register = template.Library()


def _at(value, *path, missing=""):
    """value.a.b as a template looks it up: a dict's key or an object's attribute; `missing`
    (a template prints "") where there is none."""
    for key in path:
        if isinstance(value, dict):
            if key not in value:
                return missing
            value = value[key]
        else:
            value = getattr(value, key, missing)
            if value is missing:
                return missing
    return value


def _text(value) -> str:
    """A value as {{ value }} prints it (django.template.base.render_value_in_context): localized
    when not text, then escaped unless marked safe. Escaped by html.escape, which is what
    django.utils.html.escape returns, without the lazy-string wrapper that costs more than the
    escaping of these short strings."""
    if not isinstance(value, str):
        value = str(formats.localize(timezone.template_localtime(value)))  # type: ignore[attr-defined]
    return value if hasattr(value, "__html__") else html.escape(value)


# The whitespace around each row of the template loop a chart's rows replaced.
ROW_BREAK = "\n      "


def chart_table_rows(rows: list[dict]) -> SafeString:
    """The rows of a chart's data table: each bucket's label as a link to its records (opened
    in the modal by htmx) and its formatted cells."""
    out = []
    for row in rows:
        drill = _text(_at(row, "drill"))
        cells = "".join(f"<td>{_text(cell)}</td>" for cell in _at(row, "cells") or ())
        out.append(
            f'{ROW_BREAK}<tr><th scope="row"><a href="{drill}" hx-get="{drill}" '
            f'hx-target="#modal" hx-swap="innerHTML">{_text(_at(row, "label"))}</a></th>'
            f"{cells}</tr>{ROW_BREAK}"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value is escaped by _text


YOURS = '<span class="badge badge-yours" title="Only the jobs assigned to you">Yours</span>'
TO_DATE = '<span class="badge badge-todate">To date</span>'
BELL = (
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 '
    '9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg>'
)


@register.filter
def kpi_card(widget: dict, state) -> SafeString:
    """A KPI card: its number linked to its records, the change against the comparison, its
    target's progress, and the bell that sets an alert on it; or, when a dashboard filter
    cannot narrow it, the sentence that says so. One line here for each line of the
    template it replaced."""
    d = widget["data"]
    wid = _text(widget["id"])
    label = _text(_at(d, "metric", "label"))
    if _at(d, "not_filtered"):
        lines = [
            "",
            '<div class="kpi kpi-unfiltered">',
            f'  <div class="kpi-top"><h2 class="kpi-label" id="wt-{wid}">{label}</h2></div>',
            f'  <p class="kpi-na">{_text(_at(d, "not_filtered_text"))}</p>',
            "</div>",
            "",
        ]
        return mark_safe("\n".join(lines))  # noqa: S308 - every value is escaped by _text
    drill = _text(_at(d, "drill"))
    key = _text(_at(d, "metric", "key"))
    raw = _at(d, "raw")
    lines = [
        "",
        f'<a class="kpi tone-{_text(_at(d, "tone"))}" href="{drill}" hx-get="{drill}" '
        'hx-target="#modal" hx-swap="innerHTML"',
        f'   aria-label="{_text(_at(d, "aria_label"))}" data-metric="{key}" '
        f'data-value="{"" if raw is None else _text(raw)}">',
        '  <div class="kpi-top">',
        f'    <h2 class="kpi-label" id="wt-{wid}">{label}</h2>',
        "    " + (YOURS if _at(d, "yours") else ""),
        "    " + (TO_DATE if _at(state, "to_date") else ""),
        "  </div>",
        f'  <div class="kpi-value" title="{_text(_at(d, "exact"))}">{_text(_at(d, "value"))}</div>',
        '  <div class="kpi-delta">',
        "    " + _kpi_delta(d),
        f'    <span class="kpi-vs" title="{_text(_at(d, "previous_exact"))}">'
        f"{_text(_at(d, 'vs_text'))}</span>",
        "  </div>",
        "  ",
        *_kpi_target(_at(d, "target")),
        "</a>",
        f'<a class="kpi-bell" href="/dashboard/alerts/new/?metric={key}&amp;'
        f'{_text(state.querystring())}" title="Alert me about {label}" '
        f'aria-label="Alert me about {label}">{BELL}</a>',
        "",
    ]
    return mark_safe("\n".join(lines))  # noqa: S308 - every value is escaped by _text


def _kpi_delta(d: dict) -> str:
    """The change against the comparison, coloured by its tone, with an arrow (CSS) when it
    moved."""
    if not _at(d, "delta_text"):
        return ""
    moved = ""
    if _at(d, "change"):
        moved = {"up": " delta-up", "down": " delta-down"}.get(_at(d, "trend"), "")
    return (
        f'<span class="delta delta-{_text(_at(d, "tone"))}{moved}">'
        f"{_text(_at(d, 'delta_text'))}</span>"
    )


def _kpi_target(target) -> list[str]:
    """The target's lines: its progress bar (with where it should be by now), its sentence
    and status, and where it came from; none without a target."""
    if not target:
        return []
    expected = _at(target, "expected_pct", missing=None)
    mark = (
        f'<i class="target-expected" style="left: {_text(expected)}%" title="Expected by now"></i>'
        if expected is not None
        else ""
    )
    source = _at(target, "source_text")
    return [
        f'  <div class="target target-{_text(_at(target, "status"))}">',
        f'    <span class="target-bar"><span style="width: {_text(_at(target, "bar_pct"))}%">'
        f"</span>{mark}</span>",
        f'    <span class="target-text">{_text(_at(target, "text"))} · '
        f'<span class="target-status">{_text(_at(target, "status_label"))}</span></span>',
        "    " + (f'<span class="target-source">{_text(source)}</span>' if source else ""),
        "  </div>",
        "  ",
    ]


@register.filter
def chart_body(widget: dict, state) -> SafeString:
    """A chart widget: its title and actions (annotate, show the table), then its first paint
    (the server's SVG of the figure, which plotly takes over on interaction or when a desktop
    is idle), the figure's JSON for plotly, the annotations in range, a link to the records
    and the same numbers as a table (hidden until asked for); or the empty state. One line
    here for each line of the template it replaced."""
    d = widget["data"]
    wid = _text(widget["id"])
    empty = _at(d, "empty")
    lines = [
        '<div class="widget-head">',
        f'  <h2 class="widget-title" id="wt-{wid}">{_text(_at(widget, "title"))}</h2>',
        "  ",
    ]
    if not empty:
        lines += [
            '  <div class="widget-actions">',
            "    " + _annotate_link(d, state),
            '    <button type="button" class="btn btn-sm" data-toggle-table aria-pressed="false" '
            f'aria-controls="tbl-{wid}">Table</button>',
            "  </div>",
            "  ",
        ]
    lines += ["</div>", ""]
    if empty:
        longer = "" if _at(d, "not_filtered") else '<p class="muted">Try a longer period.</p>'
        lines += [
            f'<div class="state state-empty"><p>{_text(_at(d, "empty_text"))}</p>{longer}</div>',
            "",
        ]
        return mark_safe("\n".join(lines))  # noqa: S308 - every value is escaped by _text
    figure = _at(d, "figure")
    table = _at(d, "table")
    columns = "".join(f'<th scope="col">{_text(c)}</th>' for c in _at(table, "columns") or ())
    lines += [
        "",
        f'<div class="chart" id="ch-{wid}" data-figure="{_text(_at(widget, "fig_id"))}" '
        f'data-summary="{_text(_at(d, "summary"))}">{chart_svg(figure, widget)}</div>',
        json_script_fast(figure, _at(widget, "fig_id")),
        _annotation_notes(_at(d, "annotations")),
        f'<p class="chart-records"><a href="{_text(_at(d, "drill"))}">See the records</a></p>',
        f'<div class="chart-table" id="tbl-{wid}" hidden>',
        "  <table>",
        f"    <caption>{_text(_at(table, 'caption'))}</caption>",
        f"    <thead><tr>{columns}</tr></thead>",
        "    <tbody>",
        "      " + chart_table_rows(_at(table, "rows") or []),
        "    </tbody>",
        "  </table>",
        "</div>",
        "",
    ]
    return mark_safe("\n".join(lines))  # noqa: S308 - every value is escaped by _text


def _annotate_link(d: dict, state) -> str:
    """The chart's "Annotate" link, back to this dashboard state once the note is saved."""
    url = _at(d, "annotate_url")
    if not url:
        return ""
    back = quote(f"{_text(reverse('dashboard-home'))}?{state.querystring()}", safe="")
    return (
        f'<a class="btn btn-sm chart-annotate" role="button" href="{_text(url)}&amp;next={back}" '
        'data-annotate aria-pressed="false" title="Click a day or drag across days on the chart">'
        "Annotate</a>"
    )


# How many annotations a chart lists under it; the rest are counted, linked to their list.
NOTES_SHOWN = 4


def _annotation_notes(notes) -> str:
    """The annotations in the chart's range under it: the first few, and how many more."""
    if not notes:
        return ""
    items = "".join(
        '<li><span class="chart-note-mark" aria-hidden="true"></span>'
        f'{_text(_at(n, "title"))} <span class="muted">· {_text(_at(n, "when"))}</span></li>'
        for n in notes[:NOTES_SHOWN]
    )
    if len(notes) > NOTES_SHOWN:
        items += (
            f'<li><a href="{_text(reverse("annotations-list"))}">'
            f"{_text(len(notes) - NOTES_SHOWN)} more</a></li>"
        )
    return f'<ul class="chart-notes" aria-label="Annotations in this range">{items}</ul>'


# Each activity kind's icon in the feed (inside a 24 × 24 box); any other kind is a page.
ACTIVITY_ICONS = {
    "call": (
        '<path d="M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 '
        "19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1 1 .4 1.9.7 2.8a2 2 0 0 1-.5 "
        "2.1L8.1 9.9a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.8.7a2 2 0 0 1 1.7 "
        '2z"/>'
    ),
    "email": (
        '<path d="M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/>'
        '<path d="M22 6l-10 7L2 6"/>'
    ),
    "meeting": (
        '<path d="M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/>'
        '<path d="M23 21v-2a4 4 0 0 0-3-3.9M16 3.1a4 4 0 0 1 0 7.8"/>'
    ),
    "site_visit": (
        '<path d="M21 10c0 7-9 13-9 13s-9-6-9-13a9 9 0 0 1 18 0z"/><circle cx="12" cy="10" r="3"/>'
    ),
}
OTHER_ACTIVITY_ICON = (
    '<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/>'
    '<path d="M14 2v6h6M16 13H8M16 17H8"/>'
)


@register.filter
def feed_items(items) -> SafeString:
    """The activity feed's rows (the `feed_rows` partial's loop), newest first: each
    activity's kind icon, subject, kind, customer and who, and when (exactly, in its title).
    One line here for each line of the template loop it replaced."""
    out = []
    for a in items or ():
        kind = _at(a, "kind")
        icon = ACTIVITY_ICONS.get(kind, OTHER_ACTIVITY_ICON)
        customer, who = _at(a, "customer"), _at(a, "who")
        meta = (
            f'<span class="feed-kind">{_text(_at(a, "kind_label"))}</span>'
            + (f" · {_text(customer)}" if customer else "")
            + (f" · {_text(who)}" if who else "")
        )
        lines = [
            "",
            '<li class="feed-item">',
            f'  <span class="feed-icon kind-{_text(kind)}" aria-hidden="true">'
            f'<svg viewBox="0 0 24 24" width="16" height="16">{icon}</svg></span>',
            '  <div class="feed-main">',
            f'    <p class="feed-subject">{_text(_at(a, "subject"))}</p>',
            f'    <p class="feed-meta">{meta}</p>',
            "  </div>",
            f'  <time class="feed-time" datetime="{_text(_at(a, "iso"))}" '
            f'title="{_text(_at(a, "exact"))}">{_text(_at(a, "when"))}</time>',
            "</li>",
            "",
        ]
        out.append("\n".join(lines))
    return mark_safe("".join(out))  # noqa: S308 - every value is escaped by _text
