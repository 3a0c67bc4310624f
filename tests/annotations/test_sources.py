"""Annotations their sources add by themselves (docs/annotations.md, "Sources"): a target
edit, an alert that starts or stops firing; and insights citing an annotation when an unusual
day falls inside it."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from alerts import evaluate
from annotations.models import Annotation, Source
from insights.queries import findings_for, get_insights
from metrics.periods import parse_state
from targets.actions import do_create_target, do_delete_target, do_update_target
from tests.alerts.conftest import NOW as ALERT_NOW, make_rule, order
from tests.insights.builders import NOW as INSIGHT_NOW, SYDNEY, customers, orders_on, weekdays

pytestmark = pytest.mark.django_db


def test_a_target_edit_adds_an_annotation_on_its_metric(org, owner, time_machine):
    time_machine.move_to(ALERT_NOW, tick=False)
    target = do_create_target(
        org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2026, 9, 1),
        value=Decimal(15_000_000),
    )
    do_update_target(target, value=Decimal(17_500_000))
    do_delete_target(target)
    rows = list(Annotation.objects.for_org(org).order_by("pk"))
    assert [(a.title, a.metric, a.source) for a in rows] == [
        ("Revenue target for Sep 2026 set to $150,000", "revenue", Source.TARGET),
        ("Revenue target for Sep 2026 changed to $175,000", "revenue", Source.TARGET),
        ("Revenue target for Sep 2026 removed", "revenue", Source.TARGET),
    ]
    assert rows[0].starts_at == ALERT_NOW and rows[0].ends_at is None
    # A person's own target is theirs, not the charts'.
    do_create_target(
        org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2026, 9, 1),
        value=Decimal(1_000_000),
        user=owner,
    )
    assert Annotation.objects.for_org(org).count() == 3


def test_an_alert_that_fires_and_resolves_adds_two_annotations(org, owner):
    yesterday = dt.date(2026, 8, 4)
    order(org, yesterday, 50_000)  # $500 yesterday: under the $1,000 line
    rule = make_rule(org, owner)
    evaluate.evaluate(ALERT_NOW)
    [fired] = Annotation.objects.for_org(org)
    assert fired.source == Source.ALERT and fired.metric == "revenue"
    assert fired.title == "Alert firing: Revenue dropped, revenue $500"
    assert fired.starts_at == ALERT_NOW
    # The next check with nothing changed adds none; the day after, revenue is back.
    evaluate.evaluate(ALERT_NOW + dt.timedelta(minutes=5))
    assert Annotation.objects.for_org(org).count() == 1
    order(org, dt.date(2026, 8, 5), 500_000)
    evaluate.evaluate(ALERT_NOW + dt.timedelta(days=1))
    titles = list(Annotation.objects.for_org(org).order_by("pk").values_list("title", flat=True))
    assert titles[1].startswith("Alert resolved: Revenue dropped")
    assert rule.events.count() == 2


def test_insights_cite_an_annotation_spanning_an_unusual_day(org, owner):
    cycle = itertools.cycle(customers(org, 20))
    for day in weekdays(dt.date(2025, 5, 1), dt.date(2025, 9, 30)):
        count = 40 if day == dt.date(2025, 9, 17) else 10
        orders_on(org, day, [500_000] * count, cycle)
    state = parse_state(
        {"from": "2025-09-01", "to": "2025-09-30", "compare": "previous_period"},
        org,
        now=INSIGHT_NOW,
    )
    Annotation.objects.create(
        organization=org,
        title="Spring sale",
        metric="revenue",
        starts_at=dt.datetime(2025, 9, 15, tzinfo=SYDNEY),
        ends_at=dt.datetime(2025, 9, 18, 23, 59, tzinfo=SYDNEY),
    )
    Annotation.objects.create(  # another metric's: not cited for revenue
        organization=org,
        title="Hiring freeze",
        metric="jobs_completed",
        starts_at=dt.datetime(2025, 9, 17, tzinfo=SYDNEY),
    )
    unusual = {f.metric: f for f in findings_for(org, owner, state) if f.kind == "unusual"}
    assert unusual["revenue"].title() == (
        "Revenue on Wed 17 Sep 2025 was $200,000, 4.0× the usual $50,000 for a Wednesday "
        "during ‘Spring sale’"
    )
    assert unusual["revenue"].facts["annotation"]["title"] == "Spring sale"
    assert "during" not in unusual["orders"].title()  # the sale was annotated on revenue only
    as_json = [f.as_json() for f in get_insights(org, state, owner)["findings"]]
    assert any(f["title"].endswith("during ‘Spring sale’") for f in as_json)
