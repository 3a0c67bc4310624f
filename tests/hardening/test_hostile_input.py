"""Finding 3: hostile input gets a 4xx with a message, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from targets.models import Target


@pytest.fixture
def admin_client(client, owner):
    client.force_login(owner)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("start", ["9999-12-01", "0001-01-01", "1899-01-01", "2201-01-01"])
def test_target_dated_out_of_range_is_refused_not_saved(admin_client, org, start):
    response = admin_client.post(
        "/dashboard/targets/new/",
        {"metric": "revenue", "period_kind": "month", "period_start": start, "amount": "1000"},
    )
    assert response.status_code == 400 or (
        response.status_code == 200 and b"between" in response.content
    )
    assert not Target.objects.filter(organization=org).exists()
    assert admin_client.get("/dashboard/targets/").status_code == 200


@pytest.mark.django_db
def test_database_refuses_an_extreme_target(org):
    """The check constraint keeps a row that would take the page down out of the table."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Target.objects.create(
            organization=org,
            metric="revenue",
            period_kind="month",
            period_start=dt.date(9999, 12, 1),
            value=1000,
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fy", ["9999-12-31", "0001-01-01", "10000-01-01", "2026-02-30", "\x00", "²"]
)
def test_targets_fy_param_out_of_range(admin_client, fy):
    response = admin_client.get("/dashboard/targets/", {"fy": fy})
    assert response.status_code == (400 if "\x00" in fy else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["http://[::1", "http://[", "::::", "\x00", "http://a:99999/"])
def test_htmx_with_a_broken_current_url_header(admin_client, header):
    response = admin_client.get(
        "/dashboard/drill/revenue/?range=this_month",
        headers={"HX-Request": "true", "HX-Current-URL": header},
    )
    assert response.status_code == 200
