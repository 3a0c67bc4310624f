"""Reads for the screens and the API: which rules a user sees, and a rule's history."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.permissions import is_admin
from accounts.tenancy import scoped
from alerts.models import AlertEvent, AlertRule, AlertState, DigestSettings, Follow, Kind
from infra.contextcache import context_cache

HISTORY_LIMIT = 200


def rules_for(user) -> QuerySet[AlertRule]:
    """An admin sees every rule of the organisation (system ones too); anyone else their own."""
    qs = scoped(AlertRule, user).select_related("owner")
    if not is_admin(user):
        qs = qs.filter(owner=user, kind=Kind.METRIC)
    return qs.order_by("kind", "name", "pk")


def rule_for(user, pk) -> AlertRule:
    """One rule the user may see and change, else 404 (another organisation's, or a
    colleague's own rule)."""
    try:
        return rules_for(user).select_related("organization").get(pk=pk)
    except (AlertRule.DoesNotExist, ValueError, TypeError):
        raise Http404("No such alert") from None


def states_of(rules) -> dict[int, list[AlertState]]:
    out: dict[int, list[AlertState]] = {}
    for state in AlertState.objects.filter(rule__in=rules).order_by("series"):
        out.setdefault(state.rule_id, []).append(state)
    return out


def history(rule: AlertRule, limit: int = HISTORY_LIMIT) -> list[AlertEvent]:
    return list(rule.events.prefetch_related("notifications").order_by("-seq")[:limit])


def event_json(event: AlertEvent, tz=None) -> dict:
    """An event as the API lists it; times in the organisation's timezone."""
    return {
        "seq": event.seq,
        "series": event.series,
        "from": event.from_state,
        "to": event.to_state,
        "notice": event.notice or None,
        "value": event.value,
        "value_text": event.value_text,
        "threshold": event.threshold,
        "suppressed": event.suppressed or None,
        "at": event.at.astimezone(tz).isoformat() if tz else event.at.isoformat(),
    }


def rule_json(rule: AlertRule, states: list[AlertState] | None = None) -> dict:
    states = states or []
    main = states[0] if states else None
    return {
        "id": rule.pk,
        "name": rule.name,
        "kind": rule.kind,
        "owner": rule.owner_id,
        **rule.definition(),
        "pending_checks": rule.pending_checks,
        "recipients": rule.recipients,
        "webhook_url": rule.webhook_url or None,
        "active": rule.active,
        "snoozed_until": rule.snoozed_until.isoformat() if rule.snoozed_until else None,
        "snooze_reason": rule.snooze_reason or None,
        "state": main.state if main else "ok",
        "value": main.value if main else None,
        "last_checked_at": (
            main.last_checked_at.isoformat() if main and main.last_checked_at else None
        ),
        "series": {s.series: s.state for s in states} if rule.kind == Kind.SYSTEM else None,
    }


def follow_of(user, pk) -> Follow | None:
    """One of the user's own follows, or None (someone else's, or no such id)."""
    try:
        return scoped(Follow, user).filter(user=user, pk=int(pk)).first()
    except (ValueError, TypeError):
        return None


def follows_of(user) -> list[Follow]:
    """The user's follows, oldest first (their organisation's only)."""
    return list(scoped(Follow, user).filter(user=user).order_by("created_at", "pk"))


FOLLOWS_CACHE_SECONDS = 24 * 3600


def follows_key(user_id: int) -> str:
    return f"follows:{user_id}"


def followed_cards(user) -> set[tuple[str, tuple]]:
    """{(metric, filter pairs)} the user follows, to mark the cards of a page: kept with the
    request context in Redis (infra.contextcache) so a cached page reads no more statements;
    alerts.actions forgets it on every change."""
    cached = context_cache.get(follows_key(user.pk))
    if cached is None:
        rows = scoped(Follow, user).filter(user=user).values_list("metric", "filters")
        cached = [(metric, tuple(sorted((filters or {}).items()))) for metric, filters in rows]
        context_cache.set(follows_key(user.pk), cached, FOLLOWS_CACHE_SECONDS)
    return {(metric, tuple(tuple(p) for p in pairs)) for metric, pairs in cached}


def follow_json(follow: Follow) -> dict:
    return {
        "id": follow.pk,
        "metric": follow.metric,
        "filters": follow.filters,
        "created_at": follow.created_at.isoformat(),
    }


def digest_settings_of(user) -> DigestSettings:
    """The user's digest settings (unsaved defaults when they have none yet)."""
    row = DigestSettings.objects.filter(user=user).select_related("organization").first()
    return row or DigestSettings(user=user, organization=user.organization)
