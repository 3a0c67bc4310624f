"""The activity feed's rows read as values (presentation.widgets.lists.feed_page, issue 25):
the same words as the models' own, with and without a user, a customer and a subject."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from operations.models import Activity, Customer
from presentation.widgets.lists import decode_cursor, feed_page
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_feed_rows_word_what_the_models_word(org):
    user = make_user(org, Role.ADMIN)  # full name "Admin"
    nameless = make_user(org, Role.SALES, email="nameless@renoz.test")
    nameless.full_name = ""
    nameless.save()
    customer = Customer.objects.create(
        organization=org, name="Acme Solar", kind="commercial", state="NSW"
    )
    now = timezone.now()
    rows = [
        (user, customer, "call", "Quarterly review", 10),
        (nameless, None, "site_visit", "", 20),
        (None, customer, "note", "", 30),
    ]
    made = [
        Activity.objects.create(
            organization=org,
            user=who,
            customer=where,
            kind=kind,
            subject=subject,
            occurred_at=now - dt.timedelta(minutes=ago),
        )
        for who, where, kind, subject, ago in rows
    ]
    page = feed_page(org, user, now=now)
    items = [
        (i["kind"], i["kind_label"], i["subject"], i["customer"], i["who"]) for i in page["items"]
    ]
    assert items == [
        ("call", "Call", "Quarterly review", "Acme Solar", "Admin"),
        ("site_visit", "Site visit", "Site visit", "", "nameless@renoz.test"),
        ("note", "Note", "Note", "Acme Solar", ""),
    ]
    assert [i["iso"] for i in page["items"]] == [a.occurred_at.isoformat() for a in made]
    assert decode_cursor(page["newest"]) == (made[0].occurred_at, made[0].pk)
    assert page["next"] is None
