"""The event SQL files and the daily summaries carry exactly what the definitions name.

metrics/sql/events/<source>.sql defines each source's rows; metrics.definitions names their
measures and dimensions. A measure nothing reads has no column, and a column every reader
expects is there (docs/architecture.md, "Sources and metrics").
"""

from __future__ import annotations

import pytest
from django.db import connection

from metrics.definitions import GRAINS, OWNER, SOURCE_BY_SUMMARY
from metrics.sql import drop_event_views_sql, event_views

pytestmark = pytest.mark.django_db

# Columns every event row has besides its dimensions and measures.
EVENT_KEYS = {"organization_id", "record_id", "ts", OWNER, "customer_id"}


def columns(relation: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %(name)s"
            " ORDER BY ordinal_position",
            {"name": relation},
        )
        return [name for (name,) in cursor.fetchall()]


SUMMARIES = [grain.summary for grain in GRAINS]


def view_dims(source) -> set[str]:
    """The dimensions a grain's own view carries: a source with a finer grain leaves the
    dimensions only that grain keeps (sales: product category) to it."""
    return set(source.dims) - (set(source.split.summary_dims) if source.split else set())


@pytest.mark.parametrize("summary", SUMMARIES)
def test_each_event_view_has_the_defined_dimensions_and_measures(summary):
    source = SOURCE_BY_SUMMARY[summary]
    have = set(columns(source.events))
    assert have >= EVENT_KEYS | view_dims(source) | set(source.measures)
    # The rest are the ids the dimensions come from.
    assert have - EVENT_KEYS - set(source.dims) - set(source.measures) <= {"product_id"}


def test_the_sales_split_keeps_product_category():
    sales = SOURCE_BY_SUMMARY["daily_sales"]
    assert sales.split is SOURCE_BY_SUMMARY["daily_sales_items"]
    assert "product_category" not in columns("metric_events_sales")
    assert sales.grain(()) is sales
    assert sales.grain(("customer_state",)) is sales
    assert sales.grain(("product_category", "customer_state")) is sales.split


@pytest.mark.parametrize("summary", SUMMARIES)
def test_each_daily_summary_holds_the_defined_measures_only(summary):
    source = SOURCE_BY_SUMMARY[summary]
    assert columns(source.summary) == [
        "organization_id",
        "day",
        *source.summary_dims,
        *source.measures,
    ]


def test_the_unread_measures_are_gone():
    assert "opened_cost" not in columns("metric_events_warranty") + columns("daily_warranty")


def test_event_views_are_dropped_dependents_first():
    assert event_views().index("metric_rows_jobs") < event_views().index("metric_events_jobs")
    drops = drop_event_views_sql().splitlines()
    assert drops.index("DROP VIEW IF EXISTS metric_events_jobs;") < drops.index(
        "DROP VIEW IF EXISTS metric_rows_jobs;"
    )
    assert "CASCADE" not in drop_event_views_sql()
