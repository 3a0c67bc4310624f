"""Writes that move a number: mark their local days dirty, bump the cache version and queue a
debounced refresh, all tied to the writer's transaction.

Which models move which source, and through which timestamps, comes from the source
definitions (metrics.definitions): a source's own model by its `timestamps`, and its
`dependents` (an order's items move the order's day) through the record they belong to.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Organization
from infra import replica
from metrics.cache import note_write
from metrics.definitions import LEDGER, SOURCES, Source
from metrics.refresh import mark_dirty
from metrics.tasks import schedule_refresh, schedule_statistics_recompute
from xero.signals import ledger_changed

_tz_cache: dict[int, zoneinfo.ZoneInfo] = {}


def _tracked() -> dict[type, Source]:
    return {apps.get_model(s.model): s for s in SOURCES.values()}


def _dependents() -> dict[type, tuple[Source, str]]:
    return {
        apps.get_model(label): (s, path)
        for s in SOURCES.values()
        for label, path in s.dependents.items()
    }


def _related() -> dict[type, list[tuple[Source, str, tuple[str, ...]]]]:
    out: dict[type, list[tuple[Source, str, tuple[str, ...]]]] = {}
    for s in SOURCES.values():
        for label, (path, fields) in s.related.items():
            out.setdefault(apps.get_model(label), []).append((s, path, fields))
    return out


TRACKED = _tracked()
DEPENDENTS = _dependents()
RELATED = _related()


def _tz(org_id: int) -> zoneinfo.ZoneInfo:
    if org_id not in _tz_cache:
        _tz_cache[org_id] = zoneinfo.ZoneInfo(
            Organization.objects.values_list("timezone", flat=True).get(pk=org_id)
        )
    return _tz_cache[org_id]


def _days(values: dict, fields, tz) -> set:
    return {values[f].astimezone(tz).date() for f in fields if values.get(f)}


def _after_commit(org_id: int, source: Source, days: set, measures=None) -> None:
    today = timezone.now().astimezone(_tz(org_id)).date()
    moved, totals = measures if measures is not None else (None, None)
    note_write(org_id, source.name, days, today, moved, totals)
    if replica.configured():
        replica.note_write(org_id)  # history reads wait for the replica to pass this write
    if getattr(settings, "DASHBOARD_REFRESH_ON_WRITE", True):
        schedule_refresh([grain.summary for grain in source.grains])


def _followers(source: Source) -> list[Source]:
    return [s for s in SOURCES.values() if source.name in s.follows]


def note_change(
    org_id: int, source: Source, days: set, *, followers_only: bool = False, measures=None
) -> None:
    """A write moved these days of a source (and of the sources following it): `measures`
    (moved_measures' pair) says which of its measures' sums moved, None: any of them."""
    for moved in ([] if followers_only else [source]) + _followers(source):
        # Every grain's summary holds the record's rows (sales: by order and by category).
        for grain in moved.grains:
            mark_dirty(org_id, grain.summary, days)
        # (a follower's own rows are another view's: it takes the whole change)
        what = measures if moved is source else None
        transaction.on_commit(partial(_after_commit, org_id, moved, days, what))
    if source.has_owner and not followers_only:
        # Past days may already be in the nightly per-user table: recompute them there too
        # (queued in this transaction, through the outbox).
        today = timezone.now().astimezone(_tz(org_id)).date()
        past = {day for day in days if day < today}
        if past:
            schedule_statistics_recompute(org_id, past)


@receiver(ledger_changed)
def record_ledger_change(sender, organization_id, days, **kwargs):
    """A Xero sync or matching moved the ledger's rows on these local days."""
    note_change(organization_id, LEDGER, set(days))


@receiver(pre_save)
def remember_old_dimensions(sender, instance, **kwargs):
    related = RELATED.get(sender)
    if related is None or instance.pk is None:
        return
    fields = {f for _, _, names in related for f in names}
    instance._metrics_old_dims = (
        sender._default_manager.filter(pk=instance.pk).values(*fields).first()
    )


def _moved_related(sender, instance) -> None:
    """A related row's dimension changed: every record reaching it moves its days."""
    old = getattr(instance, "_metrics_old_dims", None)
    if not old:
        return  # a new row: no record reaches it yet
    for source, path, fields in RELATED[sender]:
        if all(old[f] == getattr(instance, f) for f in fields):
            continue
        records = apps.get_model(source.model)._default_manager.filter(
            organization_id=instance.organization_id, **{path: instance.pk}
        )
        tz = _tz(instance.organization_id)
        days: set = set()
        for stamps in records.values(*source.timestamps).distinct():
            days |= _days(stamps, source.timestamps, tz)
        note_change(instance.organization_id, source, days)


def _event_rows(source: Source, org_id: int, record_id) -> list[tuple]:
    """The record's rows in the source's event view, as comparable tuples (column, value)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {source.events} WHERE organization_id = %s AND record_id = %s",  # noqa: S608 - our own view name
            [org_id, record_id],
        )
        names = [c.name for c in cursor.description]
        return sorted((tuple(zip(names, row, strict=True)) for row in cursor.fetchall()), key=repr)


def _grain_rows(source: Source, org_id: int, record_id) -> list[list[tuple]]:
    """The record's rows in each grain's event view (sales: by order, and by category)."""
    return [_event_rows(grain, org_id, record_id) for grain in source.grains]


def moved_measures(source: Source, before: list[list[tuple]], after: list[list[tuple]], tz):
    """({measure: the local days its sums moved}, {measure: the days its whole-organisation
    sums moved}) between the record's rows before and after a write (each grain's). A measure
    moved where a row carrying it (non-zero) appeared, vanished or changed any column (its
    instant, a dimension, its value); its totals only where such a row appeared, vanished,
    moved in time or changed its value (read on the source's own grain, which whole reads
    use). A row carrying zero adds nothing to any sum of it, whatever its dimensions."""
    measures = set(source.measures)
    moved: dict[str, set] = {}
    totals: dict[str, set] = {}
    for grain, (rows_b, rows_a) in enumerate(zip(before, after, strict=True)):
        if rows_b == rows_a:
            continue
        for measure in source.measures:

            def carrying(rows, measure=measure, whole=False):
                return Counter(
                    tuple(
                        kv
                        for kv in row
                        if kv[0] == measure
                        or (not whole and kv[0] not in measures)
                        or kv[0] == "ts"
                    )
                    for row in rows
                    if dict(row)[measure]
                )

            for whole, out in ((False, moved), (True, totals)):
                if whole and grain:
                    continue
                was, now = carrying(rows_b, whole=whole), carrying(rows_a, whole=whole)
                changed = (was - now) + (now - was)
                days = {dict(row)["ts"].astimezone(tz).date() for row in changed}
                if days:
                    out.setdefault(measure, set()).update(days)
    return moved, totals


def moved_dimensions(source: Source, before: list[tuple], after: list[tuple]) -> set | None:
    """The live dimensions a write moved when it moved nothing else of the record's event rows
    (the same rows, instants, measures and summary dimensions): empty when it moved nothing
    at all; None when it moved more."""
    if before == after:
        return set()
    if len(before) != len(after):
        return None
    live = set(source.live_dims)

    def paired(rows):
        # Each row as (what a summary or a sum reads, the row): rows pair up by the former.
        return sorted(
            ((tuple(kv for kv in row if kv[0] not in live), row) for row in rows), key=repr
        )

    moved: set = set()
    for (rest_b, row_b), (rest_a, row_a) in zip(paired(before), paired(after), strict=True):
        if rest_b != rest_a:
            return None
        moved |= {k for (k, v), (_, w) in zip(row_b, row_a, strict=True) if v != w}
    return moved


def note_dimensions(org_id: int, source: Source, dims: set, days: set) -> None:
    """A write moved only these live dimensions of the source's rows on these days: no
    summary row changed, so no day is dirty; the values sliced by them are dropped through
    their per-dimension versions, and sources reading this one's events get the whole change
    (their own rows may carry other columns)."""
    for dim in sorted(dims):
        transaction.on_commit(
            partial(note_write, org_id, source.dimension_part(dim), days, _today(org_id))
        )
    note_change(org_id, source, days, followers_only=True)


def _today(org_id: int):
    return timezone.now().astimezone(_tz(org_id)).date()


@receiver(pre_save)
def remember_old_days(sender, instance, **kwargs):
    source = TRACKED.get(sender)
    if source is None:
        return
    # Tricky: a follower's view mixes other records' rows under one record_id (the ledger's
    # orders and credit notes beside its invoices), so its writes take the whole change.
    compare = not source.follows
    if compare:
        # Its event rows as they were (none for a new record): a write that moves only live
        # dimensions, or only some measures, drops less.
        instance._metrics_old_rows = [[] for _ in source.grains]
    if instance.pk is None:
        return
    instance._metrics_old = (
        sender._default_manager.filter(pk=instance.pk).values(*source.timestamps).first()
    )
    if instance._metrics_old and compare:
        instance._metrics_old_rows = _grain_rows(source, instance.organization_id, instance.pk)


@receiver(post_save)
@receiver(post_delete)
def record_change(sender, instance, **kwargs):
    if sender in RELATED and kwargs.get("signal") is post_save:
        _moved_related(sender, instance)
    dependent = DEPENDENTS.get(sender)
    if dependent is not None:
        source, path = dependent
        record_model = apps.get_model(source.model)
        record = (
            record_model._default_manager.filter(pk=getattr(instance, f"{path}_id"))
            .values(*source.timestamps, "organization_id")
            .first()
        )
        if record:
            tz = _tz(record["organization_id"])
            note_change(record["organization_id"], source, _days(record, source.timestamps, tz))
        return
    source = TRACKED.get(sender)
    if source is None:
        return
    tz = _tz(instance.organization_id)
    days = _days({f: getattr(instance, f, None) for f in source.timestamps}, source.timestamps, tz)
    old = getattr(instance, "_metrics_old", None)
    if old:
        days |= _days(old, source.timestamps, tz)
    before = getattr(instance, "_metrics_old_rows", None)
    measures = None
    if before is not None and kwargs.get("signal") is post_save:
        instance._metrics_old_rows = None
        after = _grain_rows(source, instance.organization_id, instance.pk)
        if before == after:
            return  # nothing a number reads moved
        dims = moved_dimensions(source, before[0], after[0]) if source.live_dims else None
        if dims:
            note_dimensions(instance.organization_id, source, dims, days)
            return  # only live dimensions moved
        # Tricky: rows that changed carrying no measure at all move no sum, but say so
        # through every measure (None) rather than through none.
        moved, totals = moved_measures(source, before, after, tz)
        measures = (moved, totals) if moved else None
    note_change(instance.organization_id, source, days, measures=measures)
