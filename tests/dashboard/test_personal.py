"""The personal dashboard and GET /api/dashboard/me: a person's own numbers, days before today
from the nightly table, today live; admins may look at colleagues; everyone else gets 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from dashboard.layouts import (
    DEFAULT_LAYOUTS,
    PERSONAL_ROLE_LAYOUT,
    get_personal_layout,
    personal_widgets,
)
from metrics.definitions import owned_metrics
from metrics.personal import last_month_day, personal_numbers
from metrics.statistics import compute_user_statistics
from operations.models import Activity, Customer, InstallationJob, Order
from tests.conftest import make_user
from tests.targets.helpers import order


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(org, other_org):
    return {
        "tech": make_user(org, "technician", "tech@renoz.test"),
        "rep": make_user(org, "sales", "rep@renoz.test"),
        "ops": make_user(org, "operations", "ops@renoz.test"),
        "admin": make_user(org, "admin", "admin@renoz.test"),
        "outsider": make_user(other_org, "admin", "boss@outsider.test"),
    }


def _job(org, tech, done_at, kwh="10.00", hours="4.00", n=[0]):  # noqa: B006 - a counter
    n[0] += 1
    customer = Customer.objects.create(
        organization=org, name=f"C{n[0]}", kind="commercial", state="NSW"
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        number=f"O{n[0]}",
        status="fulfilled",
        ordered_at=done_at - dt.timedelta(days=5),
        total_cents=1,
    )
    return InstallationJob.objects.create(
        organization=org,
        order=order,
        customer=customer,
        technician=tech,
        status="completed",
        scheduled_for=done_at,
        started_at=done_at,
        completed_at=done_at,
        created_at=done_at - dt.timedelta(days=5),
        kwh=Decimal(kwh),
        labor_hours=Decimal(hours),
    )


def _at(org, day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=org.tz)


def test_last_month_is_clamped_at_month_ends():
    assert last_month_day(dt.date(2026, 3, 31)) == dt.date(2026, 2, 28)
    assert last_month_day(dt.date(2028, 3, 30)) == dt.date(2028, 2, 29)
    assert last_month_day(dt.date(2026, 1, 15)) == dt.date(2025, 12, 15)


def test_the_api_gives_a_day_against_yesterday_last_week_and_last_month(org, people):
    tech = people["tech"]
    day = dt.date(2026, 3, 31)
    # 31 Mar: two jobs (10 + 7.5 kWh, 4 + 3 h); 30 Mar: one; 24 Mar: three; 28 Feb: one.
    _job(org, tech, _at(org, day, 9), "10.00", "4.00")
    _job(org, tech, _at(org, day, 23), "7.50", "3.00")  # 11 PM local is still 31 Mar
    _job(org, tech, _at(org, dt.date(2026, 3, 30)), "5.00", "2.00")
    for _ in range(3):
        _job(org, tech, _at(org, dt.date(2026, 3, 24)))
    _job(org, tech, _at(org, dt.date(2026, 2, 28)), "20.00", "8.00")
    compute_user_statistics(org, dt.date(2026, 2, 1), dt.date(2026, 3, 31))
    response = _client(tech).get("/api/dashboard/me?date=2026-03-31")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == tech.pk
    assert body["date"] == "2026-03-31"
    jobs = body["metrics"]["jobs_completed"]
    assert {k: jobs[k] for k in ("value", "yesterday", "last_week", "last_month")} == {
        "value": 2,
        "yesterday": 1,
        "last_week": 3,
        "last_month": 1,
    }
    assert jobs["change_pct"] == 100.0
    assert jobs["trend"] == "up"
    kwh = body["metrics"]["kwh_deployed"]
    assert (kwh["value"], kwh["yesterday"], kwh["last_month"]) == (17.5, 5.0, 20.0)
    assert kwh["change_pct"] == 250.0
    assert body["metrics"]["labor_hours"]["value"] == 7.0
    assert body["metrics"]["activities"]["value"] == 0
    assert body["metrics"]["quotes_won"]["value"] == 0


def test_a_day_the_nightly_job_has_not_reached_is_read_live(org, people):
    tech = people["tech"]
    _job(org, tech, _at(org, dt.date(2026, 3, 30)))
    body = _client(tech).get("/api/dashboard/me?date=2026-03-31").json()
    assert body["metrics"]["jobs_completed"]["yesterday"] == 1


def test_today_comes_live(org, people):
    rep = people["rep"]
    now = timezone.now()
    Activity.objects.create(organization=org, user=rep, kind="call", occurred_at=now)
    body = _client(rep).get("/api/dashboard/me").json()
    assert body["date"] == now.astimezone(org.tz).date().isoformat()
    assert body["metrics"]["activities"]["value"] == 1


def test_only_an_admin_may_see_a_colleague(org, people):
    tech = people["tech"]
    _job(org, tech, _at(org, dt.date(2026, 3, 30)))
    url = f"/api/dashboard/me?date=2026-03-30&user={tech.pk}"
    admin = _client(people["admin"]).get(url)
    assert admin.status_code == 200
    assert admin.json()["metrics"]["jobs_completed"]["value"] == 1
    assert _client(people["rep"]).get(url).status_code == 404
    assert _client(people["outsider"]).get(url).status_code == 404
    page = _client(people["rep"]).get(f"/dashboard/me/?user={tech.pk}")
    assert page.status_code == 404


@pytest.mark.parametrize(
    "raw", ["2026-13-01", "31-03-2026", "yesterday", "2999-01-01", "1999-12-31"]
)
def test_bad_dates_are_a_400_with_a_message(org, people, raw):
    response = _client(people["tech"]).get(f"/api/dashboard/me?date={raw}")
    assert response.status_code == 400
    assert "date" in response.json()["error"]


def test_anonymous_callers_get_a_401(org):
    assert Client().get("/api/dashboard/me").status_code == 401


@pytest.mark.parametrize(
    ("role", "labels"),
    [
        ("rep", ["Quotes won", "Quote win rate", "Pipeline value", "Activities", "Revenue"]),
        ("tech", ["Jobs completed", "kWh deployed", "Labour hours", "My jobs"]),
        ("ops", ["Jobs completed", "Active installations", "Open warranty claims"]),
        ("admin", ["Revenue", "kWh deployed", "Quote win rate", "Pipeline value"]),
    ],
)
def test_each_role_gets_its_personal_layout(org, people, role, labels):
    response = _client(people[role]).get("/dashboard/me/")
    assert response.status_code == 200
    html = response.content.decode()
    for label in labels:
        assert label in html
    assert "Organisation dashboard" in html


def test_the_period_switch_sums_the_stored_days(org, people):
    tech = people["tech"]
    today = timezone.now().astimezone(org.tz).date()
    for back in (1, 2, 3, 8):
        _job(org, tech, _at(org, today - dt.timedelta(days=back)))
    compute_user_statistics(org, today - dt.timedelta(days=20), today - dt.timedelta(days=1))
    html = _client(tech).get("/dashboard/me/?period=7d").content.decode()
    assert 'data-metric="jobs_completed" data-value="3"' in html
    assert _client(tech).get("/dashboard/me/?period=year").status_code == 400


def test_every_owned_metric_is_personal_and_ratios_are_ratios_of_sums(org, people):
    rep = people["rep"]
    day = dt.date(2026, 3, 31)
    # 31 Mar: 100.00 + 200.00 (AOV 150.00); 30 Mar: 90.00 (AOV 90.00).
    order(org, _at(org, day, 9), 10_000, owner=rep)
    order(org, _at(org, day, 11), 20_000, owner=rep)
    order(org, _at(org, dt.date(2026, 3, 30)), 9_000, owner=rep)
    compute_user_statistics(org, dt.date(2026, 3, 1), day)
    body = _client(rep).get("/api/dashboard/me?date=2026-03-31").json()
    assert set(body["metrics"]) == set(owned_metrics())
    aov = body["metrics"]["average_order_value"]
    assert (aov["value"], aov["yesterday"], aov["last_week"]) == (15_000, 9_000, None)
    # Two days: 390.00 over 3 orders is 130.00, not the 120.00 mean of the daily averages.
    now = _at(org, dt.date(2026, 4, 1), 12)
    numbers = personal_numbers(org, rep.pk, day, "7d", ["average_order_value"], now=now)
    assert numbers["average_order_value"]["value"] == 13_000


def test_personal_layouts_pick_only_owned_metrics():
    picked = {
        settings["metric"]
        for name in set(PERSONAL_ROLE_LAYOUT.values())
        for kind, _size, settings in DEFAULT_LAYOUTS[name]
        if kind == "personal_kpi"
    }
    assert picked <= set(owned_metrics())


def _viewer(org):
    return make_user(org, "viewer", "viewer@renoz.test")


def test_admin_viewer_and_operations_see_figures_that_mean_something(org, people):
    """Nobody owns rows as an admin, viewer or operations manager: their page shows the
    organisation's figures for the period, never a row of zeros of their own."""
    tech = people["tech"]
    # Today the team completed two jobs (10 kWh + 10 kWh) and one more is scheduled this week;
    # an order of $1,234.56 came in today.
    now = timezone.now()
    _job(org, tech, now - dt.timedelta(minutes=5))
    _job(org, tech, now - dt.timedelta(minutes=4))
    planned = _job(org, tech, now - dt.timedelta(minutes=3))
    InstallationJob.objects.filter(pk=planned.pk).update(
        status="scheduled", started_at=None, completed_at=None
    )
    order(org, now - dt.timedelta(minutes=2), 123_456)
    ops = _client(people["ops"]).get("/dashboard/me/").content.decode()
    assert 'data-metric="jobs_completed" data-value="2"' in ops
    assert 'data-metric="active_installations" data-value="1"' in ops
    assert 'data-metric="kwh_deployed" data-value="20.0"' in ops
    assert "Installs this week" in ops and "2 of 3 completed" in ops
    assert 'data-metric="activities"' not in ops
    for user in (people["admin"], _viewer(org)):
        html = _client(user).get("/dashboard/me/").content.decode()
        assert 'data-metric="revenue" data-value="123456"' in html
        assert 'data-metric="kwh_deployed" data-value="20.0"' in html
        assert 'data-metric="activities"' not in html


