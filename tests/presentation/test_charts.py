"""make_figure spells a figure exactly as plotly's own Figure does, without its validation
(issue 25: it cost 1–12 ms a chart on every page that rebuilt one)."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from presentation.charts import axis_for, base_layout, make_figure


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
