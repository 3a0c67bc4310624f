"""Adding an annotation from a chart (docs/annotations.md, "Adding one from a chart"): a drag
across days on the revenue trend opens the form for that span, saving returns to the
dashboard, and every chart then marks it; a click on a point in annotate mode opens the form
for that day; viewers have no Annotate control."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from annotations.models import Annotation
from tests.browser import test_dashboard
from tests.browser.test_charts_first_paint import _login
from tests.browser.test_dashboard import wait_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
demo = test_dashboard.demo  # the fixture: the demo organisation with test passwords


def _trend(page):
    return page.locator(".widget", has=page.get_by_role("heading", name="Revenue trend"))


def test_a_drag_across_days_annotates_that_span_and_every_chart_shows_it(page, live_server, demo):
    _login(page, live_server, demo["admin"])
    page.goto("/dashboard/?range=last_30_days")
    wait_settled(page)
    trend = _trend(page)
    trend.get_by_role("button", name="Annotate").click()
    expect(trend.locator(".chart-annotate-hint")).to_be_visible()
    plot = trend.locator(".js-plotly-plot .nsewdrag").first
    expect(plot).to_be_visible()
    box = plot.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.30, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.40, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.50, y, steps=5)
    with page.expect_navigation():
        page.mouse.up()
    url = urlparse(page.url)
    assert url.path == "/dashboard/annotations/new/"
    query = parse_qs(url.query)
    assert query["metric"] == ["revenue"]
    start, end = query["starts_at"][0], query["ends_at"][0]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", start) and end > start
    expect(page.get_by_label("Starts")).to_have_value(start)
    page.get_by_label("Title").fill("Storm in SE QLD")
    with page.expect_navigation():
        page.get_by_role("button", name="Save annotation").click()
    assert urlparse(page.url).path == "/dashboard/"
    saved = Annotation.objects.get(title="Storm in SE QLD")
    assert saved.metric == "revenue" and saved.ends_at is not None
    # The trend marks it in its first paint (desktop and phone drawings), and plotly, which
    # has taken the charts over since, draws the same label.
    html = page.request.get(page.url).text()
    assert html.count('class="annotation-label"') >= 2
    wait_settled(page)
    expect(_trend(page).locator(".js-plotly-plot .annotation-text").first).to_contain_text(
        "Storm in SE QLD"
    )
    assert "Storm in SE QLD" in _trend(page).locator(".chart-notes").inner_text()


def test_a_click_in_annotate_mode_opens_the_form_for_that_day(page, live_server, demo):
    _login(page, live_server, demo["sales"])
    page.goto("/dashboard/?range=last_7_days")
    wait_settled(page)
    trend = _trend(page)
    trend.get_by_role("button", name="Annotate").click()
    plot = trend.locator(".js-plotly-plot .nsewdrag").first
    box = plot.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    with page.expect_navigation():
        page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    query = parse_qs(urlparse(page.url).query)
    assert urlparse(page.url).path == "/dashboard/annotations/new/"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", query["starts_at"][0])
    assert "ends_at" not in query  # one day: a moment


def test_viewers_see_annotations_but_no_annotate_control(page, live_server, demo):
    _login(page, live_server, demo["viewer"])
    page.goto("/dashboard/?range=last_30_days")
    wait_settled(page)
    expect(page.locator("[data-annotate]").first).to_be_hidden()


def test_space_presses_the_annotate_control_once_and_escape_leaves_annotate_mode(
    page, live_server, demo
):
    _login(page, live_server, demo["sales"])
    page.goto("/dashboard/?range=last_7_days")
    wait_settled(page)
    control = _trend(page).get_by_role("button", name="Annotate")
    control.focus()
    page.keyboard.press("Space")
    expect(control).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Escape")
    expect(control).to_have_attribute("aria-pressed", "false")
