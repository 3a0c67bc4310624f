"""Writes that move a number: mark their local days dirty, bump the cache version and queue a
debounced refresh, all tied to the writer's transaction."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from dashboard.refresh import mark_dirty
from dashboard.sources import SOURCE_BY_VIEW
from renoz.accounts.models import Organization
from renoz.operations.models import (
    Activity,
    Customer,
    InstallationJob,
    Opportunity,
    Order,
    OrderItem,
    WarrantyClaim,
)

# model -> (view, the timestamp fields whose local days the view groups by)
TRACKED = {
    Order: ("mv_daily_metrics", ("ordered_at",)),
    Opportunity: ("mv_daily_pipeline", ("created_at", "closed_at")),
    InstallationJob: ("mv_daily_jobs", ("created_at", "completed_at", "cancelled_at")),
    WarrantyClaim: ("mv_daily_warranty", ("opened_at", "resolved_at")),
    Customer: ("mv_daily_customers", ("created_at", "archived_at")),
    Activity: ("mv_daily_activities", ("occurred_at",)),
}
_tz_cache: dict[int, zoneinfo.ZoneInfo] = {}


def _tz(org_id: int) -> zoneinfo.ZoneInfo:
    if org_id not in _tz_cache:
        _tz_cache[org_id] = zoneinfo.ZoneInfo(
            Organization.objects.values_list("timezone", flat=True).get(pk=org_id)
        )
    return _tz_cache[org_id]


def _days(instance, fields, tz) -> set:
    return {
        getattr(instance, f).astimezone(tz).date() for f in fields if getattr(instance, f, None)
    }


def _after_commit(org_id: int, views: list[str]) -> None:
    from dashboard.cache import bump_data_version
    from dashboard.tasks import schedule_refresh

    bump_data_version(org_id, [SOURCE_BY_VIEW[v].name for v in views if v in SOURCE_BY_VIEW])
    if getattr(settings, "DASHBOARD_REFRESH_ON_WRITE", True):
        schedule_refresh(views)


def note_change(org_id: int, view: str, days: set) -> None:
    mark_dirty(org_id, view, days)
    transaction.on_commit(lambda: _after_commit(org_id, [view, "mv_current_state"]))


@receiver(pre_save)
def remember_old_days(sender, instance, **kwargs):
    tracked = TRACKED.get(sender)
    if tracked is None or instance.pk is None:
        return
    old = (
        sender._default_manager.filter(pk=instance.pk)
        .values(*tracked[1], "organization_id")
        .first()
    )
    instance._dashboard_old = old


@receiver(post_save)
@receiver(post_delete)
def record_change(sender, instance, **kwargs):
    if sender is OrderItem:
        # Items change an order's kWh: its order's day is dirty.
        order = (
            Order.objects.filter(pk=instance.order_id)
            .values("ordered_at", "organization_id")
            .first()
        )
        if order:
            tz = _tz(order["organization_id"])
            note_change(
                order["organization_id"],
                "mv_daily_metrics",
                {order["ordered_at"].astimezone(tz).date()},
            )
        return
    tracked = TRACKED.get(sender)
    if tracked is None:
        return
    view, fields = tracked
    tz = _tz(instance.organization_id)
    days = _days(instance, fields, tz)
    old = getattr(instance, "_dashboard_old", None)
    if old:
        days |= {old[f].astimezone(tz).date() for f in fields if old.get(f)}
    note_change(instance.organization_id, view, days)
