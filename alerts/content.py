"""What a notification says, for mail and webhooks alike: the number, the line, the range and
comparison, and links to the dashboard state, the drill-down, the rule's history and snoozing
(docs/alerts.md, "Notifications")."""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from alerts.conditions import line_words, value_words
from alerts.models import AlertEvent, AlertRule, Kind, Notice
from alerts.readings import rule_params
from metrics.definitions import METRICS
from metrics.periods import PRESETS, comparison_name
from presentation.wording import exact_time

SNOOZE_SALT = "alerts.snooze"
SNOOZE_MAX_AGE = 14 * 24 * 3600  # a mailed snooze link works for two weeks
HEADLINES: dict[str, str] = {
    Notice.FIRED: "Firing",
    Notice.RESOLVED: "Resolved",
    Notice.FLAPPING: "Flapping",
}


def snooze_token(rule_id: int, recipient: str) -> str:
    return signing.dumps({"r": rule_id, "e": recipient.strip().lower()}, salt=SNOOZE_SALT)


def read_snooze_token(token: str) -> tuple[int, str]:
    """(rule id, address); raises signing.BadSignature (or SignatureExpired)."""
    data = signing.loads(token, salt=SNOOZE_SALT, max_age=SNOOZE_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        raise signing.BadSignature("Malformed snooze token")
    return data["r"], str(data.get("e", ""))


def message_id(event_id: int, recipient: str, kind: str = "alert") -> str:
    """<alert-12.ab12cd34ef@renoz.example> (a digest's: <digest-…>): the same on every attempt,
    so a resend can be dropped by the receiving server."""
    who = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:10]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "renoz.example"
    return f"<{kind}-{event_id}.{who}@{domain}>"


def idempotency_key(event_id: int, target: str) -> str:
    return f"alert-{event_id}-" + hashlib.sha256(target.encode()).hexdigest()[:12]


@dataclass
class Content:
    subject: str
    headline: str
    rule: AlertRule
    event: AlertEvent
    value: str
    line: str
    period: str
    explanation: str
    dashboard_url: str
    drill_url: str
    rule_url: str
    checked: str = ""

    def snooze_url(self, recipient: str) -> str:
        token = snooze_token(self.rule.pk, recipient)
        return settings.SITE_URL + reverse("alerts-snooze-link", args=[token])


def build(event: AlertEvent) -> Content:
    rule = event.rule
    headline = HEADLINES.get(event.notice, event.notice.title())
    series = f" ({event.series})" if event.series else ""
    value = value_words(rule, event.value, event.value_text)
    line = line_words(rule)
    site = settings.SITE_URL
    query = rule_params(rule).urlencode()
    if rule.kind == Kind.SYSTEM:
        what = rule.name
        period = ""
        dashboard_url = f"{site}/dashboard/"
        drill_url = ""
        value = event.value_text or value
    else:
        metric = METRICS[rule.metric]
        what = metric.label
        compare = comparison_name(rule.compare)
        period = PRESETS.get(rule.range_preset, rule.range_preset)
        if rule.condition in ("change_up_pct", "change_down_pct") and compare:
            period += f", vs {compare}"
        dashboard_url = f"{site}/dashboard/?{query}"
        drill_url = f"{site}/dashboard/drill/{rule.metric}/?{query}"
    explanations: dict[str, str] = {
        Notice.FIRED: f"{what}{series} is {value}: the rule fires when it is {line}.",
        Notice.RESOLVED: f"{what}{series} is back at {value}; the rule fires when it is {line}.",
        Notice.FLAPPING: (
            f"{what}{series} has crossed the line many times in its last checks. "
            "You will hear nothing more until it settles."
        ),
    }
    explanation = explanations.get(event.notice, "")
    subject = f"[{headline}] {rule.name}: {what}{series} {value}"
    return Content(
        subject=subject[:200],
        headline=headline,
        rule=rule,
        event=event,
        value=value,
        line=line,
        period=period,
        explanation=explanation,
        dashboard_url=dashboard_url,
        drill_url=drill_url,
        rule_url=site + reverse("alerts-detail", args=[rule.pk]),
        checked=exact_time(event.at, zoneinfo.ZoneInfo(rule.organization.timezone), zone=True),
    )


def webhook_payload(content: Content, key: str) -> dict:
    rule, event = content.rule, content.event
    return {
        "id": key,
        "notice": event.notice,
        "organization": rule.organization.name,
        "rule": {
            "id": rule.pk,
            "name": rule.name,
            **rule.definition(),
        },
        "event": {
            "seq": event.seq,
            "series": event.series,
            "from": event.from_state,
            "to": event.to_state,
            "at": event.at.isoformat(),
            "value": event.value,
            "value_text": event.value_text,
        },
        "text": content.explanation,
        "links": {
            "dashboard": content.dashboard_url,
            "drill": content.drill_url or None,
            "rule": content.rule_url,
        },
    }
