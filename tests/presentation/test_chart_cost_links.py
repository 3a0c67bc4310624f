"""Drill and filter links built cheaply (presentation.widgets.base._query, issue 25): the same
bytes as the state's own querystring, whatever the extra part, the first time and from the
memo."""

from __future__ import annotations

from dataclasses import replace

import pytest

from metrics.filters import FILTERS, parse_filters
from metrics.periods import parse_state
from presentation.charts import bucket_label
from presentation.widgets.base import drill_url, filter_url

pytestmark = pytest.mark.django_db

EXTRAS = [
    {},
    {"bucket": "2026-11-02", "interval": "day"},
    {"bucket": "2026-11-02", "interval": "week", "period": "comparison"},
    {"stage": "negotiation"},
    {"kind": "defect", "status": "in_review"},
    {"category": "Battery & inverter"},  # a space and an ampersand
    {"category": "Zubehör/Ersatz+"},  # not ASCII, a slash, a plus
    {"category": "a~b.c_d-e"},  # quote_plus's always-safe characters
    {"claim_kind": ""},
    {"compare": "previous_year"},  # replaces one of the state's own parameters
]


@pytest.mark.parametrize(
    "params",
    [
        {"range": "this_month", "compare": "previous_period"},
        {"from": "2026-01-01", "to": "2026-03-31", "compare": "none"},
        {
            "range": "last_30_days",
            "compare": "previous_year",
            "state": "NSW",
            "customer_kind": "commercial",
        },
    ],
)
def test_links_are_the_states_querystring_byte_for_byte(org, params):
    state = parse_state(params, org)
    state = replace(state, filters=parse_filters(params, org))
    assert state.filters == tuple((k, v) for k, v in params.items() if k in FILTERS)
    for extra in EXTRAS * 2:  # the second time from the memo
        query = state.querystring(**extra)
        assert drill_url("revenue", state, **extra) == f"/dashboard/drill/revenue/?{query}"
        assert filter_url(state, **extra) == f"/dashboard/?{query}"


def test_a_link_spells_its_extra_part_as_urlencode_does(org):
    state = parse_state({"range": "this_month", "compare": "previous_period"}, org)
    assert drill_url("revenue", state, category="Battery & inverter") == (
        "/dashboard/drill/revenue/?range=this_month&compare=previous_period"
        "&category=Battery+%26+inverter"
    )
    assert filter_url(state, compare="none") == "/dashboard/?range=this_month&compare=none"


def test_bucket_words_are_the_same_from_the_memo():
    import datetime as dt

    day = dt.date(2026, 11, 2)
    for _ in range(2):
        assert bucket_label(day, "day") == "Mon 2 Nov 2026"
        assert bucket_label(day, "week") == "Week of 2 Nov 2026"
        assert bucket_label(day, "month") == "Nov 2026"
