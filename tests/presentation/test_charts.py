"""make_figure spells a figure exactly as plotly's own Figure does, without its validation
(issue 25: it cost 1–12 ms a chart on every page that rebuilt one)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import pytest

from metrics.periods import parse_state
from metrics.refresh import refresh_summaries
from presentation.charts import axis_for, base_layout, make_figure
from presentation.widgets import build_widget
from tests.dashboard.factories import build_history


def test_make_figure_is_plotlys_own_json():
    x = ["1 Nov", "2 Nov", "3 Nov"]
    traces = [
        go.Bar(x=x, y=[1200.5, 0, 310], marker={"color": "#0f766e"}, name="This period"),
        go.Scatter(x=x, y=[900, 15, 40], mode="lines", line={"dash": "dot"}, name="Before"),
    ]
    layout = base_layout(yaxis=axis_for("aud_cents", 1200.5), barmode="group")

    ours = make_figure(traces, layout)

    theirs = json.loads(go.Figure(data=traces, layout=layout).to_json())
    assert ours == theirs
    # The named template is spelled out as plotly spells "none".
    assert ours["layout"]["template"] == {"data": {"scatter": [{"type": "scatter"}]}}
    assert [t["type"] for t in ours["data"]] == ["bar", "scatter"]
    assert ours["data"][0]["y"] == [1200.5, 0, 310]


# Every chart on a dashboard spells its traces as plain dicts (presentation.charts.trace), not
# plotly's trace objects, whose validation cost several ms a page (issue 25): each figure must
# be exactly what plotly's own validated Figure makes of it, with and without a comparison and
# with a running bucket.
CHARTS = [
    ("trend", {"metric": "revenue"}),
    ("trend", {"metric": "pipeline_value"}),  # a state metric
    ("pipeline_by_stage", {}),
    ("installations", {}),
    ("warranty_claims", {}),
    ("sales_by_category", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("compare", ["previous_period", "none"])
def test_every_chart_is_plotlys_own_json(org, time_machine, compare):
    now = dt.datetime(2026, 11, 20, 12, tzinfo=ZoneInfo("Australia/Sydney"))
    time_machine.move_to(now, tick=False)
    build_history(org, now=now, days=90, n_orders=60, n_opps=40, n_jobs=30, n_claims=20)
    refresh_summaries()
    state = parse_state({"range": "this_month", "compare": compare}, org)
    for n, (kind, settings) in enumerate(CHARTS):
        widget = {"id": f"w{n}", "type": kind, "size": "m", "settings": settings}
        figure = build_widget(widget, org, None, state)["figure"]
        assert figure["data"], kind
        assert figure == json.loads(go.Figure(figure).to_json()), (kind, settings)
