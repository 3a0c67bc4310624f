"""Dashboard filters beyond dates: customer state, customer kind, product category, owner, and
the chart-click filters (pipeline stage, claim kind).

A filter is a URL parameter (`?state=QLD&category=battery`) naming one value of a metric-layer
dimension (or the rows' owner). It applies to the sources that carry that dimension; a metric of
any other source cannot be narrowed by it, and the screens say so instead of showing an
unfiltered number. Filters travel in DashboardState.filters, so every link keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.cache import USER_CACHE_SECONDS, owners_key
from accounts.models import Role, User
from infra.contextcache import context_cache
from infra.numbers import parse_id
from metrics.definitions import CUSTOMER_DIMS, OWNER, SOURCES, Metric, Source
from operations.models import AustralianState, ClaimKind, CustomerKind, ProductCategory, Stage

Filters = tuple[tuple[str, str], ...]  # (param, value) pairs, in FILTERS order


@dataclass(frozen=True)
class Filter:
    param: str  # the URL parameter
    label: str  # "Customer state"
    dimension: str  # the metric layer's dimension, or OWNER for the rows' owner
    sources: tuple[str, ...]  # the sources it narrows
    choices: tuple[tuple[str, str], ...] = ()  # (value, label); empty for owners

    def applies_to(self, source: Source | str) -> bool:
        return (source if isinstance(source, str) else source.name) in self.sources

    def value_label(self, value: str, owners: dict[str, str] | None = None) -> str:
        if self.dimension == OWNER:
            return (owners or {}).get(value, f"#{value}")
        return dict(self.choices).get(value, value)


def _with(dimension: str) -> tuple[str, ...]:
    return tuple(name for name, source in SOURCES.items() if dimension in source.dims)


_CUSTOMER_STATE, _CUSTOMER_KIND = CUSTOMER_DIMS

FILTERS: dict[str, Filter] = {
    f.param: f
    for f in (
        Filter(
            "state",
            "Customer state",
            _CUSTOMER_STATE,
            _with(_CUSTOMER_STATE),
            tuple((s.value, s.value) for s in AustralianState),
        ),
        Filter(
            "customer_kind",
            "Customer kind",
            _CUSTOMER_KIND,
            _with(_CUSTOMER_KIND),
            tuple(CustomerKind.choices),
        ),
        Filter(
            "category",
            "Product category",
            "product_category",
            _with("product_category"),
            tuple(ProductCategory.choices),
        ),
        Filter(
            "owner",
            "Owner",
            OWNER,
            tuple(name for name, source in SOURCES.items() if source.has_owner),
        ),
        # Chart clicks: "Filter dashboard by this" on a stage bar or a claim kind.
        Filter("stage", "Pipeline stage", "stage", ("pipeline",), tuple(Stage.choices)),
        Filter("claim_kind", "Claim kind", "kind", ("warranty",), tuple(ClaimKind.choices)),
    )
}
# The filters the dashboard's filter bar offers; the others come from chart clicks.
BAR_FILTERS = ("state", "customer_kind", "category", "owner")
# The JSON API (docs/architecture.md, "JSON API") spells customer kind `kind`; the JSON API accepts that spelling too. (Drill-down
# URLs cannot: there `kind` already narrows claims and activities by their own kind.)
API_ALIASES = {"kind": "customer_kind"}
OWNER_ROLES = (Role.SALES, Role.TECHNICIAN)


class InvalidFilter(ValueError):
    """Bad filter input; the message says what is wrong and what is accepted."""


def owner_choices(organization) -> list[tuple[str, str]]:
    """(id, name) of the people whose rows the owner filter can pick: sales reps, technicians.
    Kept in the request context cache until one of the organisation's users is saved
    (accounts.cache), so a cached dashboard page does not read them."""
    key = owners_key(organization.pk)
    choices = context_cache.get(key)
    if choices is None:
        users = User.objects.filter(
            organization=organization, is_active=True, role__in=OWNER_ROLES
        ).order_by("full_name", "email")
        choices = [(str(u.pk), u.full_name or u.email) for u in users]
        context_cache.set(key, choices, USER_CACHE_SECONDS)
    return choices


def parse_filters(params, organization, *, aliases: bool = False) -> Filters:
    """The filters in query parameters, validated; raises InvalidFilter. An empty value is no
    filter (the filter form sends every field)."""
    raw = {name: params.get(name) for name in FILTERS}
    if aliases:
        for alias, name in API_ALIASES.items():
            if params.get(alias) and not raw.get(name):
                raw[name] = params.get(alias)
    out = []
    for name, spec in FILTERS.items():
        value = (raw.get(name) or "").strip()
        if not value:
            continue
        if spec.dimension == OWNER:
            owner_id = parse_id(value)
            if owner_id is None or not (
                User.objects.filter(organization=organization, pk=owner_id).exists()
            ):
                raise InvalidFilter(
                    f"Unknown owner {value[:40]!r}: give the id of a person in your organisation"
                )
        elif value not in dict(spec.choices):
            accepted = ", ".join(v for v, _ in spec.choices)
            raise InvalidFilter(f"Unknown {name} {value[:40]!r}. Accepted: {accepted}")
        out.append((name, value))
    return tuple(out)


def not_applying(filters: Filters, sources: Iterable[str]) -> list[Filter]:
    """The active filters that cannot narrow rows of these sources."""
    names = set(sources)
    return [
        FILTERS[param]
        for param, _ in filters
        if not all(FILTERS[param].applies_to(source) for source in names)
    ]


def dimension_filters(filters: Filters, source: Source | str) -> dict[str, tuple[str, ...]]:
    """{dimension: (value,)} of the filters that narrow this source (owner excluded)."""
    return {
        FILTERS[param].dimension: (value,)
        for param, value in filters
        if FILTERS[param].dimension != OWNER and FILTERS[param].applies_to(source)
    }


# The ORM path from a source's record (its model) to each dimension that is not a field of
# the record itself, for lists that show records rather than numbers (the activity feed, a
# technician's jobs).
_RECORD_PATHS = {
    _CUSTOMER_STATE: "customer__state",
    _CUSTOMER_KIND: "customer__kind",
    "product_category": "product__category",
}


def record_lookups(filters: Filters, source: Source | str) -> tuple[dict[str, str], list[Filter]]:
    """ORM lookups narrowing `source`'s records by the filters, and the filters that cannot
    narrow them (so a list says "not filtered by …" instead of ignoring them silently). The
    owner filter narrows by the record's technician field (activities: who logged it)."""
    src = SOURCES[source] if isinstance(source, str) else source
    lookups: dict[str, str] = {}
    missing: list[Filter] = []
    for param, value in filters:
        spec = FILTERS[param]
        if spec.dimension == OWNER:
            path = src.technician_field
        else:
            path = _RECORD_PATHS.get(spec.dimension, spec.dimension)
        if (
            not spec.applies_to(src)
            or path is None
            or (src.split and spec.dimension in src.split.summary_dims)
        ):
            missing.append(spec)
        else:
            lookups[path] = value
    return lookups, missing


def owner_filter(filters: Filters) -> int | None:
    """The owner a filter picks, or None."""
    return next((int(value) for param, value in filters if param == "owner"), None)


def applies_to_metric(filters: Filters, metric: Metric) -> bool:
    return not not_applying(filters, [metric.source])


def describe(filters: Iterable[Filter]) -> str:
    """'product category and owner' for a "cannot be filtered by" note."""
    labels = [f.label.lower() for f in filters]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def slice_args(filters: Filters, source: Source | str, owner: int | None = None) -> dict | None:
    """Keyword arguments (owner, filters) for a metric-layer read of `source` narrowed by the
    dashboard filters, or None when one of them cannot narrow it. A given `owner` (a
    technician's own rows) wins over an owner filter."""
    if not_applying(filters, [source if isinstance(source, str) else source.name]):
        return None
    return {
        "owner": owner if owner is not None else owner_filter(filters),
        "filters": dimension_filters(filters, source) or None,
    }
