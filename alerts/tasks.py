"""Thin Celery entry point: beat's alert check every 5 minutes, on its own queue."""

from __future__ import annotations

import logging

from celery import shared_task

from alerts import delivery, digest, evaluate

log = logging.getLogger("renoz.alerts.tasks")


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=280)
def evaluate_alerts() -> None:
    """Check the due rules, then send what is pending (idempotent: a slot is checked once)."""
    outcome = evaluate.evaluate()
    sent = delivery.deliver()
    if outcome.events or sent.sent or sent.retry or sent.failed:
        log.info("alerts: %s; %s", outcome, sent)


@shared_task(ignore_result=True, soft_time_limit=840, time_limit=880)
def send_digests() -> None:
    """Queue the due digests (a slot is settled once per user), then send what is pending."""
    outcome = digest.send_digests()
    sent = delivery.deliver()
    if outcome.users or sent.sent or sent.retry or sent.failed:
        log.info("digests: %s; %s", outcome, sent)
