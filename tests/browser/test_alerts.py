"""Alerts in the browser: an admin starts a rule from the bell on a KPI card, previews it over
90 days and saves it; the list, a rule's history and the alert e-mail as admin and as sales, at
desktop (1280) and phone (390×844) widths, with axe finding nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from alerts import delivery, evaluate
from alerts.models import AlertRule
from targets.models import Target
from tests.alerts.conftest import NOW, make_rule, order
from tests.browser.conftest import login, run_axe, screenshot
from tests.conftest import make_user
from tests.reports.smtp import SMTPServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shots(page, name: str) -> None:
    """Desktop and phone screenshots of the page, each checked by axe."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        assert run_axe(page) == [], f"{name} at {label}"
        screenshot(page, f"alerts-{name}-{label}")
    page.set_viewport_size(DESKTOP)


def test_an_admin_starts_an_alert_from_the_bell_and_previews_it(page, live_server, owner):
    login(page, live_server, owner)
    page.goto("/dashboard/?range=last_30_days")
    bell = page.get_by_role("link", name="Alert me about Revenue")
    expect(bell).to_be_visible()
    bell.click()
    expect(page.get_by_role("heading", name="New alert")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Revenue alert")
    expect(page.get_by_label("Range")).to_have_value("last_30_days")
    page.get_by_label("Threshold").fill("1000")
    page.get_by_role("button", name="Preview").click()
    # No orders at all: revenue reads $0 from the first day, so it fires once and stays.
    expect(page.locator("#al-preview")).to_contain_text("It would have fired on 1 day:")
    shots(page, "form-admin")
    page.get_by_role("button", name="Save alert").click()
    expect(page.get_by_role("heading", name="Revenue alert")).to_be_visible()
    rule = AlertRule.objects.get(name="Revenue alert")
    assert (rule.threshold, rule.range_preset) == (100_000, "last_30_days")


def _history(org, owner, recipients):
    rule = make_rule(org, owner, name="Revenue dropped", recipients=recipients)
    order(org, dt.date(2026, 8, 4), 50_000)
    with SMTPServer() as smtp:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(settings, "EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
            mp.setattr(settings, "EMAIL_HOST", "127.0.0.1")
            mp.setattr(settings, "EMAIL_PORT", smtp.port)
            evaluate.evaluate(NOW)
            delivery.deliver(NOW)
            order(org, dt.date(2026, 8, 4), 80_000)
            evaluate.evaluate(NOW + dt.timedelta(minutes=5))
            delivery.deliver(NOW + dt.timedelta(minutes=5))
        return rule, list(smtp.messages)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SALES])
def test_the_list_history_and_email_as_each_role(page, live_server, org, role):
    user = make_user(org, role, email=f"{role}@renoz-alerts.test")
    rule, messages = _history(org, user, [user.email])
    login(page, live_server, user)
    page.goto("/dashboard/alerts/")
    row = page.get_by_role("row", name="Revenue dropped")
    expect(row).to_contain_text("OK")
    expect(row).to_contain_text("$1,300.00 AUD")
    shots(page, f"list-{role}")
    page.get_by_role("link", name="Revenue dropped").click()
    history = page.locator(".al-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Resolved")
    expect(history.last).to_contain_text("Fired")
    shots(page, f"history-{role}")
    assert [m["Subject"][:10] for m in messages] == ["[Firing] R", "[Resolved]"]
    page.set_content(messages[0].get_body(("html",)).get_content())
    shots(page, f"email-{role}")


def test_the_bell_leaves_a_cards_target_sentence_readable(page, live_server, org, owner):
    today = timezone.localdate()
    Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=today.replace(day=1),
        value=250_000_000,
    )
    login(page, live_server, owner)
    page.goto("/dashboard/?range=this_month")
    card = page.locator(".widget-body:has(.kpi-bell)").first
    expect(card.locator(".target-text")).to_be_visible()
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        # The card's last line keeps clear of the bell in the corner: beside it on a desktop,
        # above it on a phone (where the star and the bell have their own strip).
        right, bottom = card.locator(".kpi > :last-child").evaluate(
            "el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);"
            " return [r.right - parseFloat(s.paddingRight), r.bottom - parseFloat(s.paddingBottom)]; }"
        )
        bell = card.locator(".kpi-bell").bounding_box()
        assert right <= bell["x"] + 1 or bottom <= bell["y"] + 1, (label, right, bottom, bell)
        if label == "phone":  # the sentence keeps the card's width
            assert right > bell["x"] + 1
        card.screenshot(path=str(screenshot(page, "x").with_name(f"alerts-kpi-bell-{label}.png")))
