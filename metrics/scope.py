"""The scope rule, in one place (docs/architecture.md, "The scope rule").

For a technician, each metric whose source has a technician owner (jobs, activities: a
`Source.technician_field`) is read in their own slice, labelled "Yours"; every other number is
the organisation's. Every reader goes through this module: the KPI cards and charts, the JSON
API (each metric says `"scope": "own"` or `"organization"`), drill-downs and their exports, the
PDF reports, the insights and the personal page. So a number never reads one way on the page
and another way through the API.

Which records a user may open at all (a technician: only those of sources they own) is here
too, as are the querysets of their own jobs and activities that the field view and the feed
list.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.permissions import sees_own_rows_only
from metrics.definitions import METRICS, SOURCES, Metric, Source

OWN = "own"
ORGANIZATION = "organization"


def _source(of: Metric | Source | str) -> Source:
    """The source of a metric, a source, a source name or a metric key."""
    if isinstance(of, Source):
        return of
    if isinstance(of, Metric):
        return SOURCES[of.source]
    if of in SOURCES:
        return SOURCES[of]
    return SOURCES[METRICS[of].source]


@dataclass(frozen=True)
class Scope:
    """Whose rows a number is read in: `owner` (a user id) or None for the organisation."""

    owner: int | None

    @property
    def word(self) -> str:
        """ "own" or "organization", as the JSON API says it."""
        return OWN if self.owner is not None else ORGANIZATION

    @property
    def is_own(self) -> bool:
        return self.owner is not None


def scope_of(user, of: Metric | Source | str) -> Scope:
    """The scope `user` reads a metric (or a source's metrics) in."""
    source = _source(of)
    if user is not None and source.technician_field and sees_own_rows_only(user):
        return Scope(user.pk)
    return Scope(None)


def owner_for(user, of: Metric | Source | str) -> int | None:
    """The owner slice `user` reads a metric (or source) in: their id, or None."""
    return scope_of(user, of).owner


def scope_word(owner: int | None) -> str:
    return Scope(owner).word


def may_see_source(user, source: Source | str) -> bool:
    """Whether the user may open the records of a metric source: a technician only those of
    the sources they own rows of."""
    return not sees_own_rows_only(user) or _source(source).technician_field is not None


def own_rows(qs: QuerySet, user, source: Source | str) -> QuerySet:
    """The records of `source` the user may list: a technician's own, else all of `qs`."""
    owner = owner_for(user, source)
    field = _source(source).technician_field
    return qs if owner is None or field is None else qs.filter(**{field: owner})


def jobs_scope(qs: QuerySet, user) -> QuerySet:
    """Installation jobs the user may see."""
    return own_rows(qs, user, "jobs")


def activities_scope(qs: QuerySet, user) -> QuerySet:
    """Activities the user may see."""
    return own_rows(qs, user, "activities")
