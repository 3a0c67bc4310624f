"""GET /api/dashboard/insights and the insights widget: same numbers as the metrics API,
same period errors, the user's organisation and scope, and "not useful" per user."""

from __future__ import annotations

import datetime as dt
import itertools
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import Role
from dashboard.layouts import default_widgets
from insights.models import DismissedFinding
from metrics.definitions import METRICS
from tests.conftest import make_user
from tests.insights.builders import customers, orders_on, weekdays

SEPTEMBER = "from=2025-09-01&to=2025-09-30&compare=previous_period"


@pytest.fixture
def history(org):
    """Five months of flat weekday orders, a spike on Wed 17 Sep 2025, and a customer with
    60 % of September's revenue beyond that."""
    cycle = itertools.cycle(customers(org, 20))
    for day in weekdays(dt.date(2025, 5, 1), dt.date(2025, 9, 30)):
        orders_on(org, day, [500_000] * (40 if day == dt.date(2025, 9, 17) else 10), cycle)
    big = customers(org, 1, prefix="Big Co")[0]
    orders_on(org, dt.date(2025, 9, 24), [100_000_000] * 2, itertools.repeat(big))
    return org


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def insights_widget(user):
    return next(w for w in default_widgets("executive") if w["type"] == "insights")


@pytest.mark.django_db
def test_every_value_and_previous_equals_the_metrics_api(history, owner):
    client = client_for(owner)
    payload = client.get(f"/api/dashboard/insights?{SEPTEMBER}").json()

    kinds = {f["kind"] for f in payload["findings"]}
    assert {"unusual", "concentration", "change", "outlier_record"} <= kinds
    for finding in payload["findings"]:
        query = urlencode({**finding["period"], "metrics": finding["metric"]})
        entry = client.get(f"/api/dashboard/metrics?{query}").json()["metrics"][finding["metric"]]
        assert (finding["value"], finding["previous"]) == (entry["value"], entry["previous"]), (
            finding["id"]
        )
    assert set(payload["findings"][0]) >= {
        "id",
        "kind",
        "metric",
        "title",
        "value",
        "previous",
        "change_pct",
        "severity",
        "drill_url",
    }
    assert payload["narrative"]["source"] == "computed"
    assert payload["narrative"]["finding_ids"] == [f["id"] for f in payload["findings"][:3]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["range=bogus", "from=2025-09-30&to=2025-09-01", "compare=sideways", "from=2025-09-01"]
)
def test_bad_periods_get_the_metrics_api_errors(owner, query):
    client = client_for(owner)
    response = client.get(f"/api/dashboard/insights?{query}")
    assert response.status_code == 400
    assert response.json() == client.get(f"/api/dashboard/metrics?{query}").json()


@pytest.mark.django_db
def test_anonymous_callers_get_401():
    assert Client().get("/api/dashboard/insights").status_code == 401


@pytest.mark.django_db
def test_findings_stay_in_the_users_organisation(history, outsider):
    payload = client_for(outsider).get(f"/api/dashboard/insights?{SEPTEMBER}").json()
    assert payload["findings"] == []
    assert payload["narrative"]["text"].startswith("Nothing notable")


@pytest.mark.django_db
def test_a_technician_gets_findings_on_their_own_work_only(history, org):
    technician = make_user(org, Role.TECHNICIAN)
    payload = client_for(technician).get(f"/api/dashboard/insights?{SEPTEMBER}").json()
    assert all(METRICS[f["metric"]].source in ("jobs", "activities") for f in payload["findings"])
    assert not any(f["metric"] == "revenue" for f in payload["findings"])


@pytest.mark.django_db
def test_the_widget_shows_the_narrative_and_top_three_findings(history, owner):
    widget = insights_widget(owner)
    response = client_for(owner).get(
        f"/dashboard/widgets/{widget['id']}/?{SEPTEMBER}", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Computed from the data" in html
    assert html.count('class="insight tone-') == 3
    assert '<svg class="spark"' in html
    assert "/dashboard/drill/revenue/?from=2025-09-01" in html
    assert "<script" not in html and "onclick" not in html


@pytest.mark.django_db
def test_not_useful_hides_a_finding_for_that_user_only(history, owner, colleague):
    widget = insights_widget(owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    before = client.get(f"/api/dashboard/insights?{SEPTEMBER}").json()["findings"]
    first = before[0]["id"]
    client.get(f"/dashboard/?{SEPTEMBER}")
    token = client.cookies["csrftoken"].value

    response = client.post(
        f"/dashboard/widgets/{widget['id']}/dismiss/?{SEPTEMBER}",
        {"finding": first},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200
    assert first not in response.content.decode()  # the widget re-rendered without it
    after = client.get(f"/api/dashboard/insights?{SEPTEMBER}").json()["findings"]
    assert [f["id"] for f in after] == [f["id"] for f in before[1:]]
    others = client_for(colleague).get(f"/api/dashboard/insights?{SEPTEMBER}").json()
    assert [f["id"] for f in others["findings"]] == [f["id"] for f in before]
    assert DismissedFinding.objects.filter(user=owner, finding_id=first).exists()


@pytest.mark.django_db
def test_not_useful_without_htmx_redirects_and_without_csrf_is_refused(history, owner):
    widget = insights_widget(owner)
    url = f"/dashboard/widgets/{widget['id']}/dismiss/?{SEPTEMBER}"
    ids = [
        f["id"]
        for f in client_for(owner).get(f"/api/dashboard/insights?{SEPTEMBER}").json()["findings"]
    ]
    response = client_for(owner).post(url, {"finding": ids[0]})
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/?{SEPTEMBER}"
    # A finding id that is not among the user's findings (another organisation's) is a 404.
    assert client_for(owner).post(url, {"finding": "change:revenue:x"}).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(url, {"finding": ids[1]}).status_code == 403
    assert (
        client_for(owner)
        .post("/dashboard/widgets/" + "0" * 32 + "/dismiss/", {"finding": "x"})
        .status_code
        == 404
    )
