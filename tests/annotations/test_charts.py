"""Annotations on charts (docs/annotations.md, "On charts"): clipped to the visible buckets,
clustered when dense, on every chart whose range and scope they touch, drawn by the server's
SVG (first paint and PDF) and carried in plotly's figure, the timeseries API and the
drill-down header."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import zoneinfo

import pytest

from annotations.models import Annotation
from annotations.queries import in_range
from metrics.refresh import refresh_summaries
from presentation import svg
from presentation.charts import annotation_layout, annotation_marks
from reports.content import build_content
from tests.conftest import make_user
from tests.dashboard.factories import build_history
from tests.reports.conftest import make_report
from tests.targets.helpers import local

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
NOW = local(2026, 11, 20, 12)
NOVEMBER = [(dt.date(2026, 11, 1) + dt.timedelta(days=i)).isoformat() for i in range(20)]


def note(i, title, start, end=None):
    return {"id": i, "title": title, "starts_at": start, "ends_at": end, "metric": None}


def test_a_span_that_starts_before_the_window_shows_clipped_from_the_first_bucket():
    storm = note(1, "Storm in SE QLD", local(2026, 10, 25), local(2026, 11, 3, 18))
    [mark] = annotation_marks([storm], NOVEMBER, "day", SYDNEY)
    # Buckets 1–20 Nov: the span runs from before the 1st (index 0) to the 3rd (index 2).
    assert (mark["x0"], mark["x1"], mark["spans"]) == (0, 2, [(0, 2)])
    assert mark["label"] == "← Storm in SE QLD"
    layout = annotation_layout([mark])
    band, line = layout["shapes"]
    assert (band["type"], band["x0"], band["x1"]) == ("rect", -0.5, 2.5)
    assert (line["type"], line["x0"]) == ("line", 0)
    # One running past the window's end is marked so too; one wholly outside is left out.
    later = note(2, "Outage", local(2026, 11, 19), local(2026, 12, 2))
    gone = note(3, "Last year", local(2025, 11, 1))
    marks = annotation_marks([later, gone], NOVEMBER, "day", SYDNEY)
    assert [(m["x0"], m["x1"], m["label"]) for m in marks] == [(18, 19, "Outage →")]


def test_dense_annotations_cluster_with_a_count():
    notes = [
        note(1, "Price rise", local(2026, 11, 5, 9)),
        note(2, "Ad campaign", local(2026, 11, 6, 9)),
        note(3, "Web outage", local(2026, 11, 6, 15)),
        note(4, "Storm", local(2026, 11, 15)),
    ]
    marks = annotation_marks(notes, NOVEMBER, "day", SYDNEY)
    # 20 buckets: marks less than 2 buckets apart share a label.
    assert [(m["x0"], m["label"], m["ids"]) for m in marks] == [
        (4, "3 annotations", [1, 2, 3]),
        (14, "Storm", [4]),
    ]
    labels = annotation_layout(marks)["annotations"]
    assert labels[0]["hovertext"] == "Price rise<br>Ad campaign<br>Web outage"
    # Monthly buckets: a day lands in its month.
    months = ["2026-01-01", "2026-02-01", "2026-03-01"]
    [mark] = annotation_marks([note(5, "Storm", local(2026, 2, 14))], months, "month", SYDNEY)
    assert mark["x0"] == 1


def test_the_svg_draws_bands_lines_and_labels_escaped():
    figure = {
        "data": [{"type": "scatter", "x": ["a", "b", "c", "d"], "y": [1, 2, 3, 4]}],
        "layout": annotation_layout(
            annotation_marks(
                [note(1, "<Storm> & rain", local(2026, 11, 2), local(2026, 11, 3))],
                NOVEMBER[:4],
                "day",
                SYDNEY,
            )
        ),
    }
    drawn = svg.render_figure(figure)
    assert drawn.count('class="annotation-band"') == 1
    assert drawn.count('class="annotation-line"') == 1
    assert "&lt;Storm&gt; &amp; rain</text>" in drawn
    assert "<title>&lt;Storm&gt; &amp; rain</title>" in drawn  # the hover, for every title


@pytest.fixture
def world(db, org, time_machine):
    time_machine.move_to(NOW, tick=False)
    admin = make_user(org, "admin")
    build_history(
        org,
        now=NOW,
        days=60,
        n_orders=80,
        n_opps=40,
        n_jobs=30,
        n_claims=15,
        n_customers=20,
        n_activities=10,
    )
    refresh_summaries()
    return admin


def add(org, title, start, end=None, **fields):
    return Annotation.objects.create(
        organization=org, title=title, starts_at=start, ends_at=end, **fields
    )


def svg_labels(page: str) -> list[str]:
    return re.findall(r'class="annotation-label"[^>]*>([^<]*)<', page)


def figures(page: str) -> dict[str, dict]:
    return {
        m.group(1): json.loads(m.group(2))
        for m in re.finditer(
            r'<script id="(fig-[^"]+)" type="application/json">(.*?)</script>', page
        )
    }


def test_an_organisation_annotation_shows_on_every_chart_of_the_page(client, org, world):
    add(org, "Storm in SE QLD", local(2026, 10, 28), local(2026, 11, 4))
    client.force_login(world)
    page = client.get("/dashboard/?range=this_month").content.decode()
    # The revenue trend and installations draw it on their day axis, twice each (desktop and
    # phone SVG), clipped to 1 Nov; every chart (the pipeline, warranty and sales-by-category
    # bars too, which are not by day) lists it under the chart.
    assert svg_labels(page) == ["← Storm in SE QLD"] * 4
    assert page.count('aria-label="Annotations in this range"') == 5
    assert page.count('Storm in SE QLD <span class="muted">· 28 Oct–4 Nov 2026</span>') == 5
    # The trend's Annotate control opens the form for its metric and comes back here.
    assert (
        'href="/dashboard/annotations/new/?metric=revenue&amp;next='
        '%2Fdashboard%2F%3Frange%3Dthis_month%26compare%3Dprevious_period"'
    ) in page
    # plotly takes over with the same marks.
    with_marks = [f for f in figures(page).values() if f["layout"].get("annotations")]
    assert len(with_marks) == 2
    assert {f["layout"]["annotations"][0]["text"] for f in with_marks} == {"← Storm in SE QLD"}


def test_a_metric_annotation_shows_on_that_metrics_charts_only(client, org, world):
    add(org, "Price rise 5%", local(2026, 11, 10, 9), metric="revenue")
    client.force_login(world)
    page = client.get("/dashboard/?range=this_month").content.decode()
    assert svg_labels(page) == ["Price rise 5%"] * 2  # the revenue trend only
    series = client.get("/api/dashboard/timeseries?metric=revenue&range=this_month").json()
    assert [a["title"] for a in series["annotations"]] == ["Price rise 5%"]
    jobs = client.get("/api/dashboard/timeseries?metric=jobs_completed&range=this_month").json()
    assert jobs["annotations"] == []


def test_a_dimension_annotation_shows_where_that_value_is_included(client, org, world):
    qld = add(org, "Storm in SE QLD", local(2026, 11, 3), dimension="state", dimension_value="QLD")
    client.force_login(world)

    def titles(query):
        body = client.get(f"/api/dashboard/timeseries?metric=revenue&range=this_month{query}")
        return [a["title"] for a in body.json()["annotations"]]

    assert titles("") == ["Storm in SE QLD"]  # every state includes QLD
    assert titles("&state=QLD") == ["Storm in SE QLD"]
    assert titles("&state=NSW") == []
    page = client.get("/dashboard/?range=this_month&state=NSW").content.decode()
    assert "Storm in SE QLD" not in page
    # A product category's annotation does not show on jobs, which have no category.
    battery = add(
        org, "Battery recall", local(2026, 11, 5), dimension="category", dimension_value="battery"
    )
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 21)
    assert [n["id"] for n in in_range(org, start, end, "revenue")] == [qld.pk, battery.pk]
    assert [n["id"] for n in in_range(org, start, end, "jobs_completed")] == [qld.pk]


def test_another_organisations_annotations_never_show(client, org, other_org, world):
    add(other_org, "Their storm", local(2026, 11, 3))
    client.force_login(world)
    page = client.get("/dashboard/?range=this_month").content.decode()
    assert "Their storm" not in page
    assert client.get("/api/annotations?range=this_month").json()["annotations"] == []


def test_the_drill_down_header_lists_the_annotations_of_its_period(client, org, world):
    add(org, "Price rise 5%", local(2026, 11, 10, 9), metric="revenue")
    add(org, "Jobs backlog", local(2026, 11, 10, 9), metric="jobs_completed")
    client.force_login(world)
    page = client.get("/dashboard/drill/revenue/?range=this_month").content.decode()
    header = page.split('<header class="drill-head">')[1].split("</header>")[0]
    assert "Price rise 5%" in header and "10 Nov 2026" in header
    assert "Jobs backlog" not in header
    # A bucket outside the annotation's day: not listed.
    other_day = client.get(
        "/dashboard/drill/revenue/?range=this_month&bucket=2026-11-12&interval=day"
    ).content.decode()
    assert "Price rise 5%" not in other_day.split("</header>")[0]


def test_the_pdf_reports_charts_draw_the_annotations(org, world):
    add(org, "Storm in SE QLD", local(2026, 11, 15), local(2026, 11, 17))
    report = make_report(
        org, world, range_preset="last_7_days", widgets=["trend:revenue", "pipeline_by_stage"]
    )
    content = build_content(report, NOW)
    trend, pipeline = content.charts
    drawn = base64.b64decode(trend["svg"].split(",", 1)[1]).decode()
    assert drawn.count('class="annotation-band"') == 1
    assert ">Storm in SE QLD</text>" in drawn
    assert [n["title"] for n in pipeline["annotations"]] == ["Storm in SE QLD"]
    assert trend["annotations"][0]["when"] == "15–17 Nov 2026"
