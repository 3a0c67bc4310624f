"""The beat's outbox drain (thin entry point)."""

from __future__ import annotations

import logging

from celery import shared_task

from infra.outbox.queue import drain

log = logging.getLogger("renoz.outbox")


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=58)
def drain_outbox() -> None:
    """Publish the work that writes queued while the broker was away."""
    counts = drain()
    if counts["published"] or counts["left"]:
        log.info("outbox: %(published)d published, %(left)d left", counts)
