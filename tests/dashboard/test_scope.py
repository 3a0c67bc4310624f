"""Scope that agrees: a technician's numbers are their own and equal the records behind them;
they cannot add widgets whose records they may not open; charts show their comparison."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import Role
from dashboard import layouts
from metrics.periods import parse_state
from operations.models import InstallationJob, Product, WarrantyClaim
from presentation.widgets import CATALOGUE, build_widget, catalogue_choices
from tests.conftest import make_user
from tests.targets.helpers import customer, local, order

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
NOW = local(2026, 11, 20, 12)


def _job(org, tech, *, created, completed=None, kwh="10.00", hours="4.00"):
    buyer = customer(org)
    sale = order(org, created - dt.timedelta(days=2), 1_000, buyer=buyer)
    return InstallationJob.objects.create(
        organization=org,
        order=sale,
        customer=buyer,
        technician=tech,
        status="completed" if completed else "scheduled",
        scheduled_for=created + dt.timedelta(days=1),
        created_at=created,
        started_at=completed,
        completed_at=completed,
        kwh=kwh,
        labor_hours=hours,
    )


@pytest.fixture
def crew(org, time_machine):
    time_machine.move_to(NOW, tick=False)
    tia = make_user(org, Role.TECHNICIAN, "tia@renoz.test")
    tom = make_user(org, Role.TECHNICIAN, "tom@renoz.test")
    # Tia: 2 active, 1 completed 12.5 kWh in November. Tom: 3 active, 1 completed 20 kWh.
    for _ in range(2):
        _job(org, tia, created=local(2026, 11, 2, 9))
    _job(org, tia, created=local(2026, 11, 1, 9), completed=local(2026, 11, 5, 15), kwh="12.50")
    for _ in range(3):
        _job(org, tom, created=local(2026, 11, 3, 9))
    _job(org, tom, created=local(2026, 11, 1, 9), completed=local(2026, 11, 6, 15), kwh="20.00")
    return tia, tom


def _kpi(org, user, metric):
    state = parse_state({"range": "this_month", "compare": "none"}, org)
    widget = {"id": "k" * 32, "type": "kpi", "size": "s", "settings": {"metric": metric}}
    return build_widget(widget, org, user, state)


def test_a_technicians_cards_are_their_own_and_equal_the_drill_behind_them(
    client, org, owner, crew
):
    tia, _tom = crew
    # Worked by hand: Tia has 2 active jobs and 12.50 kWh; the organisation 5 and 32.50 kWh.
    active, kwh = _kpi(org, tia, "active_installations"), _kpi(org, tia, "kwh_deployed")
    assert (active["raw"], kwh["raw"]) == (2, 12.5)
    assert active["yours"] and "Yours" in active["aria_label"]
    org_active = _kpi(org, owner, "active_installations")
    assert (org_active["raw"], org_active["yours"]) == (5, False)
    assert _kpi(org, owner, "kwh_deployed")["raw"] == 32.5

    client.force_login(tia)
    drill = client.get(active["drill"])
    assert drill.status_code == 200
    assert drill.context["summary"].count == drill.context["summary"].value == 2
    listed = set(drill.context["page_obj"].object_list.values_list("technician_id", flat=True))
    assert listed == {tia.pk}


def test_a_technicians_dashboard_renders_their_numbers(client, org, crew):
    tia, _tom = crew
    client.force_login(tia)
    query = "?range=this_month&compare=none"
    response = client.get(reverse("dashboard-home") + query)
    content = response.content.decode()
    assert response.status_code == 200
    assert "/admin/" not in content
    # Worked by hand: Tia's 2 active jobs and 12.50 kWh, on the page and on its refresh.
    refreshed = client.get(reverse("dashboard-kpis") + query, **HX).content.decode()
    for shown in (content, refreshed):
        assert 'data-metric="active_installations" data-value="2"' in shown
        assert 'data-metric="kwh_deployed" data-value="12.5' in shown
        assert shown.count('class="badge badge-yours"') == 2


def test_a_technician_can_only_add_widgets_whose_records_they_may_open(client, org, crew):
    tia, _tom = crew
    offered = {value for _group, items in catalogue_choices(tia) for value, _label in items}
    assert {"kpi:kwh_deployed", "kpi:active_installations", "installations", "my_jobs"} <= offered
    assert not offered & {"kpi:revenue", "pipeline_by_stage", "warranty_claims", "trend:revenue"}

    client.force_login(tia)
    for choice in ("pipeline_by_stage", "kpi:revenue", "warranty_claims"):
        response = client.post(reverse("dashboard-layout-add"), {"widget": choice}, **HX)
        assert response.status_code == 400, choice
    with pytest.raises(layouts.LayoutError):
        layouts.do_add_widget(tia, "kpi", {"metric": "pipeline_value"})
    layout, new = layouts.do_add_widget(tia, "kpi", {"metric": "labor_hours"})
    assert new in layout


def test_installations_and_warranty_charts_show_the_comparison(org, owner, crew):
    buyer = customer(org)
    product_sale = order(org, local(2026, 10, 1, 9), 5_000, buyer=buyer)

    product = Product.objects.create(
        organization=org, sku="B-1", name="Battery", category="battery", unit_price_cents=1
    )
    for opened in (local(2026, 10, 3, 9), local(2026, 10, 4, 9), local(2026, 11, 4, 9)):
        WarrantyClaim.objects.create(
            organization=org,
            customer=buyer,
            order=product_sale,
            product=product,
            kind="defect",
            opened_at=opened,
        )
    state = parse_state({"range": "this_month", "compare": "previous_period"}, org)

    installations = build_widget(
        {"id": "i" * 32, "type": "installations", "size": "m", "settings": {}}, org, owner, state
    )
    names = [trace["name"] for trace in installations["figure"]["data"]]
    assert "Jobs, previous period" in names and "kWh, previous period" in names
    assert "Jobs, previous period" in installations["table"]["columns"]

    warranty = build_widget(
        {"id": "w" * 32, "type": "warranty_claims", "size": "m", "settings": {}}, org, owner, state
    )
    compared = next(t for t in warranty["figure"]["data"] if t["name"] == "Total, previous period")
    # Worked by hand: 2 defect claims in October (the previous period), none of other kinds.
    by_kind = dict(zip(compared["x"], compared["y"], strict=True))
    assert by_kind["Defect"] == 2 and sum(by_kind.values()) == 2
    defect_row = next(r for r in warranty["table"]["rows"] if r["label"] == "Defect")
    assert defect_row["cells"][-2:] == ["1", "2"]  # total this month, total previous period


def test_every_widget_type_declares_its_sources():
    for spec in CATALOGUE.values():
        if not spec.per_user:
            assert spec.cache_parts({"metric": "revenue"} if spec.metric_setting else {})
