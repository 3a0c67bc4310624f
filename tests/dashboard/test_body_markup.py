"""The widget bodies spelled in Python (presentation/templatetags/widget_bodies.py, issue 25:
rendering 15 bodies cost about 21 ms of a history-cached page) print, byte for byte, what
dashboard/dashboard.html's partials printed before: rendered both ways, from real widget data
(targets, an owner's slice, a filter that cannot apply, with and without a comparison) and
from hand-made values that must be escaped. Byte for byte, so the bodies already cached under
dashboard.views.FRAGMENT_VERSION stay right."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils.html import json_script
from django.utils.safestring import mark_safe

from accounts.models import Role
from metrics.periods import parse_state
from metrics.refresh import refresh_summaries
from presentation import svg, widgets
from presentation.templatetags.vocabulary import CHART_BOXES, PHONE_BOX, chart_svg
from presentation.templatetags.widget_bodies import chart_table_rows
from targets.models import Target
from tests.conftest import make_user
from tests.dashboard.factories import build_history

# The `kpi` partial of dashboard/dashboard.html as the template language spelled it before
# (only its partialdef tags left out).
KPI_PARTIAL = """{% load vocabulary %}{% with d=w.data %}
{% if d.not_filtered %}
<div class="kpi kpi-unfiltered">
  <div class="kpi-top"><h2 class="kpi-label" id="wt-{{ w.id }}">{{ d.metric.label }}</h2></div>
  <p class="kpi-na">{{ d.not_filtered_text }}</p>
</div>
{% else %}
<a class="kpi tone-{{ d.tone }}" href="{{ d.drill }}" hx-get="{{ d.drill }}" hx-target="#modal" hx-swap="innerHTML"
   aria-label="{{ d.aria_label }}" data-metric="{{ d.metric.key }}" data-value="{{ d.raw|default_if_none:'' }}">
  <div class="kpi-top">
    <h2 class="kpi-label" id="wt-{{ w.id }}">{{ d.metric.label }}</h2>
    {% if d.yours %}<span class="badge badge-yours" title="Only the jobs assigned to you">Yours</span>{% endif %}
    {% if state.to_date %}<span class="badge badge-todate">To date</span>{% endif %}
  </div>
  <div class="kpi-value" title="{{ d.exact }}">{{ d.value }}</div>
  <div class="kpi-delta">
    {% if d.delta_text %}<span class="delta delta-{{ d.tone }}{% if d.trend == "up" and d.change %} delta-up{% elif d.trend == "down" and d.change %} delta-down{% endif %}">{{ d.delta_text }}</span>{% endif %}
    <span class="kpi-vs" title="{{ d.previous_exact }}">{{ d.vs_text }}</span>
  </div>
  {% if d.target %}
  <div class="target target-{{ d.target.status }}">
    <span class="target-bar"><span style="width: {{ d.target.bar_pct }}%"></span>{% if d.target.expected_pct is not None %}<i class="target-expected" style="left: {{ d.target.expected_pct }}%" title="Expected by now"></i>{% endif %}</span>
    <span class="target-text">{{ d.target.text }} · <span class="target-status">{{ d.target.status_label }}</span></span>
    {% if d.target.source_text %}<span class="target-source">{{ d.target.source_text }}</span>{% endif %}
  </div>
  {% endif %}
</a>
<a class="kpi-bell" href="/dashboard/alerts/new/?metric={{ d.metric.key }}&amp;{{ state.querystring }}" title="Alert me about {{ d.metric.label }}" aria-label="Alert me about {{ d.metric.label }}"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg></a>
{% endif %}
{% endwith %}"""
# The `kpi` partial now (dashboard/dashboard.html).
KPI_OURS = "\n{{ w|kpi_card:state }}\n"
# The `chart` partial as the template language spelled it before, and now.
CHART_PARTIAL = """{% load vocabulary %}{% with d=w.data %}
<div class="widget-head">
  <h2 class="widget-title" id="wt-{{ w.id }}">{{ w.title }}</h2>
  {% if not d.empty %}
  <div class="widget-actions">
    {% if d.annotate_url %}<a class="btn btn-sm chart-annotate" role="button" href="{{ d.annotate_url }}&amp;next={% filter urlencode:"" %}{% url 'dashboard-home' %}?{{ state.querystring|safe }}{% endfilter %}" data-annotate aria-pressed="false" title="Click a day or drag across days on the chart">Annotate</a>{% endif %}
    <button type="button" class="btn btn-sm" data-toggle-table aria-pressed="false" aria-controls="tbl-{{ w.id }}">Table</button>
  </div>
  {% endif %}
