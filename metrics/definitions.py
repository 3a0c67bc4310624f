"""The semantic layer: every source and every metric, defined once (docs/architecture.md,
"Sources and metrics").

A **source** is a stream of events (`metrics/sql/events/<source>.sql` holds the one SQL
definition of its rows: which records count, their timestamps, measures, owner and dimensions).
Here it names that event view, the daily summary table that sums it by local day, the dimensions
each can be sliced by, who owns a row, which model its records are, which timestamps move its
days, and how often its table is refreshed (the sources live in `metrics/sources.py` and are
re-exported here). The engine, drill-downs, per-user statistics, personal
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

# The sources live in metrics/sources.py; callers import them from here with the metrics.
from metrics.sources import (
    ACTIVITIES as ACTIVITIES,
    CUSTOMER_DIMS as CUSTOMER_DIMS,
    CUSTOMERS as CUSTOMERS,
    GRAINS as GRAINS,
    JOBS as JOBS,
    LEDGER as LEDGER,
    OWNER as OWNER,
    PIPELINE as PIPELINE,
    SALES as SALES,
    SALES_ITEMS as SALES_ITEMS,
    SOURCE_BY_SUMMARY as SOURCE_BY_SUMMARY,
    SOURCES as SOURCES,
    SUMMARY_TABLES as SUMMARY_TABLES,
    UNITS as UNITS,
    WARRANTY as WARRANTY,
    Source as Source,
    refresh_schedule as refresh_schedule,
)

# --- Metrics ---------------------------------------------------------------------------------

Total = Callable[..., "int | Decimal"]  # total(measure, **dims) -> the summed measure


def measure_part(source: str, measure: str, *, total: bool = False) -> str:
    """The cache version part of one measure of a source: bumped by a write only when that
    measure's sums moved (metrics/cache.py, per-measure versions); `total`: only when its
    whole-organisation sums moved (not when a row only moved to another dimension value)."""
    return f"{source}/{measure}" + ("/total" if total else "")


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
    # The source's measures its value reads (`compute`, through `total`): a cached value
    # carries only their versions, so a write that moves none of them keeps it
    # (metrics/cache.py, per-measure versions). tests/metrics/test_measure_versions.py proves
    # every metric reads only these.
    measures: tuple[str, ...] = ()

    @property
    def record_measures(self) -> tuple[str, ...]:
        """The measures its record count reads (`records`)."""
        return ("opened_count", "closed_count") if self.is_state else (self.record_measure,)

    @property
    def measure_parts(self) -> tuple[str, ...]:
        """The cache version parts of its value (metrics/cache.py, per-measure versions)."""
        return tuple(measure_part(self.source, m) for m in self.measures)

    def value_parts(self, sliced: bool) -> tuple[str, ...]:
        """The version parts of its value read in a slice (`sliced`: an owner's rows, a
        dimension filter) or for the whole organisation: a whole, unfiltered value reads only
        its measures' totals, so it carries their total parts."""
        if sliced or self.filters:
            return self.measure_parts
        return tuple(measure_part(self.source, m, total=True) for m in self.measures)

    @property
    def reads_parts(self) -> tuple[str, ...]:
        """The version parts of its value and its record count (a breakdown shows both)."""
        measures = dict.fromkeys((*self.measures, *self.record_measures))
        return tuple(measure_part(self.source, m) for m in measures)

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
        measures=("revenue_cents",),
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
        measures=("orders",),
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
        measures=("revenue_cents", "orders"),
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
        measures=("kwh_sold",),
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
        measures=("completed_kwh",),
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
        measures=("completed_count",),
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
        measures=("labor_hours",),
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
        measures=("closed_count",),
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
        measures=("closed_count",),
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
        measures=("closed_value",),
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
        measures=("closed_count",),
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
        measures=("opened_count",),
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
        measures=("opened_count",),
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
        measures=("activity_count",),
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
        measures=("opened_value", "closed_value"),
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
        measures=("opened_weighted", "closed_weighted"),
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
        measures=("opened_count", "closed_count"),
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
        measures=("opened_count", "closed_count"),
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
        measures=("opened_count", "closed_count"),
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
        measures=("invoiced_cents",),
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
        measures=("collected_cents",),
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
        measures=("unbilled_cents",),
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
        measures=("orders_cents", "invoiced_cents"),
    ),
]

