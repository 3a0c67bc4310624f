"""The metric registry: every metric of DESIGN.md §3, defined once.

A metric names its source, how its value comes from that source's summed measures, its unit,
whether up is good, and where it drills to. Range metrics add up over the days of a range;
ratios are ratios of sums; state metrics are read at an instant from cumulative
opened-minus-closed sums.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from renoz.operations.models import Stage

UNITS = ("aud_cents", "kwh", "count", "ratio", "hours")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    up_is_good: bool
    kind: str  # "range" (sums over days), "ratio" (ratio of range sums) or "state" (at an instant)
    source: str
    compute: Callable  # (total: Callable[[measure, **dims], number]) -> value or None
    drill: str
    description: str

    @property
    def is_state(self) -> bool:
        return self.kind == "state"


def _ratio(numerator, denominator) -> float | None:
    if not denominator:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def _kwh(value) -> float:
    return float(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _cents_from_weighted(value) -> int:
    return int((Decimal(value) / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


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
        "Order totals (ex GST), confirmed or fulfilled, by order date",
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
    ),
    Metric(
        "average_order_value",
        "Average order value",
        "aud_cents",
        True,
        "ratio",
        "sales",
        lambda t: (
            None
            if not t("orders")
            else int(
                (Decimal(t("revenue_cents")) / t("orders")).quantize(
                    Decimal("1"), rounding=ROUND_HALF_UP
                )
            )
        ),
        "orders",
        "Revenue divided by orders",
    ),
    Metric(
        "kwh_deployed",
        "kWh deployed",
        "kwh",
        True,
        "range",
        "jobs",
        lambda t: _kwh(t("completed_kwh")),
        "jobs",
        "kWh of installation jobs completed, by completion date",
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
    ),
    Metric(
        "labor_hours",
        "Labour hours",
        "hours",
        True,
        "range",
        "jobs",
        lambda t: _kwh(t("labor_hours")),
        "jobs",
        "Labour hours of jobs completed, by completion date",
    ),
    Metric(
        "quotes_won",
        "Quotes won",
        "count",
        True,
        "range",
        "pipeline",
        lambda t: int(t("closed_count", stage=Stage.WON)),
        "opportunities_closed",
        "Opportunities closed won, by close date",
    ),
    Metric(
        "quotes_lost",
        "Quotes lost",
        "count",
        False,
        "range",
        "pipeline",
        lambda t: int(t("closed_count", stage=Stage.LOST)),
        "opportunities_closed",
        "Opportunities closed lost, by close date",
    ),
    Metric(
        "quote_win_rate",
        "Quote win rate",
        "ratio",
        True,
        "ratio",
        "pipeline",
        lambda t: _ratio(
            t("closed_count", stage=Stage.WON), t("closed_count", stage=[Stage.WON, Stage.LOST])
        ),
        "opportunities_closed",
        "Won / (won + lost), by close date",
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

METRICS: dict[str, Metric] = {m.key: m for m in _REGISTRY}


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
