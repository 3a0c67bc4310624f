"""The sources of the semantic layer (docs/architecture.md, "Sources and metrics"): each names its
event view (`metrics/sql/events/<source>.sql` holds the one SQL definition of its rows), the daily
summary table that sums it by local day, the dimensions each can be sliced by, who owns a row,
which model its records are, which timestamps move its days, and how often its table is
refreshed. `metrics.definitions` builds the metrics on them and re-exports these names.

This module imports no models, so the Celery beat schedule can be built from it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @property
    def live_dims(self) -> tuple[str, ...]:
        """The dimensions no daily summary of this source keeps (an order's status, its
        customer's state): a write that moves only these leaves every summary row and every
        unsliced number as it was, so it drops only what slices by them (metrics/cache.py,
        per-dimension versions)."""
        kept = {d for grain in self.grains for d in grain.summary_dims}
        return tuple(d for d in self.dims if d not in kept)

    def dimension_part(self, dim: str) -> str:
        """The cache version part of values that slice this source by a live dimension."""
        return f"{self.name}.{dim}"


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