METRICS: dict[str, Metric] = {m.key: m for m in (*_REGISTRY, *_LEDGER_METRICS)}


def _check_measures() -> None:
    """Every metric declares measures, and only measures its source has."""
    for metric in METRICS.values():
        known = set(SOURCES[metric.source].measures)
        wanted = {*metric.measures, *metric.record_measures}
        if not metric.measures or not wanted <= known:
            raise ValueError(f"{metric.key}: measures {sorted(wanted - known)} not of its source")


_check_measures()


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


# --- Synonyms ----------------------------------------------------------------------------------

# The words people use for a metric besides its key and label ("sales" and "turnover" are
# revenue), written once, here: the question parser (`ask/vocabulary.py`, docs/ask.md) reads
# them with the keys and labels and keeps no list of its own. Each word names one metric only.
SYNONYMS: MappingProxyType = MappingProxyType(
    {
        "revenue": ("sales", "turnover", "takings", "income", "sold", "sell", "gross sales"),
        "orders": ("number of orders", "order count", "orders placed", "purchases"),
        "average_order_value": (
            "aov",
            "average order",
            "average sale",
            "average order size",
            "avg order value",
        ),
        "kwh_sold": ("energy sold", "storage sold", "capacity sold", "kilowatt hours sold"),
        "kwh_deployed": (
            "kwh",
            "energy installed",
            "kwh installed",
            "energy deployed",
            "capacity installed",
            "storage installed",
            "kilowatt hours",
        ),
        "jobs_completed": (
            "installations",
            "installs",
            "jobs",
            "jobs done",
            "completed jobs",
            "installations completed",
            "jobs finished",
            "installation jobs",
        ),
        "labor_hours": ("labour", "labor", "hours", "hours worked", "labour time"),
        "quotes_won": (
            "wins",
            "deals won",
            "won deals",
            "won quotes",
            "closed quotes",
            "quotes closed",
            "closed deals",
            "deals closed",
            "won",
        ),
        "quotes_lost": ("losses", "lost deals", "deals lost", "lost quotes", "lost"),
        "quotes_won_value": (
            "won value",
            "value won",
            "value of quotes won",
            "value of deals won",
            "value of won quotes",
        ),
        "quote_win_rate": (
            "win rate",
            "conversion rate",
            "close rate",
            "strike rate",
            "hit rate",
            "win ratio",
            "conversion",
            "win percentage",
        ),
        "new_customers": (
            "new clients",
            "new accounts",
            "customer acquisition",
            "customers signed",
        ),
        "warranty_claims": ("claims", "warranty", "warranties", "claims opened", "new claims"),
        "activities": ("activity", "sales activity", "touchpoints"),
        "pipeline_value": ("pipeline", "open pipeline", "pipe", "opportunities", "pipeline total"),
        "weighted_pipeline": ("weighted pipe", "probability weighted pipeline"),
        "active_installations": (
            "active jobs",
            "open jobs",
            "jobs in progress",
            "installations in progress",
            "active installs",
            "ongoing installs",
        ),
        "open_warranty_claims": (
            "open claims",
            "unresolved claims",
            "outstanding claims",
            "open warranty",
        ),
        "customer_count": (
            "customers",
            "clients",
            "customer base",
            "active customers",
            "number of customers",
        ),
        "invoiced_revenue": ("invoiced", "invoices", "billed", "billings", "invoice total"),
        "cash_collected": ("cash", "payments", "collections", "cash received", "receipts"),
        "unbilled_revenue": ("unbilled", "not invoiced", "uninvoiced"),
        "revenue_gap": ("gap", "billing gap", "invoicing gap"),
    }
)


def _check_synonyms() -> None:
    """The registry's word list holds: each synonym names a metric that exists, and no word
    names two metrics (nor another metric's key or label)."""
    owner: dict[str, str] = {}
    for metric in METRICS.values():
        for word in (metric.key.replace("_", " "), metric.label.lower()):
            owner.setdefault(word, metric.key)
    for key, words in SYNONYMS.items():
        if key not in METRICS:
            raise ValueError(f"Synonyms for unknown metric {key!r}")
        for word in words:
            if owner.setdefault(word, key) != key:
                raise ValueError(f"The word {word!r} names both {owner[word]} and {key}")


_check_synonyms()
