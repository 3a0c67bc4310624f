"""One scope rule, read by every reader (docs/architecture.md, "The scope rule").

A technician's kWh, jobs and activities are their own slice wherever they are read: the page's
cards, the JSON API's metrics and timeseries, the drill-down and its CSV and XLSX exports, a
PDF report they own, the insights API and their personal page all give the same hand-computed
number and say it is theirs. An admin reads the organisation's number everywhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from dashboard import layouts
from metrics.personal import personal_numbers
from metrics.scope import scope_of
from operations.models import Activity, InstallationJob
from reports.content import build_content
from tests.conftest import make_user
from tests.reports.conftest import make_report
from tests.targets.helpers import customer, local, order

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 20, 12)
# The range every reader is asked for: 14–20 Nov 2026 (to now), against 7–13 Nov.
PARAMS = {"range": "last_7_days", "compare": "previous_period"}
CURRENT, PREVIOUS = local(2026, 11, 16, 10), local(2026, 11, 9, 10)
METRICS = ("kwh_deployed", "jobs_completed", "activities")


def _job(org, tech, completed: dt.datetime, kwh: str) -> None:
    buyer = customer(org)
    created = completed - dt.timedelta(days=3)
    sale = order(org, created - dt.timedelta(days=2), 1_000, buyer=buyer)
    InstallationJob.objects.create(
        organization=org,
        order=sale,
        customer=buyer,
        technician=tech,
        status="completed",
        scheduled_for=created + dt.timedelta(days=1),
        created_at=created,
        started_at=completed,
        completed_at=completed,
        kwh=kwh,
        labor_hours="3.00",
    )


def _activities(org, user, at: dt.datetime, n: int) -> None:
    for i in range(n):
        Activity.objects.create(
            organization=org,
            user=user,
            kind="call",
            subject="Call",
            occurred_at=at + dt.timedelta(minutes=i),
        )


@pytest.fixture
def crew(org, time_machine):
    time_machine.move_to(NOW, tick=False)
    tia = make_user(org, Role.TECHNICIAN, "tia@renoz.test")
    tom = make_user(org, Role.TECHNICIAN, "tom@renoz.test")
    # Tia: 10 jobs of 10.25 kWh this week (102.5), 1 of 10.00 the week before; 12 activities
    # this week, 1 before. Tom: 4 jobs of 20.00 kWh this week (80), 2 the week before (40);
    # 5 activities this week.
    for i in range(10):
        _job(org, tia, CURRENT + dt.timedelta(hours=i), "10.25")
    _job(org, tia, PREVIOUS, "10.00")
    for i in range(4):
        _job(org, tom, CURRENT + dt.timedelta(hours=i), "20.00")
    for i in range(2):
        _job(org, tom, PREVIOUS + dt.timedelta(hours=i), "20.00")
    _activities(org, tia, CURRENT, 12)
    _activities(org, tia, PREVIOUS, 1)
    _activities(org, tom, CURRENT, 5)
    return tia, tom


# Worked by hand from the rows above.
TIA = {"kwh_deployed": 102.5, "jobs_completed": 10, "activities": 12}
ORGANISATION = {"kwh_deployed": 182.5, "jobs_completed": 14, "activities": 17}


def _url(name_or_path: str, **params) -> str:
    path = name_or_path if name_or_path.startswith("/") else reverse(name_or_path)
    return f"{path}?{urlencode({**PARAMS, **params})}"


def _drill(metric: str, **params) -> str:
    return _url(reverse("drill-metric", args=[metric]), **params)


def _with_cards(user) -> None:
    layout, _ = layouts.get_layout(user)
    shown = {w["settings"].get("metric") for w in layout if w["type"] == "kpi"}
    for metric in METRICS:
        if metric not in shown:
            layouts.do_add_widget(user, "kpi", {"metric": metric})


def _card_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', html))


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def _xlsx(response):
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    about = {r[0]: r[1] for r in workbook.worksheets[1].iter_rows(values_only=True)}
    return rows, about


def _walk(client, user, expected: dict, word: str, *, personal: bool) -> None:
    """Every reader, for each metric: the same number, and whose it is."""
    client.force_login(user)
    _with_cards(user)

    page = client.get(_url("dashboard-home"))
    assert page.status_code == 200
    cards = _card_values(page.content.decode())

    api = client.get("/api/dashboard/metrics", {**PARAMS, "metrics": ",".join(METRICS)}).json()
    insights = client.get("/api/dashboard/insights", PARAMS).json()
    findings = {
        f["metric"]: f
        for f in insights["findings"]
        if f["kind"] == "change" and f["metric"] in METRICS
    }

    report = make_report(
        user.organization,
        user,
        range_preset="last_7_days",
        compare="previous_period",
        widgets=[f"kpi:{m}" for m in METRICS],
    )
    pdf_kpis = {k["metric"]["key"]: k for k in build_content(report, NOW).kpis}

    me = {}
    if personal:
        me = _card_values(client.get(reverse("dashboard-me"), {"period": "7d"}).content.decode())
        assert {"kwh_deployed", "jobs_completed"} <= set(me)

    for metric in METRICS:
        value = expected[metric]
        assert scope_of(user, metric).word == word

        assert Decimal(cards[metric]) == Decimal(str(value)), metric

        entry = api["metrics"][metric]
        assert (entry["value"], entry["scope"]) == (value, word), metric

        series = client.get("/api/dashboard/timeseries", {**PARAMS, "metric": metric}).json()
        assert series["scope"] == word
        assert round(sum(p["value"] for p in series["points"]), 2) == value, metric

        drill = client.get(_drill(metric))
        summary = drill.context["summary"]
        assert (summary.value, summary.scope) == (value, word), metric
        assert summary.count == (
            expected["activities"] if metric == "activities" else expected["jobs_completed"]
        )

        rows = _csv_rows(client.get(_drill(metric, format="csv")))
        assert len(rows) - 1 == summary.count, metric
        xrows, about = _xlsx(client.get(_drill(metric, format="xlsx")))
        assert (len(xrows) - 1, about["Rows"]) == (summary.count, summary.count), metric
        if metric == "kwh_deployed":
            kwh = xrows[0].index("kWh")
            assert round(sum(r[kwh] for r in xrows[1:]), 2) == value
            column = rows[0].index(next(h for h in rows[0] if h.startswith("kWh")))
            assert sum(Decimal(r[column]) for r in rows[1:]) == Decimal(str(value))
        assert about["Scope"] == ("Yours" if word == "own" else "Organisation")

        kpi = pdf_kpis[metric]
        assert (kpi["raw"], kpi["yours"]) == (value, word == "own"), metric

        if metric in findings:
            assert findings[metric]["value"] == value, metric

        if personal:
            # The technician's personal page has no activities card; its numbers come from
            # personal_numbers, asked here for the same seven days.
            shown = me.get(metric)
            if shown is None:
                numbers = personal_numbers(
                    user.organization, user.pk, NOW.date(), "7d", [metric], now=NOW
                )
                shown = numbers[metric]["value"]
            assert Decimal(str(shown)) == Decimal(str(value)), metric
    assert insights["scope"] == word
    if word == "own":
        # Both job metrics moved far beyond noise in Tia's slice, so the insights name them.
        assert {"kwh_deployed", "jobs_completed"} <= set(findings)


def test_a_technician_reads_their_own_slice_in_every_reader(client, crew):
    tia, _tom = crew
    _walk(client, tia, TIA, "own", personal=True)


def test_an_admin_reads_the_organisations_number_in_every_reader(client, owner, crew):
    _walk(client, owner, ORGANISATION, "organization", personal=False)


def test_a_technician_cannot_widen_their_slice_with_an_owner_filter(client, crew):
    tia, tom = crew
    client.force_login(tia)
    api = client.get(
        "/api/dashboard/metrics", {**PARAMS, "metrics": "kwh_deployed", "owner": tom.pk}
    ).json()
    assert (api["metrics"]["kwh_deployed"]["value"], api["metrics"]["kwh_deployed"]["scope"]) == (
        102.5,
        "own",
    )
