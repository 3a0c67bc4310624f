"""/dashboard/insights/: every finding in the dashboard's state (range, comparison, filters),
ranked, each with its chart and drill link; "Dismiss", "Not useful" and "Show again" per user
and organisation, CSRF-protected, with htmx and without JavaScript."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.test import Client

from accounts.models import Role
from insights.models import DismissedFinding
from tests.conftest import make_user
from tests.insights.builders import customers, orders_on, weekdays

SEPTEMBER = "from=2025-09-01&to=2025-09-30&compare=previous_period"


@pytest.fixture
def history(org):
    """Flat weekday orders, a spike on Wed 17 Sep 2025 and a customer with most of September's
    revenue (as tests/insights/test_api.py)."""
    cycle = itertools.cycle(customers(org, 20))
    for day in weekdays(dt.date(2025, 5, 1), dt.date(2025, 9, 30)):
        orders_on(org, day, [500_000] * (40 if day == dt.date(2025, 9, 17) else 10), cycle)
    big = customers(org, 1, prefix="Big Co")[0]
    orders_on(org, dt.date(2025, 9, 24), [100_000_000] * 2, itertools.repeat(big))
    return org


def strict_client(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(f"/dashboard/insights/?{SEPTEMBER}")
    return client, client.cookies["csrftoken"].value


def api_ids(client) -> list[str]:
    return [f["id"] for f in client.get(f"/api/dashboard/insights?{SEPTEMBER}").json()["findings"]]


@pytest.mark.django_db
def test_the_page_shows_every_finding_with_its_chart_and_drill_link(history, owner):
    client, _ = strict_client(owner)
    ids = api_ids(client)
    html = client.get(f"/dashboard/insights/?{SEPTEMBER}").content.decode()
    assert len(ids) > 3  # more than the widget's three
    assert html.count('class="insight insight-full') == len(ids)
    assert html.count('<figure class="insight-chart"><svg') == len(ids)
    assert "/dashboard/drill/revenue/?from=2025-09-01" in html
    assert 'aria-current="page">Insights</a>' in html
    assert f'href="/dashboard/?{SEPTEMBER.replace("&", "&amp;")}"' in html  # back, same state


@pytest.mark.django_db
def test_dismiss_and_not_useful_hide_for_that_user_only_and_show_again_brings_it_back(
    history, owner, colleague
):
    client, token = strict_client(owner)
    before = api_ids(client)
    response = client.post(
        f"/dashboard/insights/hide/?{SEPTEMBER}",
        {"finding": before[0], "reason": "dismissed"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert f'value="{before[0]}"' not in response.content.decode()
    assert "Show 1 hidden finding" in response.content.decode()
    client.post(
        f"/dashboard/insights/hide/?{SEPTEMBER}",
        {"finding": before[1], "reason": "not_useful"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert api_ids(client) == before[2:]
    marks = dict(DismissedFinding.objects.filter(user=owner).values_list("finding_id", "reason"))
    assert marks == {before[0]: "dismissed", before[1]: "not_useful"}
    assert api_ids(_logged_in(colleague)) == before

    hidden_page = client.get(f"/dashboard/insights/?{SEPTEMBER}&hidden=1").content.decode()
    assert hidden_page.count('class="insight insight-full') == 2
    assert "Not useful" in hidden_page and "Dismissed" in hidden_page
    response = client.post(
        f"/dashboard/insights/show/?{SEPTEMBER}&hidden=1",
        {"finding": before[0]},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 302  # no JavaScript: back to the hidden list
    assert response["Location"] == f"/dashboard/insights/?{SEPTEMBER}&hidden=1"
    assert api_ids(client) == [before[0], *before[2:]]


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_without_csrf_a_hide_is_refused_and_without_htmx_it_redirects(history, owner):
    client, token = strict_client(owner)
    finding = api_ids(client)[0]
    url = f"/dashboard/insights/hide/?{SEPTEMBER}"
    assert client.post(url, {"finding": finding}).status_code == 403
    response = client.post(url, {"finding": finding}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/insights/?{SEPTEMBER}"


@pytest.mark.django_db
def test_a_finding_id_the_user_cannot_see_is_a_404(history, owner, outsider, org):
    admin_ids = api_ids(_logged_in(owner))
    outsider_client, token = strict_client(outsider)
    # Another organisation's finding (an order of ours as an outlier, our customer's share).
    for finding in (admin_ids[0], "outlier_record:revenue:o1", "nonsense"):
        response = outsider_client.post(
            f"/dashboard/insights/hide/?{SEPTEMBER}", {"finding": finding}, HTTP_X_CSRFTOKEN=token
        )
        assert response.status_code == 404, finding
    assert not DismissedFinding.objects.filter(user=outsider).exists()
    # A technician cannot hide the organisation's revenue findings: they are not theirs.
    technician = make_user(org, Role.TECHNICIAN)
    tech_client, tech_token = strict_client(technician)
    revenue = next(f for f in admin_ids if ":revenue:" in f)
    response = tech_client.post(
        f"/dashboard/insights/hide/?{SEPTEMBER}", {"finding": revenue}, HTTP_X_CSRFTOKEN=tech_token
    )
    assert response.status_code == 404
    # And a bad reason or period is a 400.
    client, admin_token = strict_client(owner)
    assert (
        client.post(
            f"/dashboard/insights/hide/?{SEPTEMBER}",
            {"finding": admin_ids[0], "reason": "meh"},
            HTTP_X_CSRFTOKEN=admin_token,
        ).status_code
        == 400
    )
    assert client.get("/dashboard/insights/?range=bogus").status_code == 400
