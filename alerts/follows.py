"""Following a metric from its card (docs/digests.md, "Follow").

A follow is (user, metric, filters). The filters are the card's canonical filter state: the
validated (param, value) pairs of `DashboardState.filters` (metrics.filters.parse_filters, in
FILTERS order), stored as an object, so the card, the dashboard URL and the metric cache agree
on what "the same card" is. The range is not part of a follow: a digest reads its own period.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import Role
from accounts.permissions import sees_own_rows_only
from metrics.definitions import METRICS
from metrics.filters import FILTERS, InvalidFilter, describe, parse_filters
from presentation.layouts import user_layout

# A technician's own work: the jobs they completed and the kWh those jobs deployed, read in
# their own scope (metrics.scope) like every number they see.
TECHNICIAN_FOLLOWS = ("jobs_completed", "kwh_deployed")


class InvalidFollow(ValueError):
    """A follow that cannot be made; the message says why."""


def canonical_filters(params, organization, *, strict: bool = False) -> dict[str, str]:
    """The filters in query parameters (or, `strict`, a JSON object holding nothing else),
    validated and in canonical order; raises InvalidFollow."""
    if strict:
        unknown = sorted(str(k) for k in params if k not in FILTERS)
        if unknown:
            accepted = ", ".join(FILTERS)
            raise InvalidFollow(f"Unknown filter {unknown[0][:40]!r}. Accepted: {accepted}")
        params = {k: str(v) for k, v in params.items()}
    try:
        return dict(parse_filters(params, organization))
    except InvalidFilter as exc:
        raise InvalidFollow(str(exc)) from None


def check_scope(user, filters: dict[str, str]) -> dict[str, str]:
    """`filters`, unless they name another person to a user who sees their own rows only (a
    technician: accounts.permissions); raises InvalidFollow, as the ask API refuses it."""
    owner = filters.get("owner")
    if sees_own_rows_only(user) and owner is not None and owner != str(user.pk):
        raise InvalidFollow("You see your own figures only, not another person's")
    return filters


def check_metric(key) -> str:
    if not isinstance(key, str) or key not in METRICS:
        shown = str(key)[:40]
        raise InvalidFollow(f"Unknown metric {shown!r}. Accepted: {', '.join(METRICS)}")
    return key


def filters_text(filters: dict, owners: dict[str, str] | None = None) -> str:
    """ "Customer state: NSW · Product category: Battery", or "" without filters."""
    return " · ".join(
        f"{FILTERS[p].label}: {FILTERS[p].value_label(v, owners)}"
        for p, v in filters.items()
        if p in FILTERS
    )


def not_filtered_text(filters: dict, metric: str) -> str:
    """Why a followed metric has no number under its filters ("" when they apply)."""
    source = METRICS[metric].source
    cannot = [FILTERS[p] for p in filters if p in FILTERS and not FILTERS[p].applies_to(source)]
    return f"cannot be filtered by {describe(cannot)}" if cannot else ""


def role_default_metrics(user) -> list[str]:
    """What a user follows before choosing: a technician their own jobs and kWh; everyone else
    the KPI cards of their dashboard (an executive's: the executive layout's metrics)."""
    if sees_own_rows_only(user) or user.role == Role.TECHNICIAN:
        return list(TECHNICIAN_FOLLOWS)
    return kpi_metrics(user_layout(user))


def kpi_metrics(widgets: Iterable[dict]) -> list[str]:
    keys = [(w.get("settings") or {}).get("metric") for w in widgets if w.get("type") == "kpi"]
    return [k for k in dict.fromkeys(keys) if k in METRICS]
