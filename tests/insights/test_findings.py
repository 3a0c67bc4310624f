"""Each kind of finding on crafted data whose answer is known by construction, and none on
flat noise."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest

from insights.findings import compute_findings
from insights.queries import get_insights
from metrics.periods import parse_state
from targets.models import Target
from tests.insights.builders import NOW, customers, orders_on, weekdays

SEPTEMBER = {"from": "2025-09-01", "to": "2025-09-30", "compare": "previous_period"}
SEPTEMBER_QS = "from=2025-09-01&to=2025-09-30&compare=previous_period"


def september(org):
    return parse_state(SEPTEMBER, org, now=NOW)


def of_kind(findings, kind):
    return [f for f in findings if f.kind == kind]


@pytest.mark.django_db
def test_flat_noise_gives_no_finding(org):
    rnd = random.Random(3)
    cycle = itertools.cycle(customers(org, 50))
    for day in weekdays(dt.date(2025, 4, 1), dt.date(2025, 9, 30)):
        amounts = [rnd.randint(400_000, 600_000) for _ in range(rnd.randint(8, 12))]
        orders_on(org, day, amounts, cycle)

    state = september(org)
    assert compute_findings(org, state) == []
    narrative = get_insights(org, state)["narrative"]
    assert narrative.source == "computed"
    assert narrative.text.startswith("Nothing notable in 1 – 30 Sep 2025")


@pytest.mark.django_db
def test_a_spike_planted_on_one_day_is_unusual(org):
    cycle = itertools.cycle(customers(org, 20))
    for day in weekdays(dt.date(2025, 5, 1), dt.date(2025, 9, 30)):
        count = 40 if day == dt.date(2025, 9, 17) else 10
        orders_on(org, day, [500_000] * count, cycle)

    unusual = of_kind(compute_findings(org, september(org)), "unusual")

    by_metric = {f.metric: f for f in unusual}
    assert set(by_metric) == {"revenue", "orders"}  # the spike day only, nothing else
    revenue = by_metric["revenue"]
    assert revenue.id == "unusual:revenue:day:2025-09-17"
    assert revenue.value == 20_000_000  # 40 orders × $5,000
    assert revenue.previous is None
    assert revenue.facts["baseline_median"] == 5_000_000  # 10 orders × $5,000 every Wednesday
    assert revenue.title() == (
        "Revenue on Wed 17 Sep 2025 was $200,000, 4.0× the usual $50,000 for a Wednesday"
    )
    assert revenue.severity == "high"
    assert revenue.period == {"from": "2025-09-17", "to": "2025-09-17", "compare": "none"}
    assert revenue.drill_url == (
        f"/dashboard/drill/revenue/?{SEPTEMBER_QS}&bucket=2025-09-17&interval=day"
    )
    assert by_metric["orders"].value == 40


@pytest.mark.django_db
def test_a_customer_planted_at_60_percent_of_revenue_is_concentration(org):
    big = customers(org, 1, prefix="Big Co")[0]
    others = customers(org, 8)
    orders_on(org, dt.date(2025, 9, 10), [1_000_000] * 6, itertools.repeat(big))
    orders_on(org, dt.date(2025, 9, 11), [500_000] * 8, iter(others))

    found = of_kind(compute_findings(org, september(org)), "concentration")

    assert len(found) == 1
    finding = found[0]
    assert finding.metric == "revenue"
    assert finding.facts["share_pct"] == 60.0  # $60,000 of $100,000
    assert finding.title() == (
        "Big Co 0 made up 60.0% of revenue in the period ($60,000 of $100,000, across 9 customers)"
    )
    assert finding.value == 10_000_000
    assert finding.drill_url == f"/dashboard/drill/revenue/?{SEPTEMBER_QS}&q=Big+Co+0"


@pytest.mark.django_db
def test_a_slope_change_is_a_trend_break(org):
    cycle = itertools.cycle(customers(org, 20))
    first_week = dt.date(2025, 6, 9)  # 16 complete weeks end on Sunday 28 Sep 2025
    weekly = [20] * 10 + [28, 36, 44, 52, 60, 68]  # flat, then +8 orders a week
    for t, count in enumerate(weekly):
        monday = first_week + dt.timedelta(weeks=t)
        for d in range(5):
            orders_on(
                org,
                monday + dt.timedelta(days=d),
                [500_000] * (count // 5 + (d < count % 5)),
                cycle,
            )

    breaks = {f.metric: f for f in of_kind(compute_findings(org, september(org)), "trend_break")}

    orders = breaks["orders"]
    assert orders.id == "trend_break:orders:2025-08-11"
    assert orders.facts["slope_before"] == 0
    assert orders.facts["slope_after"] == 8
    assert orders.value == 28 + 36 + 44 + 52 + 60 + 68  # the six weeks since the bend
    assert orders.previous == 6 * 20  # the six weeks before them
    assert orders.period == {"from": "2025-08-18", "to": "2025-09-28", "compare": "previous_period"}
    assert orders.title() == (
        "Orders' weekly trend turned up after the week of 11 Aug 2025: +8 a week since, "
        "after 0 a week before"
    )
    assert "revenue" in breaks


@pytest.mark.django_db
def test_a_target_whose_forecast_misses_is_target_risk(org):
    cycle = itertools.cycle(customers(org, 5))
    orders_on(org, dt.date(2025, 10, 6), [500_000] * 10, cycle)  # $50,000 so far
    Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2025, 10, 1),
        value=Decimal(30_000_000),
    )
    state = parse_state({"range": "this_month", "compare": "previous_period"}, org, now=NOW)

    found = of_kind(compute_findings(org, state), "target_risk")

    assert len(found) == 1
    finding = found[0]
    # 14.5 of October's 31 days have passed (noon on the 15th) and there is no last year to
    # follow, so the pace is linear: forecast = $50,000 × 31 / 14.5 = $106,896.55.
    assert finding.facts["forecast"] == 10_689_655
    assert finding.facts["gap"] == 30_000_000 - 10_689_655
    assert finding.title() == (
        "Revenue is forecast to miss its Oct 2025 target of $300,000 by $193,103 "
        "(forecast $106,897)"
    )
    assert finding.value == 5_000_000


@pytest.mark.django_db
def test_a_single_huge_order_is_an_outlier_record(org):
    cycle = itertools.cycle(customers(org, 10))
    days = list(weekdays(dt.date(2025, 7, 1), dt.date(2025, 9, 30)))
    for i in range(40):
        orders_on(org, days[i], [400_000 + (i * 5_000) % 200_000], cycle)
    huge = orders_on(org, dt.date(2025, 9, 10), [8_000_000], cycle)[0]

    found = of_kind(compute_findings(org, september(org)), "outlier_record")

    assert len(found) == 1
    finding = found[0]
    assert finding.id == f"outlier_record:revenue:o{huge.pk}"
    assert finding.facts["usual_size"] == 500_000  # the median of 41 orders
    assert finding.facts["times_usual"] == 16.0
    assert finding.title() == (
        f"Order {huge.number} from {huge.customer.name} for $80,000, 16.0× the usual order "
        "of $5,000"
    )
    assert finding.drill_url == (
        f"/dashboard/drill/revenue/?{SEPTEMBER_QS}&bucket=2025-09-10&interval=day&q={huge.number}"
    )


@pytest.mark.django_db
def test_contributors_name_the_state_that_drove_a_change(org):
    nsw = itertools.cycle(customers(org, 5, state="NSW", prefix="Sydney"))
    vic = itertools.cycle(customers(org, 5, state="VIC", prefix="Melbourne"))
    orders_on(org, dt.date(2025, 8, 13), [500_000] * 10, nsw)
    orders_on(org, dt.date(2025, 8, 13), [500_000] * 10, vic)
    orders_on(org, dt.date(2025, 9, 10), [500_000] * 30, nsw)
    orders_on(org, dt.date(2025, 9, 10), [500_000] * 10, vic)

    findings = compute_findings(org, september(org))

    change = next(f for f in findings if f.id.startswith("change:revenue:"))
    assert (change.value, change.previous, change.change_pct) == (20_000_000, 10_000_000, 100.0)
    assert change.title() == "Revenue up 100.0% to $200,000, from $100,000 in the previous period"
    drivers = next(f for f in findings if f.id.startswith("contributors:revenue:"))
    assert drivers.facts["dimension"] == "customer_state"
    assert drivers.facts["top"] == [{"key": "NSW", "change": 10_000_000.0, "share_pct": 100.0}]
    assert drivers.title() == (
        "NSW drove 100.0% of the rise in revenue (+$100,000 of +$100,000), by customer state"
    )
