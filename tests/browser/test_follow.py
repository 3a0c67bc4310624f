"""Following in the browser: a viewer follows Revenue with one click on its card (htmx, the
star shows its state, the label says what the next click does), finds it in Settings and
unfollows it there; a technician follows from their personal page on a phone; axe finds nothing
on the settings page and the digest preview at desktop (1280) and phone (390) widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from alerts.models import Follow
from tests.browser.conftest import login, run_axe, screenshot
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_a_viewer_follows_from_the_card_and_unfollows_in_settings(page, live_server, org):
    viewer = make_user(org, Role.VIEWER)
    login(page, live_server, viewer)
    page.goto("/dashboard/?range=last_30_days&state=NSW")
    page.get_by_role("button", name="Follow Revenue").click()
    expect(page.get_by_role("button", name="Unfollow Revenue")).to_be_visible()
    assert [(f.metric, f.filters) for f in Follow.objects.filter(user=viewer)] == [
        ("revenue", {"state": "NSW"})
    ]
    screenshot(page, "follow-dashboard-viewer-desktop")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Following")).to_be_visible()
    expect(page.get_by_text("Customer state: NSW")).to_be_visible()
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        assert run_axe(page) == [], f"settings at {label}"
        screenshot(page, f"follow-settings-viewer-{label}")
    page.get_by_role("link", name="Preview your next digest").click()
    expect(page.get_by_role("heading", name="Your next digest")).to_be_visible()
    assert run_axe(page) == [], "digest preview"
    page.go_back()
    page.get_by_role("button", name="Unfollow Revenue (Customer state: NSW)").click()
    expect(page.get_by_text("You no longer follow Revenue.")).to_be_visible()
    assert not Follow.objects.filter(user=viewer).exists()


def test_a_technician_follows_their_own_kwh_on_a_phone(phone_page, live_server, org):
    tech = make_user(org, Role.TECHNICIAN)
    login(phone_page, live_server, tech)
    phone_page.goto("/dashboard/me/")
    phone_page.get_by_role("button", name="Follow kWh deployed").click()
    expect(phone_page.get_by_role("button", name="Unfollow kWh deployed")).to_be_visible()
    assert list(Follow.objects.filter(user=tech).values_list("metric", flat=True)) == [
        "kwh_deployed"
    ]
    assert run_axe(phone_page) == []
    screenshot(phone_page, "follow-me-technician-phone")
