"""Sending the outbox, each notification once (docs/alerts.md, "Exactly once").

A sender claims a batch of due rows with `SELECT … FOR UPDATE SKIP LOCKED` and marks them
`sending` (attempt + 1) in the same short transaction, so racing senders never take the same
row. It then sends each one and marks it `sent` in the statement right after the receiver's
answer (the SMTP server's 250, the webhook's 2xx), only if its own claim still holds.

The one window left: the receiver has accepted (its answer is on the wire) and the sender
dies before that UPDATE commits: one reply and one small UPDATE, about a millisecond locally.
A row left `sending` past ALERTS_SENDING_TIMEOUT is taken over, counted in
`uncertain_resends`, and sent again with the same Message-ID or Idempotency-Key, which the
receiver uses to drop the duplicate. A failure retries with backoff (1, 2, 4 … ×
ALERTS_RETRY_BASE_SECONDS) up to ALERTS_MAX_ATTEMPTS, then the row is `failed` with its error.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts import content as alert_content
from alerts.mail import build_digest_message, build_message
from alerts.models import AlertEvent, Channel, Delivery, Digest, Notification
from alerts.webhooks import WebhookFailed, WebhookRefused, post

log = logging.getLogger("renoz.alerts")
BATCH = 20
MAX_ERROR = 2000


def _who() -> str:
    """Which sender holds a claim ("host:pid"), for operators and the chaos test."""
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempt: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.ALERTS_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0))


@dataclass
class Sent:
    sent: int = 0
    retry: int = 0
    failed: int = 0


def claim(now: dt.datetime, limit: int = BATCH) -> list[Notification]:
    """Take up to `limit` due rows for this sender (pending and due, or left `sending` past
    the timeout by a sender that died)."""
    stale = now - dt.timedelta(seconds=settings.ALERTS_SENDING_TIMEOUT)
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=Delivery.PENDING, next_attempt_at__lte=now)
                | Q(status=Delivery.SENDING, claimed_at__lt=stale)
            )
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not rows:
            return []
        taken_over = [r.pk for r in rows if r.status == Delivery.SENDING]
        Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
            status=Delivery.SENDING, attempts=F("attempts") + 1, claimed_at=now, claimed_by=_who()
        )
        if taken_over:
            Notification.objects.filter(pk__in=taken_over).update(
                uncertain_resends=F("uncertain_resends") + 1
            )
            log.warning("alerts: resending %s after an unrecorded send", taken_over)
    for row in rows:
        row.attempts += 1
        row.status = Delivery.SENDING
    return rows


def _ours(row: Notification):
    return Notification.objects.filter(pk=row.pk, status=Delivery.SENDING, attempts=row.attempts)


def _failed(row: Notification, exc: Exception, now: dt.datetime, *, retry: bool) -> str:
    final = not retry or row.attempts >= settings.ALERTS_MAX_ATTEMPTS
    _ours(row).update(
        status=Delivery.FAILED if final else Delivery.PENDING,
        error=f"Attempt {row.attempts}: {type(exc).__name__}: {exc}"[:MAX_ERROR],
        next_attempt_at=now if final else now + backoff(row.attempts),
    )
    log.warning("alerts: notification %s %s: %s", row.pk, "failed" if final else "retries", exc)
    return "failed" if final else "retry"


def send_rows(rows: list[Notification], now: dt.datetime) -> Sent:
    result = Sent()
    events = AlertEvent.objects.select_related("rule", "rule__organization").in_bulk(
        {r.event_id for r in rows if r.event_id}
    )
    digests = Digest.objects.in_bulk({r.digest_id for r in rows if r.digest_id})
    # Opened on the first message (a dead mail server fails that row, not the batch).
    mail = get_connection(fail_silently=False)
    try:
        for row in rows:
            if row.digest_id:
                outcome = _send_digest(row, digests[row.digest_id], mail, now)
            else:
                outcome = _send_one(row, events[row.event_id], mail, now)
            setattr(result, outcome, getattr(result, outcome) + 1)
    finally:
        mail.close()
    return result


def _send_digest(row: Notification, digest: Digest, mail, now: dt.datetime) -> str:
    """A digest (alerts.digest) goes by e-mail only, with the same claim and record."""
    try:
        if mail.send_messages([build_digest_message(digest, row.target)]) != 1:
            raise OSError(f"The mail server did not accept the message to {row.target}")
    except Exception as exc:  # noqa: BLE001 - SMTP and network errors retry
        return _failed(row, exc, now, retry=True)
    _ours(row).update(status=Delivery.SENT, sent_at=timezone.now(), error="")
    return "sent"


def _send_one(row: Notification, event, mail, now: dt.datetime) -> str:
    content = alert_content.build(event)
    try:
        if row.channel == Channel.EMAIL:
            if mail.send_messages([build_message(content, row.target)]) != 1:
                raise OSError(f"The mail server did not accept the message to {row.target}")
        else:
            key = alert_content.idempotency_key(event.pk, row.target)
            post(
                row.target,
                alert_content.webhook_payload(content, key),
                secret=event.rule.webhook_secret,
                key=key,
            )
    except WebhookRefused as exc:
        return _failed(row, exc, now, retry=False)
    except WebhookFailed as exc:
        return _failed(row, exc, now, retry=exc.retry)
    except Exception as exc:  # noqa: BLE001 - SMTP and network errors retry
        return _failed(row, exc, now, retry=True)
    # In the same breath as the receiver's answer: record that it has it.
    _ours(row).update(status=Delivery.SENT, sent_at=timezone.now(), error="")
    return "sent"


def deliver(now: dt.datetime | None = None, *, limit: int | None = None) -> Sent:
    """Send every due notification, a batch at a time; what happened."""
    now = now or timezone.now()
    total = Sent()
    while True:
        rows = claim(now)
        if not rows:
            return total
        done = send_rows(rows, now)
        total.sent += done.sent
        total.retry += done.retry
        total.failed += done.failed
        if limit is not None and total.sent + total.retry + total.failed >= limit:
            return total
