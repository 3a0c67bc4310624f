"""Writes to alert rules from the screens, the API and mailed snooze links."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from alerts.models import AlertRule

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
