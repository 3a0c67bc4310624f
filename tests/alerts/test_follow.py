"""Following a metric from its card, the settings page and `/api/follows` (docs/digests.md):
one click follows with the card's filters and the same click unfollows, with htmx or as a plain
form; every follow is the user's own; bad input is a 400, another user's follow a 404."""

from __future__ import annotations

import html
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import Role
from alerts.actions import do_follow_metric
from alerts.digest import apply_role_defaults
from alerts.models import Digest, DigestSettings, Follow
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def follows(user) -> list[tuple[str, dict]]:
    return [(f.metric, f.filters) for f in Follow.objects.filter(user=user).order_by("pk")]


def test_one_click_follows_with_the_cards_filters_and_the_same_click_unfollows(client, owner):
    client.force_login(owner)
    card = {"metric": "revenue", "state": "NSW", "category": "", "next": "/dashboard/?state=NSW"}
    response = client.post("/dashboard/follow/", card)
    assert response.status_code == 302 and response["Location"] == "/dashboard/?state=NSW"
    assert follows(owner) == [("revenue", {"state": "NSW"})]
    # The dashboard marks the card, and the control says what the next click does.
    page = client.get("/dashboard/?range=this_month&state=NSW").content.decode()
    assert 'aria-label="Unfollow Revenue"' in page
    assert 'aria-label="Follow Average order value"' in page
    client.post("/dashboard/follow/", card)
    assert follows(owner) == []


def test_the_htmx_click_answers_the_control_in_its_new_state(client, owner):
    client.force_login(owner)
    response = client.post(
        "/dashboard/follow/",
        {"metric": "kwh_sold", "next": "/dashboard/me/"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger"] == "followChanged"
    assert 'aria-label="Unfollow kWh sold"' in body and "is-following" in body
    assert 'name="next" value="/dashboard/me/"' in body
    response = client.post(
        "/dashboard/follow/", {"metric": "kwh_sold"}, headers={"HX-Request": "true"}
    )
    assert 'aria-label="Follow kWh sold"' in response.content.decode()
    assert follows(owner) == []


def test_a_viewer_follows_too_and_an_open_redirect_goes_home(client, org):
    viewer = make_user(org, Role.VIEWER)
    client.force_login(viewer)
    response = client.post("/dashboard/follow/", {"metric": "orders", "next": "https://evil.test/"})
    assert response["Location"] == "/dashboard/"
    assert follows(viewer) == [("orders", {})]
    # A "next" that is no path (a view's name, a scheme-relative address) goes home too, and an
    # unknown metric is a message, not a 500.
    for bad in ("²", "alerts-settings", "//evil.test/x", "javascript:alert(1)"):
        response = client.post("/dashboard/follow/", {"metric": "²", "next": bad})
        assert response.status_code == 302 and response["Location"] == "/dashboard/"


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ({"metric": "nope"}, "Unknown metric 'nope'"),
        ({"metric": "revenue", "state": "<script>"}, "Unknown state '<script>'"),
        ({"metric": "revenue", "owner": "999999"}, "Unknown owner '999999'"),
    ],
)
def test_bad_cards_are_refused(client, owner, card, message):
    client.force_login(owner)
    response = client.post("/dashboard/follow/", card, headers={"HX-Request": "true"})
    assert response.status_code == 400 and message in html.unescape(response.content.decode())
    assert not Follow.objects.exists()


def test_the_personal_page_cards_have_the_control(client, org):
    tech = make_user(org, Role.TECHNICIAN)
    client.force_login(tech)
    page = client.get("/dashboard/me/").content.decode()
    assert 'aria-label="Follow Jobs completed"' in page


def test_the_settings_page_lists_follows_and_saves_the_digest(client, org, owner, colleague):
    do_follow_metric(owner, "revenue", {"state": "QLD"})
    mine = do_follow_metric(owner, "orders", {})[0]
    theirs = do_follow_metric(colleague, "orders", {})[0]
    client.force_login(owner)
    page = client.get("/dashboard/settings/").content.decode()
    assert "Customer state: QLD" in page and 'aria-label="Unfollow Orders"' in page
    response = client.post(
        "/dashboard/settings/",
        {"cadence": "weekly", "send_time": "08:30", "weekday": "4", "timezone": "Australia/Perth"},
    )
    assert response.status_code == 302
    row = DigestSettings.objects.get(user=owner)
    assert (row.cadence, str(row.send_time), row.weekday, row.timezone) == (
        "weekly",
        "08:30:00",
        4,
        "Australia/Perth",
    )
    bad = client.post(
        "/dashboard/settings/",
        {"cadence": "hourly", "send_time": "25:00", "weekday": "9", "timezone": "Mars/Base"},
    )
    assert bad.status_code == 200 and "Please fix the 4 problems" in bad.content.decode()
    assert client.post(f"/dashboard/settings/follows/{theirs.pk}/unfollow/").status_code == 404
    client.post(f"/dashboard/settings/follows/{mine.pk}/unfollow/")
    assert follows(owner) == [("revenue", {"state": "QLD"})]
    assert follows(colleague) == [("orders", {})]


