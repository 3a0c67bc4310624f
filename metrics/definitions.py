"""The semantic layer: every source and every metric, defined once (docs/architecture.md,
"Sources and metrics").

A **source** is a stream of events (`metrics/sql/events/<source>.sql` holds the one SQL
definition of its rows: which records count, their timestamps, measures, owner and dimensions).
Here it names that event view, the daily summary table that sums it by local day, the dimensions
each can be sliced by, who owns a row, which model its records are, which timestamps move its
days, and how often its table is refreshed. The engine, drill-downs, per-user statistics, personal
targets, the write path, the cache and the beat schedule all read these definitions.

A **metric** says how its value comes from its source's summed measures (range metrics add up
over the days of a range, ratios are ratios of sums, state metrics are read at an instant from
cumulative opened-minus-closed sums), its definitional filters (quotes won are closed pipeline
events whose stage is won), which measure marks its records, its unit, and whether up is good.

This module imports no models, so the Celery beat schedule can be built from it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

UNITS = ("aud_cents", "kwh", "count", "ratio", "hours")

# Dimensions every source's events carry (from the record's customer).
CUSTOMER_DIMS = ("customer_state", "customer_kind")
OWNER = "owner_id"


@dataclass(frozen=True)
class Source:
    name: str
    model: str  # "app_label.Model" of the records its events come from
    events: str  # the plain SQL view of its events
    summary: str  # the daily summary table summing the events by organisation and local day
    summary_dims: tuple[str, ...]  # dimensions kept in the daily summary
    dims: tuple[str, ...]  # every dimension a query may filter or break down by
    measures: tuple[str, ...]
    owner: str | None  # who a row belongs to, in words; None: rows have no owner
    timestamps: tuple[str, ...]  # model fields whose local days a write moves
    refresh_minutes: int  # how often beat refreshes its table ("Write path")
    # Related models whose writes move this source's rows: model -> path to the record.
    dependents: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    # The record's field naming the technician a row belongs to, for sources a technician
    # owns (jobs, activities): the scope rule of metrics.scope reads it (docs/architecture.md,
    # "The scope rule"). None: a technician reads the organisation's rows.
    technician_field: str | None = None
    # Models whose dimension fields its rows read: model -> (path from the record to it, the
    # fields). A change of one of those fields moves the days of every record that reaches it
    # (a product moved to another category moves its orders' days).
    related: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    # A finer grain of the same events with its own view and summary (sales: one row per order
    # and product category), read instead of this one by any query that filters or breaks down
    # by a dimension its summary keeps (docs/architecture.md, "Sources and metrics").
    split: Source | None = None
    # Sources whose events this one's view reads (the ledger reads the sales events): a write
    # that moves their days moves this source's too (metrics/signals.py).
    follows: tuple[str, ...] = ()

    @property
    def has_owner(self) -> bool:
        return self.owner is not None

    @property
    def grains(self) -> tuple[Source, ...]:
        """This source and its finer grain, if any: every view and summary a write moves."""
        return (self,) if self.split is None else (self, self.split)

    def grain(self, dims) -> Source:
        """The grain that answers a query sliced or broken down by these dimensions."""
        if self.split is not None and set(dims) & set(self.split.summary_dims):
            return self.split
        return self

    def covers(self, dims) -> bool:
        """Whether the daily summary can answer a query sliced by these dimensions."""
        return set(dims) <= set(self.summary_dims)


_SALES_DIMS = ("status", *CUSTOMER_DIMS, "customer_id", "product_category")
_SALES_MEASURES = ("revenue_cents", "orders", "kwh_sold")
# Sales at (order, product category) grain: each counted order's item lines summed per
# category of their product, plus the part of the order total on no item (category NULL), so
# the rows of an order add up to its total exactly. `orders` is 1 on each row, so under a
# category filter it counts the orders having an item in that category.
SALES_ITEMS = Source(
    name="sales",
    model="operations.Order",
    events="metric_events_sales_items",
    summary="daily_sales_items",
    summary_dims=("product_category",),
    dims=_SALES_DIMS,
    measures=_SALES_MEASURES,
    owner="the owner of the order's opportunity",
    timestamps=("ordered_at",),
    refresh_minutes=15,
    dependents=MappingProxyType({"operations.OrderItem": "order"}),
)
# Sales at order grain (one row per counted order), read by every query that does not slice
# by product category, so those read one summary row per day as before.
SALES = Source(
    name="sales",
    model="operations.Order",
    events="metric_events_sales",
    summary="daily_sales",
    summary_dims=(),
    dims=_SALES_DIMS,
    measures=_SALES_MEASURES,
    owner="the owner of the order's opportunity",
    timestamps=("ordered_at",),
    refresh_minutes=15,
    dependents=MappingProxyType({"operations.OrderItem": "order"}),
    related=MappingProxyType({"operations.Product": ("items__product", ("category",))}),
    split=SALES_ITEMS,
)
PIPELINE = Source(
    name="pipeline",
    model="operations.Opportunity",
    events="metric_events_pipeline",
    summary="daily_pipeline",
    summary_dims=("stage",),
    dims=("stage", *CUSTOMER_DIMS),
    measures=(
        "opened_count",
        "opened_value",
        "opened_weighted",
        "closed_count",
        "closed_value",
        "closed_weighted",
    ),
    owner="the opportunity's owner",
    timestamps=("created_at", "closed_at"),
    refresh_minutes=15,
)
JOBS = Source(
    name="jobs",
    model="operations.InstallationJob",
    events="metric_events_jobs",
    summary="daily_jobs",
    summary_dims=("status",),
    dims=("status", *CUSTOMER_DIMS),
    measures=("opened_count", "closed_count", "completed_count", "completed_kwh", "labor_hours"),
    owner="the job's technician",
    timestamps=("created_at", "completed_at", "cancelled_at"),
    refresh_minutes=15,
    technician_field="technician_id",
)
WARRANTY = Source(
    name="warranty",
    model="operations.WarrantyClaim",
    events="metric_events_warranty",
    summary="daily_warranty",
    summary_dims=("kind", "status"),
    dims=("kind", "status", "product_category", *CUSTOMER_DIMS, "customer_id"),
    measures=("opened_count", "closed_count"),
    owner=None,
    timestamps=("opened_at", "resolved_at"),
    refresh_minutes=60,
)
CUSTOMERS = Source(
    name="customers",
    model="operations.Customer",
    events="metric_events_customers",
    summary="daily_customers",
    summary_dims=(),
    dims=CUSTOMER_DIMS,
    measures=("opened_count", "closed_count"),
    owner=None,
    timestamps=("created_at", "archived_at"),
    refresh_minutes=15,
)
ACTIVITIES = Source(
    name="activities",
    model="operations.Activity",
    events="metric_events_activities",
    summary="daily_activities",
    summary_dims=("kind",),
    dims=("kind", *CUSTOMER_DIMS),
    measures=("activity_count",),
    owner="the user who logged it",
    timestamps=("occurred_at",),
    refresh_minutes=15,
    technician_field="user_id",
)

# --- The ledger (docs/xero.md): Xero's invoices, credit notes and payments beside the orders --
LEDGER = Source(
    name="ledger",
    model="xero.XeroInvoice",
    events="metric_events_ledger",
    summary="daily_ledger",
    summary_dims=(),
    dims=(),
    measures=(
        "invoiced_cents",
        "invoices",
        "collected_cents",
        "payments",
        "orders_cents",
        "unbilled_cents",
        "unbilled_orders",
    ),
    owner=None,
    timestamps=("dated_at",),
    refresh_minutes=60,
    follows=("sales",),
)

SOURCES: dict[str, Source] = {
    s.name: s for s in (SALES, PIPELINE, JOBS, WARRANTY, CUSTOMERS, ACTIVITIES, LEDGER)
}
# Every grain of every source: each has its own event view and daily summary.
GRAINS: tuple[Source, ...] = tuple(g for s in SOURCES.values() for g in s.grains)
SOURCE_BY_SUMMARY: dict[str, Source] = {g.summary: g for g in GRAINS}
SUMMARY_TABLES: tuple[str, ...] = tuple(g.summary for g in GRAINS)


def refresh_schedule() -> dict[int, list[str]]:
    """{minutes between refreshes: [tables]}, for the beat schedule."""
    out: dict[int, list[str]] = {}
    for grain in GRAINS:
        out.setdefault(grain.refresh_minutes, []).append(grain.summary)
    return out


# --- Metrics ---------------------------------------------------------------------------------

Total = Callable[..., "int | Decimal"]  # total(measure, **dims) -> the summed measure


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    up_is_good: bool
    kind: str  # "range" (sums over days), "ratio" (ratio of range sums) or "state" (at an instant)
    source: str
    compute: Callable[[Total], object]  # (total) -> value or None
    drill: str  # the drill-down list that shows its records
    description: str
    # The measure that marks a record of this metric (range metrics: an event with it non-zero).
    # State metrics' records are those open at the instant: opened_count > closed_count.
    record_measure: str = "opened_count"
    # Definitional filters: the dimension values the metric counts, e.g. stage in (won,).
    filters: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    # The model of its records when not its source's ("app_label.Model"): the ledger's
    # unbilled revenue lists orders.
    records_model: str | None = None

    @property
    def is_state(self) -> bool:
        return self.kind == "state"

    @property
    def additive(self) -> bool:
        """Whether the values of consecutive periods add up to the value of their union."""
        return self.kind == "range"

    def records(self, total: Total) -> int:
        """How many records are behind the value: for a state metric those open at the
        instant, for a range metric those with its record measure."""
        filtered = self._filtered(total)
        if self.is_state:
            return int(filtered("opened_count") - filtered("closed_count"))
        return int(filtered(self.record_measure))

    def _filtered(self, total: Total) -> Total:
        if not self.filters:
            return total

        def filtered(measure: str, **dims):
            return total(measure, **{**self.filters, **dims})

        return filtered

    def value(self, total: Total):
        """The metric's value from a source's `total(measure, **dims)`, with its filters."""
        return self.compute(self._filtered(total))


def _ratio(numerator, denominator) -> float | None:
    if not denominator:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def win_rate(won, lost) -> float | None:
    """The quote win rate, the one formula: won / (won + lost); None when nothing closed."""
    return _ratio(won, won + lost)


def average_order_value(revenue_cents, orders) -> int | None:
    """Average order value, the one formula: revenue / orders in whole cents, rounded half up;
    None without orders."""
    if not orders:
        return None
    return int((Decimal(revenue_cents) / orders).quantize(Decimal("1"), ROUND_HALF_UP))


# Each ratio metric as its formula over range metrics' values: a sum of days (a person's rate,
# a finding's) takes the ratio of the summed parts, never an average of daily ratios.
RATIO_PARTS: MappingProxyType = MappingProxyType(
    {
        "quote_win_rate": (("quotes_won", "quotes_lost"), win_rate),
        "average_order_value": (("revenue", "orders"), average_order_value),
    }
)
WIN_RATE_PARTS = RATIO_PARTS["quote_win_rate"][0]


def _two_places(value) -> float:
    return float(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _cents_from_weighted(value) -> int:
    return int((Decimal(value) / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


WON, LOST = "won", "lost"
_CLOSED = MappingProxyType({"stage": (WON, LOST)})

_REGISTRY = [
    Metric(
        "revenue",
        "Revenue",
        "aud_cents",
        True,
        "range",
        "sales",
        lambda t: int(t("revenue_cents")),
        "orders",
        "Order totals (ex GST), confirmed or fulfilled, by order date; by product category, "
        "the order lines in it",
        record_measure="orders",
    ),
    Metric(
        "orders",
        "Orders",
        "count",
        True,
        "range",
        "sales",
        lambda t: int(t("orders")),
        "orders",
        "Confirmed or fulfilled orders, by order date",
        record_measure="orders",
    ),
    Metric(
        "average_order_value",
        "Average order value",
        "aud_cents",
        True,
        "ratio",
        "sales",
        lambda t: average_order_value(t("revenue_cents"), t("orders")),
        "orders",
        "Revenue divided by orders; by product category, its revenue over the orders with it",
        record_measure="orders",
    ),
    Metric(
        "kwh_sold",
        "kWh sold",
        "kwh",
        True,
        "range",
        "sales",
        lambda t: _two_places(t("kwh_sold")),
        "orders",
        "kWh of the items of confirmed or fulfilled orders, by order date",
        record_measure="orders",
    ),
    Metric(
        "kwh_deployed",
        "kWh deployed",
        "kwh",
        True,
        "range",
        "jobs",
        lambda t: _two_places(t("completed_kwh")),
        "jobs",
        "kWh of installation jobs completed, by completion date",
        record_measure="completed_count",
    ),
    Metric(
        "jobs_completed",
        "Jobs completed",
        "count",
        True,
        "range",
        "jobs",
        lambda t: int(t("completed_count")),
        "jobs",
        "Installation jobs completed, by completion date",
        record_measure="completed_count",
    ),
    Metric(
        "labor_hours",
        "Labour hours",
        "hours",
        True,
        "range",
        "jobs",
        lambda t: _two_places(t("labor_hours")),
        "jobs",
        "Labour hours of jobs completed, by completion date",
        record_measure="completed_count",
    ),
    Metric(
        "quotes_won",
        "Quotes won",
        "count",
        True,
        "range",
        "pipeline",
        lambda t: int(t("closed_count")),
        "opportunities_closed",
        "Opportunities closed won, by close date",
        record_measure="closed_count",
        filters=MappingProxyType({"stage": (WON,)}),
    ),
    Metric(
        "quotes_lost",
        "Quotes lost",
        "count",
        False,
        "range",
        "pipeline",
        lambda t: int(t("closed_count")),
        "opportunities_closed",
        "Opportunities closed lost, by close date",
        record_measure="closed_count",
        filters=MappingProxyType({"stage": (LOST,)}),
    ),
    Metric(
        "quotes_won_value",
        "Quotes won value",
        "aud_cents",
        True,
        "range",
        "pipeline",
        lambda t: int(t("closed_value")),
        "opportunities_closed",
        "Value of opportunities closed won, by close date",
        record_measure="closed_count",
        filters=MappingProxyType({"stage": (WON,)}),
    ),
    Metric(
        "quote_win_rate",
        "Quote win rate",
        "ratio",
        True,
        "ratio",
        "pipeline",
        lambda t: win_rate(t("closed_count", stage=(WON,)), t("closed_count", stage=(LOST,))),
        "opportunities_closed",
        "Won / (won + lost), by close date",
        record_measure="closed_count",
        filters=_CLOSED,
    ),
    Metric(
        "new_customers",
        "New customers",
        "count",
        True,
        "range",
        "customers",
        lambda t: int(t("opened_count")),
        "customers",
        "Customers created in the range",
    ),
    Metric(
        "warranty_claims",
        "Warranty claims",
        "count",
        False,
        "range",
        "warranty",
        lambda t: int(t("opened_count")),
        "claims",
        "Warranty claims opened, by open date",
    ),
    Metric(
        "activities",
        "Activities",
        "count",
        True,
        "range",
        "activities",
        lambda t: int(t("activity_count")),
        "activities",
        "Calls, emails, meetings, site visits and notes",
        record_measure="activity_count",
    ),
    Metric(
        "pipeline_value",
        "Pipeline value",
        "aud_cents",
        True,
        "state",
        "pipeline",
        lambda t: int(t("opened_value") - t("closed_value")),
        "opportunities_open",
        "Value of opportunities open at the end of the range",
    ),
    Metric(
        "weighted_pipeline",
        "Weighted pipeline",
        "aud_cents",
        True,
        "state",
        "pipeline",
        lambda t: _cents_from_weighted(t("opened_weighted") - t("closed_weighted")),
        "opportunities_open",
        "Open pipeline value × probability",
    ),
    Metric(
        "active_installations",
        "Active installations",
        "count",
        True,
        "state",
        "jobs",
        lambda t: int(t("opened_count") - t("closed_count")),
        "jobs_active",
        "Installation jobs neither completed nor cancelled at the end of the range",
    ),
    Metric(
        "open_warranty_claims",
        "Open warranty claims",
        "count",
        False,
        "state",
        "warranty",
        lambda t: int(t("opened_count") - t("closed_count")),
        "claims_open",
        "Claims opened and not yet resolved or rejected at the end of the range",
    ),
    Metric(
        "customer_count",
        "Customers",
        "count",
        True,
        "state",
        "customers",
        lambda t: int(t("opened_count") - t("closed_count")),
        "customers_active",
        "Customers created and not archived at the end of the range",
    ),
]

# The ledger's metrics (docs/xero.md): the books, and how far they are from the orders.
_LEDGER_METRICS = [
    Metric(
        "invoiced_revenue",
        "Invoiced revenue",
        "aud_cents",
        True,
        "range",
        "ledger",
        lambda t: int(t("invoiced_cents")),
        "invoices",
        "Sales invoices in Xero (ex GST, authorised or paid) less credit notes, by invoice date",
        record_measure="invoices",
    ),
    Metric(
        "cash_collected",
        "Cash collected",
        "aud_cents",
        True,
        "range",
        "ledger",
        lambda t: int(t("collected_cents")),
        "invoices",
        "Payments received on sales invoices in Xero (incl. GST), by payment date",
        record_measure="payments",
    ),
    Metric(
        "unbilled_revenue",
        "Unbilled revenue",
        "aud_cents",
        False,
        "range",
        "ledger",
        lambda t: int(t("unbilled_cents")),
        "orders",
        "Fulfilled orders with no invoice in Xero, by order date",
        record_measure="unbilled_orders",
        records_model="operations.Order",
    ),
    Metric(
        "revenue_gap",
        "Revenue gap",
        "aud_cents",
        False,
        "range",
        "ledger",
        lambda t: int(t("orders_cents") - t("invoiced_cents")),
        "invoices",
        "Revenue from orders less invoiced revenue in Xero",
        record_measure="invoices",
    ),
]

METRICS: dict[str, Metric] = {m.key: m for m in (*_REGISTRY, *_LEDGER_METRICS)}


class UnknownMetric(ValueError):
    pass


def get_metric(key: str) -> Metric:
    try:
        return METRICS[key]
    except KeyError:
        raise UnknownMetric(
            f"Unknown metric {key[:40]!r}. Accepted: {', '.join(METRICS)}"
        ) from None


def parse_metric_keys(raw: str | None, default: list[str] | None = None) -> list[str]:
    """A comma-separated list of metric keys, validated; raises UnknownMetric."""
    if not raw:
        return list(default or METRICS)
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if len(keys) > len(METRICS):
        raise UnknownMetric(f"Too many metrics; at most {len(METRICS)}")
    for key in keys:
        get_metric(key)
    return list(dict.fromkeys(keys))


def source_of(metric: Metric | str) -> Source:
    return SOURCES[(get_metric(metric) if isinstance(metric, str) else metric).source]


def owned_metrics(*kinds: str) -> tuple[str, ...]:
    """The one list of the metrics a person owns: those whose source rows belong to a user, so
    each has a personal slice (per-user statistics, personal targets, the personal page). In
    registry order; only metrics of the given kinds ("range", "ratio", "state") when named."""
    return tuple(
        m.key
        for m in METRICS.values()
        if SOURCES[m.source].has_owner and (not kinds or m.kind in kinds)
    )
