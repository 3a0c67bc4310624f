"""Writes to alert rules from the screens, the API and mailed snooze links, and to follows and
digest settings (docs/digests.md)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from alerts.models import AlertRule, DigestSettings, Follow
from alerts.queries import follows_key
from infra.contextcache import context_cache

SNOOZE_CHOICES = {
    "1h": dt.timedelta(hours=1),
    "1d": dt.timedelta(days=1),
    "7d": dt.timedelta(days=7),
}
SNOOZE_LABELS = {"1h": "1 hour", "1d": "1 day", "7d": "1 week"}


def do_snooze_rule(rule: AlertRule, until: dt.datetime | None, reason: str = "") -> AlertRule:
    """Snooze until `until` (None: wake it now). Checks go on; notices wait (alerts.evaluate)."""
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
        locked.snoozed_until = until
        locked.snooze_reason = reason.strip()[:200] if until else ""
        locked.save(update_fields=["snoozed_until", "snooze_reason", "updated_at"])
    return locked


def do_toggle_rule(rule: AlertRule) -> AlertRule:
    AlertRule.objects.filter(pk=rule.pk).update(active=not rule.active)
    rule.refresh_from_db()
    return rule


def _digest_settings(user) -> DigestSettings:
    row, _ = DigestSettings.objects.get_or_create(
        user=user, defaults={"organization_id": user.organization_id}
    )
    return row


def _forget_follows(user) -> None:
    """Drop the cached follows of the user's cards (alerts.queries.followed_cards): now and
    once the transaction commits, so no reader caches the rows it replaces."""
    key = follows_key(user.pk)
    context_cache.delete(key)
    transaction.on_commit(lambda: context_cache.delete(key))


def do_follow_metric(user, metric: str, filters: dict) -> tuple[Follow, bool]:
    """Follow `metric` with the card's canonical filters (alerts.follows.canonical_filters);
    (the follow, whether it is new). Following twice is one row (unique per user, metric and
    filters)."""
    with transaction.atomic():
        _digest_settings(user)
        _forget_follows(user)
        return Follow.objects.get_or_create(
            user=user,
            metric=metric,
            filters=filters,
            defaults={"organization_id": user.organization_id},
        )


def do_unfollow_metric(user, metric: str, filters: dict) -> bool:
    """Stop following; whether there was something to stop."""
    deleted, _ = Follow.objects.filter(user=user, metric=metric, filters=filters).delete()
    _forget_follows(user)
    return bool(deleted)


def do_toggle_follow(user, metric: str, filters: dict) -> bool:
    """The card's one click: follow, or unfollow when already following; whether the user
    follows it now."""
    if do_unfollow_metric(user, metric, filters):
        return False
    do_follow_metric(user, metric, filters)
    return True


def do_update_digest_settings(user, **fields) -> DigestSettings:
    """Change the cadence, send time, weekday or timezone of the user's digest."""
    with transaction.atomic():
        row = _digest_settings(user)
        row = DigestSettings.objects.select_for_update().get(pk=row.pk)
        for name, value in fields.items():
            setattr(row, name, value)
        row.save(update_fields=list(fields))
    return row


def do_apply_role_follows(user, metrics: list[str]) -> int:
    """The role's default follows (alerts.follows.role_default_metrics), once per user and
    only when they follow nothing yet; how many were added."""
    with transaction.atomic():
        row = _digest_settings(user)
        row = DigestSettings.objects.select_for_update().get(pk=row.pk)
        if row.defaults_applied:
            return 0
        row.defaults_applied = True
        row.save(update_fields=["defaults_applied"])
        if Follow.objects.filter(user=user).exists():
            return 0
        _forget_follows(user)
        Follow.objects.bulk_create(
            [
                Follow(organization_id=user.organization_id, user=user, metric=m, filters={})
                for m in dict.fromkeys(metrics)
            ],
            ignore_conflicts=True,
        )
    return len(dict.fromkeys(metrics))
