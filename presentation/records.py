"""How each list of records reads: its columns, default sort, search fields and the chart
clicks that narrow it, for the drill-down screen, its exports and the PDF reports alike
(docs/architecture.md, section "Presentation vocabulary"). Which rows are in a list is the
metric layer's (metrics.queries.metric_records).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metrics.formatting import format_cell as format_field
from operations.models import (
    ActivityKind,
    ClaimKind,
    ClaimStatus,
    CustomerKind,
    JobStatus,
    OrderStatus,
    ProductCategory,
    Stage,
)


@dataclass(frozen=True)
class Column:
    """One column: `attr` is a dotted path on the row (callables are called)."""

    key: str
    label: str
    attr: str
    kind: str = "text"  # text, record, choice, list, datetime, aud_cents, kwh, hours, percent, int
    order_by: str | None = None  # the ORM path to sort by; None: not sortable
    labels: tuple[tuple[str, str], ...] = ()  # (value, label) of a "list" column's values

    @property
    def numeric(self) -> bool:
        return self.kind in {"aud_cents", "kwh", "hours", "percent", "int"}

    def raw_value(self, obj) -> Any:
        """A choice column's stored value (its attr is get_<field>_display)."""
        return getattr(obj, self.attr.removeprefix("get_").removesuffix("_display"), None)

    def value(self, obj) -> Any:
        value = obj
        for part in self.attr.split("."):
            if value is None:
                return None
            value = getattr(value, part)
            if callable(value):
                value = value()
        return value


@dataclass(frozen=True)
class DrillSet:
    key: str
    noun: str  # plural, for "123 orders"
    columns: tuple[Column, ...]
    default_sort: str  # a column key, "-" prefix for descending
    search_fields: tuple[str, ...]
    admin_url: str
    is_state: bool = False
    related: tuple[str, ...] = ()
    # Narrowing parameters a chart click may add: name -> (metric dimension, accepted values).
    narrowing: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def sort_keys(self) -> dict[str, str]:
        return {c.key: c.order_by for c in self.columns if c.order_by}


def _values(choices) -> tuple[str, ...]:
    return tuple(choices.values)


_CUSTOMER = Column("customer", "Customer", "customer.name", order_by="customer__name")
_JOB_COLUMNS = (
    Column("id", "Job", "pk", "record", "id"),
    _CUSTOMER,
    Column("order", "Order", "order.number", "text", "order__number"),
    Column("technician", "Technician", "technician", "text", "technician__full_name"),
)

