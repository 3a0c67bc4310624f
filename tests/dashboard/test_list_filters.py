"""The activity feed and "My jobs" follow the dashboard filters they can (customer state and
kind, the owner for the feed) and say visibly which they cannot (product category), never
ignoring a filter silently (docs/architecture.md, "Sources and metrics")."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from dashboard.layouts import get_layout
from operations.models import Activity, Customer, InstallationJob, Order
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def subjects(content: str) -> list[str]:
    return re.findall(r'feed-subject">([^<]+)<', content)


@pytest.fixture
def customers(org):
    return {
        state: Customer.objects.create(
            organization=org, name=f"{state} Co", kind="commercial", state=state
        )
        for state in ("QLD", "NSW")
    }


def activity(org, user, customer, minutes_ago, subject):
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return Activity.objects.create(
        organization=org,
        user=user,
        customer=customer,
        kind="call",
        subject=subject,
        occurred_at=at,
        created_at=at,
    )


def test_the_feed_shows_only_the_chosen_state_and_its_links_keep_it(client, owner, customers):
    org = owner.organization
    activity(org, owner, customers["QLD"], 5, "Queensland call")
    activity(org, owner, customers["NSW"], 4, "Sydney call")
    activity(org, owner, None, 3, "No customer")
    for n in range(16):  # a second page of Queensland rows
        activity(org, owner, customers["QLD"], 10 + n, f"QLD {n}")
    client.force_login(owner)
    layout, _own = get_layout(owner)
    feed = next(w for w in layout if w["type"] == "activity_feed")
    page = client.get(f"/dashboard/widgets/{feed['id']}/", {"state": "QLD"}, **HX)
    content = page.content.decode()
    assert subjects(content)[:2] == ["Queensland call", "QLD 0"]
    assert "Sydney call" not in content and "No customer" not in content
    assert "not filtered by" not in content
    more = html.unescape(re.search(r'hx-get="([^"]*before=[^"]*)"', content).group(1))
    assert "state=QLD" in more
    second = client.get(more, **HX).content.decode()
    assert "Sydney call" not in second
    assert subjects(second) == [f"QLD {n}" for n in range(14, 16)]
    # Unfiltered, every row is there.
    everything = client.get(reverse("dashboard-activity"), **HX).content.decode()
    assert {"Sydney call", "No customer", "Queensland call"} <= set(subjects(everything))


def test_the_feed_says_it_cannot_be_filtered_by_category(client, owner, customers):
    activity(owner.organization, owner, customers["NSW"], 5, "Sydney call")
    client.force_login(owner)
    layout, _own = get_layout(owner)
    feed = next(w for w in layout if w["type"] == "activity_feed")
    content = client.get(f"/dashboard/widgets/{feed['id']}/", {"category": "battery"}, **HX)
    text = content.content.decode()
    assert "Latest activity: not filtered by product category." in text
    assert subjects(text) == ["Sydney call"]


def test_a_bad_filter_on_the_feed_is_a_400(client, owner):
    client.force_login(owner)
    response = client.get(reverse("dashboard-activity"), {"state": "Queensland"}, **HX)
    assert response.status_code == 400
    assert "Unknown state" in response.content.decode()


def test_my_jobs_follow_the_state_and_say_what_they_cannot(client, org, customers):
    technician = make_user(org, Role.TECHNICIAN, "tech@renoz.test")
    order = Order.objects.create(
        organization=org,
        customer=customers["QLD"],
        number="SO-1",
        status="confirmed",
        ordered_at=timezone.now(),
        total_cents=1,
    )
    for state in ("QLD", "NSW"):
        InstallationJob.objects.create(
            organization=org,
            order=order,
            customer=customers[state],
            technician=technician,
            status="scheduled",
            scheduled_for=timezone.now() + dt.timedelta(days=1),
            kwh=Decimal("10"),
        )
    client.force_login(technician)
    layout, _own = get_layout(technician)
    jobs = next(w for w in layout if w["type"] == "my_jobs")
    text = client.get(f"/dashboard/widgets/{jobs['id']}/", {"state": "QLD"}, **HX).content
    names = re.findall(r'job-customer">([^<]+)<', text.decode())
    assert names == ["QLD Co"]
    assert "not filtered by" not in text.decode()
    text = client.get(
        f"/dashboard/widgets/{jobs['id']}/", {"state": "NSW", "category": "battery"}, **HX
    ).content.decode()
    assert re.findall(r'job-customer">([^<]+)<', text) == ["NSW Co"]
    assert "My jobs: not filtered by product category." in text