def test_a_sales_persons_page_has_quotes_won_value(org, people):
    html = _client(people["rep"]).get("/dashboard/me/").content.decode()
    assert 'data-metric="quotes_won_value"' in html and "Quotes won value" in html


def test_a_user_edits_their_own_personal_page(org, people):
    client = _client(people["ops"])
    page = client.get("/dashboard/me/?edit=1").content.decode()
    assert 'action="/dashboard/me/layout/add/"' in page
    assert 'value="kpi:revenue"' in page and 'value="team_jobs"' in page
    # Their own numbers are offered too (under "Your own numbers"), but not by default.
    assert 'value="personal_kpi:activities"' in page
    response = client.post("/dashboard/me/layout/add/", {"widget": "kpi:revenue"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/me/?edit=1"
    widgets, own = get_personal_layout(people["ops"])
    assert own and widgets[-1]["type"] == "kpi" and widgets[-1]["settings"] == {"metric": "revenue"}
    first = widgets[0]["id"]
    client.post(f"/dashboard/me/layout/{first}/move/", {"direction": "down"})
    client.post(f"/dashboard/me/layout/{widgets[-1]['id']}/remove/")
    after, _ = get_personal_layout(people["ops"])
    assert [w["id"] for w in after] == [
        widgets[1]["id"],
        first,
        *[w["id"] for w in widgets[2:-1]],
    ]
    # The colleague's page is untouched, and a reset brings the role's default back.
    assert get_personal_layout(people["admin"])[1] is False
    client.post("/dashboard/me/layout/reset/")
    assert get_personal_layout(people["ops"]) == (personal_widgets("operations"), False)


def test_personal_page_edits_refuse_bad_input_and_viewers(org, people):
    client = _client(people["ops"])
    assert client.post("/dashboard/me/layout/add/", {"widget": "trend:revenue"}).status_code == 400
    assert client.post("/dashboard/me/layout/add/", {"widget": "nonsense"}).status_code == 400
    # Not a person's number: warranty claims belong to nobody.
    bad = client.post("/dashboard/me/layout/add/", {"widget": "personal_kpi:warranty_claims"})
    assert bad.status_code == 400
    assert client.post("/dashboard/me/layout/" + "0" * 32 + "/remove/").status_code == 404
    assert client.post("/dashboard/me/layout/x/move/", {"direction": "sideways"}).status_code == 400
    viewer = _client(_viewer(org))
    assert viewer.post("/dashboard/me/layout/add/", {"widget": "kpi:revenue"}).status_code == 403
    assert "Customise" not in viewer.get("/dashboard/me/").content.decode()
    # The sales rep may add their own quotes won value.
    rep = _client(people["rep"])
    added = rep.post("/dashboard/me/layout/add/", {"widget": "personal_kpi:quotes_won_value"})
    assert added.status_code == 302