DRILL_SETS: dict[str, DrillSet] = {
    s.key: s
    for s in (
        DrillSet(
            "orders",
            "orders",
            (
                Column("number", "Order", "number", "record", "number"),
                _CUSTOMER,
                Column("status", "Status", "get_status_display", "choice", "status"),
                Column("ordered_at", "Ordered", "ordered_at", "datetime", "ordered_at"),
                Column(
                    "category",
                    "Categories",
                    "counted_product_category",
                    "list",
                    labels=tuple(ProductCategory.choices),
                ),
                # What the order adds to kWh sold and revenue in the slice: its items' kWh and
                # its total, or under a product category filter its lines in that category.
                Column("kwh", "kWh", "counted_kwh_sold", "kwh", "counted_kwh_sold"),
                Column(
                    "total", "Total", "counted_revenue_cents", "aud_cents", "counted_revenue_cents"
                ),
            ),
            "-ordered_at",
            ("number", "customer__name"),
            "admin:operations_order_change",
            related=("customer",),
            narrowing={"status": ("status", _values(OrderStatus))},
        ),
        DrillSet(
            "opportunities_closed",
            "opportunities",
            (
                Column("name", "Opportunity", "name", "record", "name"),
                _CUSTOMER,
                Column("stage", "Stage", "get_stage_display", "choice", "stage"),
                Column("owner", "Owner", "owner", "text", "owner__full_name"),
                Column("created_at", "Created", "created_at", "datetime", "created_at"),
                Column("closed_at", "Closed", "closed_at", "datetime", "closed_at"),
                Column("value", "Value", "value_cents", "aud_cents", "value_cents"),
            ),
            "-closed_at",
            ("name", "customer__name"),
            "admin:operations_opportunity_change",
            related=("customer", "owner"),
            narrowing={"stage": ("stage", _values(Stage))},
        ),
        DrillSet(
            "opportunities_open",
            "opportunities",
            (
                Column("name", "Opportunity", "name", "record", "name"),
                _CUSTOMER,
                Column("stage", "Stage now", "get_stage_display", "choice", "stage"),
                Column("owner", "Owner", "owner", "text", "owner__full_name"),
                Column("created_at", "Created", "created_at", "datetime", "created_at"),
                Column("probability", "Probability", "probability", "percent", "probability"),
                Column("value", "Value", "value_cents", "aud_cents", "value_cents"),
                Column("weighted", "Weighted", "weighted_cents", "aud_cents", "weighted_cents"),
            ),
            "-value",
            ("name", "customer__name"),
            "admin:operations_opportunity_change",
            is_state=True,
            related=("customer", "owner"),
            narrowing={"stage": ("stage", _values(Stage))},
        ),
        DrillSet(
            "jobs",
            "jobs",
            (
                *_JOB_COLUMNS,
                Column("completed_at", "Completed", "completed_at", "datetime", "completed_at"),
                Column("kwh", "kWh", "kwh", "kwh", "kwh"),
                Column("labor_hours", "Labour hours", "labor_hours", "hours", "labor_hours"),
            ),
            "-completed_at",
            ("customer__name", "order__number"),
            "admin:operations_installationjob_change",
            related=("customer", "order", "technician"),
            narrowing={"status": ("status", _values(JobStatus))},
        ),
        DrillSet(
            "jobs_active",
            "jobs",
            (
                *_JOB_COLUMNS,
                Column("status", "Status now", "get_status_display", "choice", "status"),
                Column("created_at", "Created", "created_at", "datetime", "created_at"),
                Column("scheduled_for", "Scheduled", "scheduled_for", "datetime", "scheduled_for"),
                Column("kwh", "kWh", "kwh", "kwh", "kwh"),
            ),
            "scheduled_for",
            ("customer__name", "order__number"),
            "admin:operations_installationjob_change",
            is_state=True,
            related=("customer", "order", "technician"),
            narrowing={"status": ("status", _values(JobStatus))},
        ),
        DrillSet(
            "claims",
            "claims",
            (
                Column("id", "Claim", "pk", "record", "id"),
                _CUSTOMER,
                Column("product", "Product", "product.sku", "text", "product__sku"),
                Column("kind", "Kind", "get_kind_display", "choice", "kind"),
                Column("status", "Status", "get_status_display", "choice", "status"),
                Column("opened_at", "Opened", "opened_at", "datetime", "opened_at"),
                Column("resolved_at", "Resolved", "resolved_at", "datetime", "resolved_at"),
                Column("cost", "Cost", "cost_cents", "aud_cents", "cost_cents"),
            ),
            "-opened_at",
            ("customer__name", "product__sku", "product__name"),
            "admin:operations_warrantyclaim_change",
            related=("customer", "product"),
            narrowing={
                "kind": ("kind", _values(ClaimKind)),
                "status": ("status", _values(ClaimStatus)),
            },
        ),
        DrillSet(
            "claims_open",
            "claims",
            (
                Column("id", "Claim", "pk", "record", "id"),
                _CUSTOMER,
                Column("product", "Product", "product.sku", "text", "product__sku"),
                Column("kind", "Kind", "get_kind_display", "choice", "kind"),
                Column("status", "Status now", "get_status_display", "choice", "status"),
                Column("opened_at", "Opened", "opened_at", "datetime", "opened_at"),
                Column("cost", "Cost", "cost_cents", "aud_cents", "cost_cents"),
            ),
            "opened_at",
            ("customer__name", "product__sku", "product__name"),
            "admin:operations_warrantyclaim_change",
            is_state=True,
            related=("customer", "product"),
            narrowing={
                "kind": ("kind", _values(ClaimKind)),
                "status": ("status", _values(ClaimStatus)),
            },
        ),
        DrillSet(
            "customers",
            "customers",
            (
                Column("name", "Customer", "name", "record", "name"),
                Column("kind", "Kind", "get_kind_display", "choice", "kind"),
                Column("state", "State", "state", "text", "state"),
                Column("created_at", "Created", "created_at", "datetime", "created_at"),
                Column("archived_at", "Archived", "archived_at", "datetime", "archived_at"),
            ),
            "-created_at",
            ("name",),
            "admin:operations_customer_change",
            narrowing={"kind": ("customer_kind", _values(CustomerKind))},
        ),
        DrillSet(
            "customers_active",
            "customers",
            (
                Column("name", "Customer", "name", "record", "name"),
                Column("kind", "Kind", "get_kind_display", "choice", "kind"),
                Column("state", "State", "state", "text", "state"),
                Column("created_at", "Created", "created_at", "datetime", "created_at"),
            ),
            "name",
            ("name",),
            "admin:operations_customer_change",
            is_state=True,
            narrowing={"kind": ("customer_kind", _values(CustomerKind))},
        ),
        DrillSet(
            "activities",
            "activities",
            (
                Column("kind", "Kind", "get_kind_display", "choice", "kind"),
                Column("subject", "Subject", "subject", "record", "subject"),
                Column("customer", "Customer", "customer.name", "text", "customer__name"),
                Column("user", "By", "user", "text", "user__full_name"),
                Column("occurred_at", "When", "occurred_at", "datetime", "occurred_at"),
            ),
            "-occurred_at",
            ("subject", "customer__name"),
            "admin:operations_activity_change",
            related=("customer", "user"),
            narrowing={"kind": ("kind", _values(ActivityKind))},
        ),
        # Xero's sales invoices (docs/xero.md): the ledger's invoiced and collected revenue.
        DrillSet(
            "invoices",
            "invoices",
            (
                Column("number", "Invoice", "number", "record", "number"),
                Column("contact", "Contact", "contact_name", "text", "contact_name"),
                Column("reference", "Reference", "reference", "text", "reference"),
                Column("status", "Status", "status", "text", "status"),
                Column("dated_at", "Dated", "dated_at", "datetime", "dated_at"),
                Column("sub_total", "Ex GST", "sub_total_cents", "aud_cents", "sub_total_cents"),
                Column("total", "Total", "total_cents", "aud_cents", "total_cents"),
            ),
            "-dated_at",
            ("number", "reference", "contact_name"),
            "admin:xero_xeroinvoice_change",
        ),
    )
}


def format_cell(column: Column, value, tz) -> str:
    """A cell's text for the screen and the export."""
    if column.kind == "datetime" and value is not None:
        return value.astimezone(tz).strftime("%-d %b %Y %H:%M")
    if column.kind == "list":
        labels = dict(column.labels)
        return ", ".join(labels.get(v, v) for v in value or ())
    return format_field(column.kind, value)