def test_the_api_lists_adds_and_removes_the_users_own_follows(client, owner, outsider):
    theirs = do_follow_metric(outsider, "revenue", {})[0]
    client.force_login(owner)
    post = client.post(
        "/api/follows",
        json.dumps({"metric": "revenue", "filters": {"state": "VIC"}}),
        content_type="application/json",
    )
    assert post.status_code == 201
    assert post.json()["metric"] == "revenue" and post.json()["filters"] == {"state": "VIC"}
    again = client.post(
        "/api/follows",
        json.dumps({"metric": "revenue", "filters": {"state": "VIC"}}),
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["id"] == post.json()["id"]
    listed = client.get("/api/follows").json()["follows"]
    assert [(f["metric"], f["filters"]) for f in listed] == [("revenue", {"state": "VIC"})]
    assert client.delete(f"/api/follows/{theirs.pk}").status_code == 404
    assert client.delete(f"/api/follows/{post.json()['id']}").status_code == 204
    assert client.get("/api/follows").json() == {"follows": []}
    assert Follow.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "The body must be JSON"),
        ("[1]", "The body must be a JSON object"),
        ('{"metric": "revenue", "filters": [1]}', "'filters' must be an object"),
        ('{"metric": "revenue", "filters": {"planet": "Mars"}}', "Unknown filter 'planet'"),
        ('{"metric": 5}', "Unknown metric '5'"),
        ('{"metric": "revenue", "filters": {"category": "' + "x" * 500 + '"}}', "Unknown category"),
    ],
)
def test_the_api_refuses_bad_input_with_a_400(client, owner, body, message):
    client.force_login(owner)
    response = client.post("/api/follows", body, content_type="application/json")
    assert response.status_code == 400 and message in response.json()["error"]


def test_a_technician_cannot_follow_another_persons_numbers(client, org):
    """A technician sees their own work only: following a card filtered to a colleague is
    refused (400 on the API, a message on the card), as asking for their figures is."""
    tech = make_user(org, Role.TECHNICIAN, "kai@renoz.test")
    other = make_user(org, Role.TECHNICIAN, "sam@renoz.test")
    client.force_login(tech)
    body = {"metric": "kwh_deployed", "filters": {"owner": str(other.pk)}}
    response = client.post("/api/follows", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "You see your own figures only, not another person's"
    card = {"metric": "kwh_deployed", "owner": str(other.pk), "next": "/dashboard/me/"}
    response = client.post("/dashboard/follow/", card, follow=True)
    assert "You see your own figures only" in response.content.decode()
    assert follows(tech) == []
    # Their own owner filter, and no owner filter, are theirs to follow.
    own = {"metric": "kwh_deployed", "filters": {"owner": str(tech.pk)}}
    assert (
        client.post("/api/follows", json.dumps(own), content_type="application/json").status_code
        == 201
    )
    assert follows(tech) == [("kwh_deployed", {"owner": str(tech.pk)})]


def test_the_api_wants_a_login(client):
    assert client.get("/api/follows").status_code == 401


def test_role_defaults_are_given_once_to_users_who_follow_nothing(org, owner):
    tech = make_user(org, Role.TECHNICIAN)
    viewer = make_user(org, Role.VIEWER)
    chooser = make_user(org, Role.OPERATIONS)
    do_follow_metric(chooser, "warranty_claims", {})
    assert apply_role_defaults() == 4
    executive = [
        "revenue",
        "kwh_deployed",
        "quote_win_rate",
        "pipeline_value",
        "active_installations",
        "open_warranty_claims",
        "new_customers",
        "average_order_value",
        "kwh_sold",
    ]
    assert [m for m, _ in follows(owner)] == executive
    assert [m for m, _ in follows(viewer)] == executive
    assert follows(tech) == [("jobs_completed", {}), ("kwh_deployed", {})]
    assert follows(chooser) == [("warranty_claims", {})]
    # Unfollowing everything is a choice: the defaults do not come back.
    Follow.objects.filter(user=owner).delete()
    assert apply_role_defaults() == 0
    assert follows(owner) == []


def test_the_demo_fills_role_defaults_from_the_command(org, owner):
    tech = make_user(org, Role.TECHNICIAN)
    out = io.StringIO()
    call_command("send_digests", "--defaults-only", stdout=out)
    assert "considered for 2 users" in out.getvalue()
    assert follows(tech) == [("jobs_completed", {}), ("kwh_deployed", {})]
    assert len(follows(owner)) == 9
    assert not Digest.objects.exists()  # nothing settled, nothing mailed


def test_a_cached_card_never_carries_another_users_follow_or_token(client, org, owner):
    """Card bodies are rendered fragments shared by everyone who reads the same number; the
    follow control is each user's own, drawn beside the body."""
    do_follow_metric(owner, "revenue", {})
    client.force_login(owner)
    first = client.get("/dashboard/").content.decode()
    assert 'aria-label="Unfollow Revenue"' in first
    other = make_user(org, Role.ADMIN, "cfo@renoz.test")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(other)
    second = strict.get("/dashboard/").content.decode()  # the card bodies come from the cache
    assert 'aria-label="Follow Revenue"' in second
    assert 'aria-label="Unfollow Revenue"' not in second
    token = second.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = strict.post(
        "/dashboard/follow/", {"metric": "revenue", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert follows(other) == [("revenue", {})]