</div>
{% if d.empty %}
<div class="state state-empty"><p>{{ d.empty_text }}</p>{% if not d.not_filtered %}<p class="muted">Try a longer period.</p>{% endif %}</div>
{% else %}
{# First paint: the server's SVG of the same figure; plotly takes it over on interaction (or when a desktop is idle). #}
<div class="chart" id="ch-{{ w.id }}" data-figure="{{ w.fig_id }}" data-summary="{{ d.summary }}">{{ d.figure|chart_svg:w }}</div>
{{ d.figure|json_script:w.fig_id }}
{% if d.annotations %}<ul class="chart-notes" aria-label="Annotations in this range">{% for n in d.annotations|slice:":4" %}<li><span class="chart-note-mark" aria-hidden="true"></span>{{ n.title }} <span class="muted">· {{ n.when }}</span></li>{% endfor %}{% if d.annotations|length > 4 %}<li><a href="{% url 'annotations-list' %}">{{ d.annotations|length|add:"-4" }} more</a></li>{% endif %}</ul>{% endif %}
<p class="chart-records"><a href="{{ d.drill }}">See the records</a></p>
<div class="chart-table" id="tbl-{{ w.id }}" hidden>
  <table>
    <caption>{{ d.table.caption }}</caption>
    <thead><tr>{% for c in d.table.columns %}<th scope="col">{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>
      {% for row in d.table.rows %}
      <tr><th scope="row"><a href="{{ row.drill }}" hx-get="{{ row.drill }}" hx-target="#modal" hx-swap="innerHTML">{{ row.label }}</a></th>{% for cell in row.cells %}<td>{{ cell }}</td>{% endfor %}</tr>
      {% endfor %}
    </tbody>
  </table>
</div>
{% endif %}
{% endwith %}"""  # noqa: E501
CHART_OURS = "\n{{ w|chart_body:state }}\n"
# The `feed_rows` partial as the template language spelled it before, with the
# `activity_icon` partial it read.
FEED_ROWS_PARTIAL = """{% load partials %}{% partialdef activity_icon %}<svg viewBox="0 0 24 24" width="16" height="16">{% if a.kind == "call" %}<path d="M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1 1 .4 1.9.7 2.8a2 2 0 0 1-.5 2.1L8.1 9.9a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.8.7a2 2 0 0 1 1.7 2z"/>{% elif a.kind == "email" %}<path d="M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/><path d="M22 6l-10 7L2 6"/>{% elif a.kind == "meeting" %}<path d="M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/><path d="M23 21v-2a4 4 0 0 0-3-3.9M16 3.1a4 4 0 0 1 0 7.8"/>{% elif a.kind == "site_visit" %}<path d="M21 10c0 7-9 13-9 13s-9-6-9-13a9 9 0 0 1 18 0z"/><circle cx="12" cy="10" r="3"/>{% else %}<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/><path d="M14 2v6h6M16 13H8M16 17H8"/>{% endif %}</svg>{% endpartialdef %}
{% if not before %}<li class="feed-poll" hidden hx-get="{% url 'dashboard-activity' %}?after={{ d.newest|urlencode }}&amp;kind={{ d.kind }}{% if d.filter_query %}&amp;{{ d.filter_query }}{% endif %}" hx-trigger="every 60s" hx-swap="outerHTML"></li>{% endif %}
{% for a in d.items %}
<li class="feed-item">
  <span class="feed-icon kind-{{ a.kind }}" aria-hidden="true">{% partial activity_icon %}</span>
  <div class="feed-main">
    <p class="feed-subject">{{ a.subject }}</p>
    <p class="feed-meta"><span class="feed-kind">{{ a.kind_label }}</span>{% if a.customer %} · {{ a.customer }}{% endif %}{% if a.who %} · {{ a.who }}{% endif %}</p>
  </div>
  <time class="feed-time" datetime="{{ a.iso }}" title="{{ a.exact }}">{{ a.when }}</time>
</li>
{% empty %}{% if not before and not after %}<li class="state state-empty feed-empty">{{ d.empty_text|default:"No activity of this kind yet." }}</li>{% endif %}
{% endfor %}
{% if d.next %}<li class="feed-more"><a class="btn btn-sm" href="{% url 'dashboard-activity' %}?before={{ d.next|urlencode }}&amp;kind={{ d.kind }}{% if d.filter_query %}&amp;{{ d.filter_query }}{% endif %}" hx-get="{% url 'dashboard-activity' %}?before={{ d.next|urlencode }}&amp;kind={{ d.kind }}{% if d.filter_query %}&amp;{{ d.filter_query }}{% endif %}" hx-trigger="intersect once, click" hx-target="closest li" hx-swap="outerHTML">Load more</a></li>{% endif %}
"""  # noqa: E501
# The loop of a chart's data table rows, as the template spelled it before.
ROWS_LOOP = """{% for row in rows %}
      <tr><th scope="row"><a href="{{ row.drill }}" hx-get="{{ row.drill }}" hx-target="#modal" hx-swap="innerHTML">{{ row.label }}</a></th>{% for cell in row.cells %}<td>{{ cell }}</td>{% endfor %}</tr>
      {% endfor %}"""  # noqa: E501 - the template's line as it was

KPI_METRICS = [
    "revenue",
    "kwh_deployed",
    "quote_win_rate",
    "new_customers",
    "average_order_value",
    "pipeline_value",
    "warranty_claims",
    "active_installations",
    "labor_hours",
]
CHARTS = [
    ("trend", {"metric": "revenue"}),
    ("trend", {"metric": "pipeline_value"}),
    ("pipeline_by_stage", {}),
    ("installations", {}),
    ("warranty_claims", {}),
    ("sales_by_category", {}),
]
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=ZoneInfo("Australia/Sydney"))


def both_ways(template: str, ours: str, context: dict) -> tuple[str, str]:
    before = Template(template).render(Context(context))
    after = Template("{% load widget_bodies %}" + ours).render(Context(context))
    return before, after


@pytest.fixture
def history(org, time_machine):
    time_machine.move_to(NOW, tick=False)
    technician = make_user(org, Role.TECHNICIAN, email="tech@body.test")
    build_history(
        org,
        now=NOW,
        days=120,
        n_orders=60,
        n_opps=40,
        n_jobs=30,
        n_claims=20,
        technician=technician,
    )
    refresh_summaries()
    for metric, value, start in (
        ("revenue", "40000000", NOW.date().replace(day=1)),  # a running month: expected by now
        ("kwh_deployed", "900", NOW.date().replace(day=1)),
        ("quote_win_rate", "0.38", NOW.date().replace(day=1)),
        ("new_customers", "6", dt.date(2026, 10, 1)),
    ):
        Target.objects.create(
            organization=org,
            metric=metric,
            period_kind="month",
            period_start=start,
            value=Decimal(value),
        )
    return technician


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "who"),
    [
        ({"range": "this_month", "compare": "previous_period"}, "owner"),
        ({"range": "last_month", "compare": "previous_year"}, "owner"),
        ({"range": "this_month", "compare": "none"}, "owner"),
        ({"range": "this_month", "compare": "previous_period", "claim_kind": "defect"}, "owner"),
        ({"range": "this_month", "compare": "previous_period"}, "technician"),
    ],
)
def test_kpi_cards_print_what_the_template_printed(org, owner, history, params, who):
    user = owner if who == "owner" else history
    state = parse_state(params, org)
    if "claim_kind" in params:  # as dashboard.views._state adds a filter
        state = dataclasses.replace(state, filters=(("claim_kind", params["claim_kind"]),))
    layout = [
        {"id": f"k{n}", "type": "kpi", "settings": {"metric": m}} for n, m in enumerate(KPI_METRICS)
    ]
    cards = widgets.build_kpis(layout, org, user, state)
    shown = {"target": 0, "yours": 0, "not_filtered": 0}
    for widget in layout:
        data = cards[widget["id"]]
        shown = {k: v + bool(data.get(k)) for k, v in shown.items()}
        before, after = both_ways(
            KPI_PARTIAL, KPI_OURS, {"w": {**widget, "data": data}, "state": state}
        )
        assert after == before, widget["settings"]["metric"]
    # The cases this state was chosen for were drawn.
    if "claim_kind" in params:
        assert shown["not_filtered"]
    elif who == "technician":
        assert shown["yours"]
    elif params["range"] == "this_month":
        assert shown["target"] >= 3


def card(**data) -> dict:
    base = {
        "metric": {"key": "revenue", "label": 'Revenue <net> & "GST"'},
        "tone": "good",
        "drill": "/dashboard/drill/revenue/?range=this_month&compare=none",
        "aria_label": 'Revenue\'s "exact" <value>',
        "raw": 1234567,
        "exact": "$12,345.67 AUD",
        "value": "$12.3k",
        "delta_text": "+5%",
        "change": "5%",
        "trend": "up",
        "previous_exact": "$11,000.00 AUD",
        "vs_text": "vs $11k last year",
        "target": None,
        "yours": False,
    }
    return {"id": "w<1>", "data": {**base, **data}}


TARGET = {
    "status": "behind",
    "bar_pct": 42,
    "expected_pct": 0,
    "text": "$12k of $30k <month>",
    "status_label": "Behind",
    "source_text": "From the & team's target",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "widget",
    [
        card(),
        card(raw=None, trend="down", delta_text="—", change=None),
        card(raw=1808.5, trend="down", tone="bad"),
        card(raw=Decimal("0.385"), trend="flat", delta_text="No change", change=""),
        card(raw=1e-05, delta_text="", yours=True),
        card(target=TARGET),
        card(target={**TARGET, "expected_pct": None, "source_text": ""}),
        card(target={**TARGET, "bar_pct": 100.0, "status": "met", "expected_pct": 99}),
        card(value=mark_safe("<b>safe</b>"), exact="1 < 2"),
        {"id": "w2", "data": {"metric": {"key": "x"}, "tone": "neutral"}},  # keys missing
        {"id": "w3", "data": {"not_filtered": True, "metric": None, "not_filtered_text": "<No>"}},
        {"id": "w4", "data": {"not_filtered": True, "metric": {"label": "Claims & co"}}},
    ],
)
@pytest.mark.parametrize("to_date", [True, False])
def test_kpi_card_escapes_and_misses_as_the_template_did(org, widget, to_date):
    params = {"range": "this_month" if to_date else "last_month", "compare": "previous_year"}
    state = parse_state(params, org)
    assert state.to_date is to_date
    before, after = both_ways(KPI_PARTIAL, KPI_OURS, {"w": widget, "state": state})
    assert after == before


@pytest.mark.django_db
@pytest.mark.parametrize("compare", ["previous_period", "none"])
def test_chart_table_rows_print_what_the_template_printed(org, owner, history, compare):
    state = parse_state({"range": "this_month", "compare": compare}, org)
    for n, (kind, settings) in enumerate(CHARTS):
        widget = {"id": f"c{n}", "type": kind, "size": "m", "settings": settings}
        rows = widgets.build_widget(widget, org, owner, state)["table"]["rows"]
        assert rows, kind
        assert chart_table_rows(rows) == Template(ROWS_LOOP).render(Context({"rows": rows})), kind


def test_chart_table_rows_escape_as_the_template_did():
    rows = [
        {"label": '<Big> & "small"', "drill": "/d/?a=1&b='2'", "cells": ["$1,000", 12, 1.5]},
        {"label": mark_safe("<i>safe</i>"), "drill": "/d/", "cells": [None, Decimal("2.50")]},
        {"label": "No cells", "drill": "/d/", "cells": []},
    ]
    after = chart_table_rows(rows)
    assert after == Template(ROWS_LOOP).render(Context({"rows": rows}))
    assert "<td>12</td><td>1.5</td>" in after and "<td>None</td>" in after
    assert "&lt;Big&gt; &amp; &quot;small&quot;" in after


@pytest.mark.parametrize(
    "value",
    [
        {"data": [{"x": ["1 Nov", "2 Nov"], "y": [1.5, None], "name": "</script><b>&amp;"}]},
        {"text": 'a < b > c & d \u2014 ’quoted’ "double"', "n": [1, 2.25, True, None]},
        {"when": dt.datetime(2026, 11, 20, 1, 2, 3, tzinfo=dt.UTC), "cents": Decimal("12.50")},
        [],
        "<!-- -->",
    ],
)
def test_json_script_fast_is_djangos_json_script(value):
    ours = Template("{% load vocabulary %}{{ v|json_script_fast:id }}").render(
        Context({"v": value, "id": 'fig-<1>"'})
    )
    assert ours == json_script(value, 'fig-<1>"')
    inside = ours[ours.index(">") + 1 : -len("</script>")]
    assert json.loads(inside) == json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    assert "<" not in inside and ">" not in inside and "&" not in inside


@pytest.mark.django_db
def test_a_chart_read_once_draws_what_each_drawing_drew(org, owner, history):
    """chart_svg reads a figure once for its two drawings (svg.read_figure, svg.draw): each is
    what render_figure draws of the figure on its own."""
    state = parse_state({"range": "last_30_days", "compare": "previous_year"}, org)
    for n, (kind, settings) in enumerate(CHARTS):
        widget = {"id": f"c{n}", "type": kind, "size": "l", "settings": settings, "title": kind}
        data = widgets.build_widget(widget, org, owner, state)
        slot = {**widget, "data": data}
        drawings = [
            svg.render_figure(
                data["figure"],
                width=width,
                height=height,
                title=kind,
                desc=data.get("summary", ""),
                ident=f"svg-{box}-c{n}",
            ).replace('class="chart-svg"', f'class="chart-svg chart-svg-{box}"', 1)
            for box, (width, height) in (("wide", CHART_BOXES["l"]), ("narrow", PHONE_BOX))
        ]
        assert chart_svg(data["figure"], slot) == "".join(drawings)


@pytest.mark.django_db
@pytest.mark.parametrize("compare", ["previous_period", "none"])
def test_chart_bodies_print_what_the_template_printed(org, owner, history, compare):
    state = parse_state({"range": "this_month", "compare": compare}, org)
    for n, (kind, settings) in enumerate(CHARTS):
        widget = {"id": f"c{n}", "type": kind, "size": "m", "settings": settings}
        data = widgets.build_widget(widget, org, owner, state)
        slot = {**widget, "title": f"{kind} <&>", "fig_id": f"fig-c{n}", "data": data}
        before, after = both_ways(CHART_PARTIAL, CHART_OURS, {"w": slot, "state": state})
        assert after == before, kind


NOTE = {"title": 'Price rise <10%> & "more"', "when": "Tue 3 Nov"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"annotations": [NOTE]},
        {"annotations": [NOTE] * 4},
        {"annotations": [NOTE] * 6, "annotate_url": "/dashboard/annotations/new/?metric=a&b"},
        {"annotate_url": None, "summary": 'Revenue "up" <5%>'},
        {"empty": True, "empty_text": "No <revenue> yet"},
        {"empty": True, "empty_text": "Not filtered", "not_filtered": True},
        {"table": {"caption": "By <day>", "columns": ["Day", "A&B"], "rows": []}},
    ],
)
def test_chart_body_escapes_and_misses_as_the_template_did(org, change):
    state = parse_state({"range": "last_30_days", "compare": "previous_year"}, org)
    figure = {
        "data": [{"type": "bar", "x": ["1 Nov", "2 Nov"], "y": [3, 4], "name": "Now <&>"}],
        "layout": {"yaxis": {"tickformat": "~s"}},
    }
    data = {
        "figure": figure,
        "summary": "Two days",
        "drill": "/dashboard/drill/revenue/?range=last_30_days&compare=previous_year",
        "annotate_url": "/dashboard/annotations/new/?metric=revenue",
        "table": {
            "caption": "Revenue by day",
            "columns": ["Day", "Revenue"],
            "rows": [{"label": "1 Nov", "drill": "/d/?a=1&b=2", "cells": ["$3"]}],
        },
        **change,
    }
    slot = {"id": "c<1>", "title": "Revenue & co", "size": "s", "fig_id": "fig-1", "data": data}
    before, after = both_ways(CHART_PARTIAL, CHART_OURS, {"w": slot, "state": state})
    assert after == before


ACTIVITY = {
    "kind": "call",
    "kind_label": "Call",
    "subject": 'Quote <follow-up> & "pricing"',
    "customer": "Tran & Sons",
    "who": "Ana",
    "iso": "2026-11-20T01:02:03+00:00",
    "when": "5 min ago",
    "exact": "Fri 20 Nov 2026, 12:02 pm",
}


@pytest.mark.parametrize(
    "items",
    [
        [{**ACTIVITY, "kind": kind} for kind in ("call", "email", "meeting", "site_visit", "note")],
        [{**ACTIVITY, "customer": "", "who": None}, {**ACTIVITY, "customer": None, "who": "Bo"}],
        [{"kind": "email", "subject": "Missing keys"}],
        [],
    ],
)
@pytest.mark.parametrize(
    "paging",
    [{}, {"before": "2026-11-19T00:00:00+00:00~1"}, {"after": "2026-11-20T00:00:00+00:00~2"}],
)
def test_feed_rows_print_what_the_template_printed(items, paging):
    d = {
        "items": items,
        "kind": "call",
        "newest": "2026-11-20T01:02:03+00:00~7",
        "next": "2026-11-19T01:02:03+00:00~3" if items else None,
        "filter_query": "state=NSW&category=battery",
        "empty_text": "Nothing <yet>" if paging else "",
    }
    context = {"d": d, "before": None, "after": None, **paging}
    before = Template(FEED_ROWS_PARTIAL).render(Context(context))
    after = render_to_string("dashboard/dashboard.html#feed_rows", context)
    assert after == before
    assert after.count('<li class="feed-item">') == len(items)
