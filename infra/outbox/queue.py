"""Bounded publish and the outbox (see the package docstring)."""

from __future__ import annotations

import datetime as dt
import logging

from celery import current_app
from django.db import transaction
from django.utils import timezone

from infra.breaker import BROKER
from infra.outbox.models import OutboxMessage

log = logging.getLogger("renoz.outbox")

# A row this old is the drain's; younger ones belong to the commit hook still publishing them.
DRAIN_AFTER = dt.timedelta(seconds=10)
DRAIN_BATCH = 200


def publish(task: str, args: list | tuple = (), kwargs: dict | None = None, **options) -> bool:
    """Send one task to the broker within the broker's timeouts: True when it was taken.

    Never raises: a broker that refuses, stalls or is behind an open breaker gives False."""
    if current_app.conf.task_always_eager:
        # Eager (tests, CELERY_TASK_ALWAYS_EAGER): runs here; its errors are its own.
        if task not in current_app.tasks:
            current_app.loader.import_default_modules()  # every app's tasks module
        current_app.tasks[task].apply_async(args=list(args), kwargs=kwargs or {}, **options)
        return True
    if not BROKER.allow():
        return False
    try:
        current_app.send_task(task, args=list(args), kwargs=kwargs or {}, retry=False, **options)
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the work in the database
        BROKER.trip(exc)
        log.warning("could not publish %s: %s", task, exc)
        return False
    return True


def enqueue(task: str, *args, **kwargs) -> OutboxMessage:
    """Queue `task(*args, **kwargs)` with the current transaction: published after commit, or
    by the drain if the broker cannot take it then. Never blocks on the broker."""
    message = OutboxMessage.objects.create(task=task, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: _publish_row(message.pk))
    return message


def _publish_row(pk: int) -> None:
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if row is None:  # the drain has it, or published it already
            return
        if publish(row.task, row.args, row.kwargs):
            row.delete()


def drain(now: dt.datetime | None = None, *, older_than: dt.timedelta | None = None) -> dict:
    """Publish the rows the commit hooks could not; stop at the first failure (the broker is
    still away). Returns the counts published and left."""
    cutoff = (now or timezone.now()) - (DRAIN_AFTER if older_than is None else older_than)
    published = 0
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(created_at__lte=cutoff)
            .order_by("id")[:DRAIN_BATCH]
        )
        sent = []
        for row in rows:
            if not publish(row.task, row.args, row.kwargs):
                OutboxMessage.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
                break
            sent.append(row.pk)
        OutboxMessage.objects.filter(pk__in=sent).delete()
        published = len(sent)
    return {"published": published, "left": OutboxMessage.objects.count()}
