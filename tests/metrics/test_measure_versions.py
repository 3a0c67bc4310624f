"""Per-measure versions (issue 25, docs/architecture.md "Cache"): a value carries the versions of
the measures it reads, so a write that moves only other measures of its source keeps it; a
whole-organisation value of an unfiltered metric carries its measures' totals, so a write that
only moves a row to another stage keeps it too.

Today is 20 November 2026, noon in Sydney. The pipeline:
  E $8,000 created 10 Oct, won 15 Oct;  F $4,000 created 12 Oct, lost 20 Oct;
  G $6,000 created 14 Oct, still open;
  A $10,000 created 2 Nov, won 5 Nov;   B $5,000 created 3 Nov, lost 6 Nov;
  C $20,000 created 4 Nov, still open.
This month: win rate 1 / (1 + 1) = 0.5; pipeline open now: G + C = $26,000 (2,600,000 cents).
Last month: win rate 1 / (1 + 1) = 0.5; pipeline open at the end of October: G, $6,000.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest

from metrics import cache as metric_cache
from metrics.definitions import METRICS, SOURCES
from metrics.periods import parse_state
from metrics.queries import get_breakdown, get_metrics
from metrics.refresh import refresh_summaries
from metrics.signals import moved_measures
from operations.models import Opportunity
from presentation.widgets import build_widget, peek_widget
from tests.targets.helpers import customer, local

NOW = local(2026, 11, 20, 12)
EARLIER = NOW - dt.timedelta(hours=1)  # today, before the range ends (now)


# --- Declarations ----------------------------------------------------------------------------


def _recording(values):
    """A totals function that answers from `values` and records each measure asked for."""
    asked: set[str] = set()

    def total(measure, **dims):
        asked.add(measure)
        return values[measure]

    return total, asked


def _inputs(measures):
    """Varied totals for a source's measures: zeros, ones, mixed and random (so a guard such
    as "no orders, no average" takes both branches)."""
    rnd = random.Random(25)
    yield from (dict.fromkeys(measures, v) for v in (0, 1, 7))
    for zeros in itertools.product((0, 3), repeat=len(measures)):
        yield dict(zip(measures, zeros, strict=True))
    for _ in range(50):
        yield {m: Decimal(rnd.randint(0, 10_000)) for m in measures}


@pytest.mark.parametrize("key", list(METRICS))
def test_every_metric_reads_exactly_its_declared_measures(key):
    metric = METRICS[key]
    measures = SOURCES[metric.source].measures
    read: set[str] = set()
    records: set[str] = set()
    for values in _inputs(measures):
        total, asked = _recording(values)
        metric.value(total)
        read |= asked
        total, asked = _recording(values)
        metric.records(total)
        records |= asked
    # Reads only its declared measures, and every one of them (a declaration that is too wide
    # would drop the value on writes it does not read).
    assert read == set(metric.measures)
    assert records == set(metric.record_measures)


def test_measure_parts_name_the_source_and_the_measure():
    assert METRICS["quote_win_rate"].measure_parts == ("pipeline/closed_count",)
    # Filtered by stage, the win rate reads its measure by stage even for the whole
    # organisation; the pipeline value reads only its measures' totals.
    assert METRICS["quote_win_rate"].value_parts(sliced=False) == ("pipeline/closed_count",)
    assert METRICS["pipeline_value"].value_parts(sliced=False) == (
        "pipeline/opened_value/total",
        "pipeline/closed_value/total",
    )
    assert METRICS["pipeline_value"].value_parts(sliced=True) == (
        "pipeline/opened_value",
        "pipeline/closed_value",
    )
    assert METRICS["pipeline_value"].measure_parts == (
        "pipeline/opened_value",
        "pipeline/closed_value",
    )
    # A breakdown also shows the records: open opportunities are opened less closed ones.
    assert METRICS["pipeline_value"].reads_parts == (
        "pipeline/opened_value",
        "pipeline/closed_value",
        "pipeline/opened_count",
        "pipeline/closed_count",
    )


# --- Writes ----------------------------------------------------------------------------------


def _opportunity(org, buyer, name, cents, created, closed=None, stage="lead"):
    return Opportunity.objects.create(
        organization=org,
        customer=buyer,
        name=name,
        stage=stage,
        value_cents=cents,
        probability=50,
        created_at=created,
        closed_at=closed,
    )


@pytest.fixture
def pipeline(db, org, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(NOW, tick=False)
    buyer = customer(org)
    made = {}
    with django_capture_on_commit_callbacks(execute=True):
        for name, cents, created, closed, stage in (
            ("E", 800_000, local(2026, 10, 10, 9), local(2026, 10, 15, 9), "won"),
            ("F", 400_000, local(2026, 10, 12, 9), local(2026, 10, 20, 9), "lost"),
            ("G", 600_000, local(2026, 10, 14, 9), None, "lead"),
            ("A", 1_000_000, local(2026, 11, 2, 9), local(2026, 11, 5, 9), "won"),
            ("B", 500_000, local(2026, 11, 3, 9), local(2026, 11, 6, 9), "lost"),
            ("C", 2_000_000, local(2026, 11, 4, 9), None, "lead"),
        ):
            made[name] = _opportunity(org, buyer, name, cents, created, closed, stage)
    refresh_summaries()
    made["buyer"] = buyer
    return made


def _value(org, key, range_="this_month"):
    state = parse_state({"range": range_, "compare": "none"}, org)
    return get_metrics(org, state, [key])["metrics"][key]["value"]


def _lookups() -> tuple[int, int]:
    stats = metric_cache.cache_stats()
    return stats["hits"], stats["misses"]


def _win(org, name, pipeline, capture):
    with capture(execute=True):
        pipeline[name].stage, pipeline[name].closed_at = "won", EARLIER
        pipeline[name].save()


def test_an_opportunity_opened_keeps_the_win_rate_and_drops_the_pipeline(
    org, pipeline, django_capture_on_commit_callbacks
):
    assert _value(org, "quote_win_rate") == 0.5
    assert _value(org, "pipeline_value") == 2_600_000

    with django_capture_on_commit_callbacks(execute=True):
        _opportunity(org, pipeline["buyer"], "D", 300_000, EARLIER)

    hits, misses = _lookups()
    # The win rate reads closed quotes only: still cached (a hit), still 1 of 2.
    assert _value(org, "quote_win_rate") == 0.5
    assert _lookups() == (hits + 1, misses)
    # The pipeline reads opened values: recomputed, $26,000 + $3,000.
    assert _value(org, "pipeline_value") == 2_900_000
    assert _lookups() == (hits + 1, misses + 1)


def test_an_opportunity_won_today_drops_the_win_rate(
    org, pipeline, django_capture_on_commit_callbacks
):
    assert _value(org, "quote_win_rate") == 0.5
    assert _value(org, "pipeline_value") == 2_600_000

    _win(org, "C", pipeline, django_capture_on_commit_callbacks)

    hits, misses = _lookups()
    # A and C won, B lost: 2 / 3; open now only G, $6,000.
    assert _value(org, "quote_win_rate") == pytest.approx(0.6667, abs=1e-4)
    assert _value(org, "pipeline_value") == 600_000
    assert _lookups() == (hits, misses + 2)


def _last_month_by_stage(org) -> dict:
    state = parse_state({"range": "last_month", "compare": "none"}, org)
    return {r["key"]: r["value"] for r in get_breakdown(org, state, "pipeline_value", "stage")}


def test_last_month_survives_a_quote_of_last_month_won_today(
    org, pipeline, django_capture_on_commit_callbacks
):
    """G (created 14 Oct) won today moves its opened row's stage on 14 Oct and adds a closed
    row today: last month's closed quotes did not move, nor did its opened totals; only what
    reads the opened rows by stage did."""
    assert _value(org, "quote_win_rate", "last_month") == 0.5
    assert _value(org, "pipeline_value", "last_month") == 600_000
    # Open at the end of October: G, a lead (E and F closed within October: 0 each).
    assert _last_month_by_stage(org) == {"lead": 600_000}

    _win(org, "G", pipeline, django_capture_on_commit_callbacks)

    hits, misses = _lookups()
    assert _value(org, "quote_win_rate", "last_month") == 0.5
    # Still $6,000 open at the end of October: the opened totals did not move, still cached.
    assert _value(org, "pipeline_value", "last_month") == 600_000
    assert _lookups() == (hits + 2, misses)
    # By stage it moved: G's rows carry its stage now, won (shown as "Won since").
    assert _last_month_by_stage(org) == {"won": 600_000}
    assert _lookups() == (hits + 2, misses + 1)
    # This month: A, G won and B lost, 2 / 3.
    assert _value(org, "quote_win_rate") == pytest.approx(0.6667, abs=1e-4)


def test_moved_measures_of_a_quote_won(org):
    """Hand-made rows of an opportunity ($6,000, probability 50) created 14 Oct and won on
    20 Nov: before, one opened row (a lead); after, the opened row with stage won and a
    closed row."""

    def row(ts, stage, opened, closed):
        return (
            ("record_id", 7),
            ("ts", ts),
            ("stage", stage),
            ("opened_count", opened),
            ("opened_value", 600_000 * opened),
            ("opened_weighted", 30_000_000 * opened),
            ("closed_count", closed),
            ("closed_value", 600_000 * closed),
            ("closed_weighted", 30_000_000 * closed),
        )

    created, won = local(2026, 10, 14, 9), EARLIER
    before = [[row(created, "lead", 1, 0)]]
    after = [[row(created, "won", 1, 0), row(won, "won", 0, 1)]]
    moved, totals = moved_measures(SOURCES["pipeline"], before, after, org.tz)
    opened = {"opened_count", "opened_value", "opened_weighted"}
    closed = {"closed_count", "closed_value", "closed_weighted"}
    october, today = dt.date(2026, 10, 14), dt.date(2026, 11, 20)
    assert moved == {**dict.fromkeys(opened, {october}), **dict.fromkeys(closed, {today})}
    assert totals == dict.fromkeys(closed, {today})


def test_a_kpi_card_keeps_its_measures_versions_only(
    org, pipeline, django_capture_on_commit_callbacks
):
    state = parse_state({"range": "this_month", "compare": "none"}, org)
    rate = {"id": "r", "type": "kpi", "size": "s", "settings": {"metric": "quote_win_rate"}}
    value = {"id": "v", "type": "kpi", "size": "s", "settings": {"metric": "pipeline_value"}}
    assert build_widget(rate, org, None, state)["raw"] == 0.5
    assert build_widget(value, org, None, state)["raw"] == 2_600_000

    with django_capture_on_commit_callbacks(execute=True):
        _opportunity(org, pipeline["buyer"], "D", 300_000, EARLIER)

    assert peek_widget(rate, org, state)["raw"] == 0.5  # still cached
    assert peek_widget(value, org, state) is None  # dropped
    assert build_widget(value, org, None, state)["raw"] == 2_900_000


def test_a_whole_bump_of_the_source_drops_every_measure(org, pipeline):
    assert _value(org, "quote_win_rate") == 0.5
    assert _value(org, "quote_win_rate", "last_month") == 0.5
    metric_cache.bump_data_version(org.pk, ["pipeline"])
    hits, misses = _lookups()
    assert _value(org, "quote_win_rate") == 0.5
    assert _value(org, "quote_win_rate", "last_month") == 0.5
    assert _lookups() == (hits, misses + 2)
    metric_cache.bump_data_version(org.pk)  # the organisation's epoch: everything
    assert _value(org, "quote_win_rate") == 0.5
    assert _lookups() == (hits, misses + 3)


def test_a_customer_archived_moves_only_the_closed_count(
    org, django_capture_on_commit_callbacks, time_machine
):
    """Customers: one created 1 Jan 2020 (customer()), one on 2 Nov. Archiving the first today
    moves its closed row only: new customers this month (1) stay cached, the count drops."""
    time_machine.move_to(NOW, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        old = customer(org)
        customer(org, local(2026, 11, 2, 9))
    refresh_summaries()
    assert _value(org, "new_customers") == 1
    assert _value(org, "customer_count") == 2
    with django_capture_on_commit_callbacks(execute=True):
        old.archived_at = EARLIER
        old.save()
    hits, misses = _lookups()
    assert _value(org, "new_customers") == 1
    assert _lookups() == (hits + 1, misses)
    assert _value(org, "customer_count") == 1
    assert _lookups() == (hits + 1, misses + 1)
