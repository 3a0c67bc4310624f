"""Scenarios for tests/scale/test_replica.py, run inside Django against the test's own primary
and streaming replica (`manage.py shell -c`, with DATABASE_URL and DATABASE_REPLICA_URL set).

Each scenario prints one JSON line of what it observed; the test asserts on it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time

from celery import shared_task
from django.core.cache import cache
from django.db import connections, router, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization
from infra import replica
from metrics import cache as metric_cache
from metrics.periods import local_midnight, parse_state
from metrics.queries import get_metrics
from metrics.refresh import refresh_summaries
from operations.models import Customer, Order

ORG, OTHER_ORG = 7, 8


def _one(alias: str, query: str, params: tuple = ()):
    with connections[alias].cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def _primary_lsn() -> int:
    return int(_one("default", "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


def _wait_for_replica(column: str, lsn: int) -> None:
    """Until the replica has received (or replayed) the primary's WAL up to `lsn`."""
    deadline = time.monotonic() + 20
    query = f"SELECT {column} - '0/0'::pg_lsn"  # noqa: S608 - a fixed function name
    while int(_one("replica", query)) < lsn:
        if time.monotonic() > deadline:
            raise TimeoutError(f"replica {column} did not reach {lsn}")
        time.sleep(0.05)


def _request(method: str, view) -> str:
    request = getattr(RequestFactory(), method)("/dashboard/")
    return replica.PrimaryPinMiddleware(view)(request).content.decode()


def caught_up() -> dict:
    _wait_for_replica("pg_last_wal_replay_lsn()", _primary_lsn())
    with replica.history_reads(ORG) as alias:
        orm_read = Organization.objects.all().db
        orm_write = router.db_for_write(Organization)
        rows = _one(alias, "SELECT count(*) FROM probe_rows WHERE org_id = %s", (ORG,))
        port = _one(alias, "SELECT inet_server_port()")
    return {
        "history_alias": replica.history_alias(ORG),
        "inside": {"alias": alias, "orm_read": orm_read, "orm_write": orm_write},
        "read": {"rows": rows, "port": port},
        "outside": {"orm_read": Organization.objects.all().db},
        "migrate": {db: router.allow_migrate(db, "accounts") for db in ("default", "replica")},
    }


def read_your_writes() -> dict:
    """Replay paused: a noted write keeps its organisation on the primary (LSN); a tiny lag
    threshold keeps everyone there (time); once replayed, the replica again."""
    seen: dict = {}
    _one("replica", "SELECT pg_wal_replay_pause()")
    try:

        def write(request):
            with connections["default"].cursor() as cursor:
                cursor.execute("INSERT INTO probe_rows (org_id) VALUES (%s)", (ORG,))
            replica.note_write(ORG)
            return HttpResponse(replica.history_alias(OTHER_ORG))

        seen["post_that_writes"] = _request("post", write)
        _wait_for_replica("pg_last_wal_receive_lsn()", _primary_lsn())
        replica.forget_position()

        def read(request):
            return HttpResponse(",".join(replica.history_alias(o) for o in (ORG, OTHER_ORG)))

        with override_settings(REPLICA_MAX_LAG_SECONDS=3600):
            seen["paused_get"] = _request("get", read)
        with override_settings(REPLICA_MAX_LAG_SECONDS=0.001):
            seen["paused_get_tiny_threshold"] = _request("get", read)
        seen["paused_lag_seconds"] = replica.replica_position().lag_seconds
    finally:
        _one("replica", "SELECT pg_wal_replay_resume()")
    _wait_for_replica("pg_last_wal_replay_lsn()", _primary_lsn())
    replica.forget_position()
    seen["resumed_get"] = _request("get", lambda request: HttpResponse(replica.history_alias(ORG)))
    return seen


@shared_task
def history_in_a_task(write: bool) -> list[str]:
    before = replica.history_alias(ORG)
    if write:
        with connections["default"].cursor() as cursor:
            cursor.execute("UPDATE probe_rows SET org_id = org_id WHERE false")
    return [before, replica.history_alias(ORG)]


def pinned() -> dict:
    """Requests that may write, and whatever follows a write in a request or task, read the
    primary; the next safe request or task is free again."""
    _wait_for_replica("pg_last_wal_replay_lsn()", _primary_lsn())

    def history(request):
        return HttpResponse(replica.history_alias(ORG))

    def read_write_read(request):
        before = replica.history_alias(ORG)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM probe_rows")
            after_select = replica.history_alias(ORG)
            cursor.execute(
                "WITH moved AS (UPDATE probe_rows SET org_id = org_id WHERE false RETURNING 1) "
                "SELECT count(*) FROM moved"
            )
        with replica.history_reads(ORG):
            orm_read = Organization.objects.all().db
        return HttpResponse(",".join([before, after_select, replica.history_alias(ORG), orm_read]))

    return {
        "get": _request("get", history),
        **{method: _request(method, history) for method in ("post", "put", "patch", "delete")},
        "get_that_writes": _request("get", read_write_read),
        "get_after": _request("get", history),
        "task_that_writes": history_in_a_task.apply(args=[True]).get(),
        "task_after": history_in_a_task.apply(args=[False]).get(),
    }


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def replica_down() -> dict:
    warnings = _Count()
    logger = logging.getLogger("infra.replica")
    logger.setLevel(logging.WARNING)
    logger.addHandler(warnings)
    aliases = [replica.history_alias(ORG)]
    replica.forget_position()  # past the retry pause: ask the dead replica again
    aliases.append(replica.history_alias(ORG))
    with replica.history_reads(ORG) as alias:
        aliases.append(alias)
        aliases.append(Organization.objects.all().db)
    return {"aliases": aliases, "warnings": warnings.messages}


def _revenue(org: Organization, first: dt.date, last: dt.date) -> dict:
    """A fresh request's revenue for the local days [first, last], and which sales reads each
    database served: "coverage" (watermarks, dirty days), "view" (daily summary), "live"."""
    state = parse_state({"from": first.isoformat(), "to": last.isoformat(), "compare": "none"}, org)
    replica.forget_position()
    with (
        replica.unit_of_work(),
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as standby,
    ):
        value = get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"]

    def reads(captured) -> list[str]:
        tags = {
            "dashboard_viewrefresh": "coverage",
            "daily_sales": "view",
            "metric_events_sales": "live",
        }
        return [tag for q in captured.captured_queries for t, tag in tags.items() if t in q["sql"]]

    return {"revenue": value, "primary": reads(primary), "replica": reads(standby)}


def engine_history() -> dict:
    """The metric engine end to end: closed days from the replica, today from the primary; a
    back-dated write the paused replica has not replayed is read from the primary; once
    replayed, from the replica again."""
    cache.clear()
    org = Organization.objects.create(name="Replica Solar", timezone="Australia/Sydney")
    tz = org.tz
    today = timezone.now().astimezone(tz).date()
    customer = Customer.objects.create(
        organization=org, name="Dubbo Farms", kind="commercial", state="NSW"
    )
    numbers = iter(range(1, 100))

    def order(days_ago: int, cents: int, status: str = "confirmed", at=None) -> None:
        noon = local_midnight(today - dt.timedelta(days=days_ago), tz) + dt.timedelta(hours=12)
        Order.objects.create(
            organization=org,
            customer=customer,
            number=f"R-{next(numbers)}",
            status=status,
            ordered_at=at or noon,
            total_cents=cents,
        )

    for days_ago, cents in ((45, 900_000), (20, 1_250_000), (12, 730_000), (3, 200_000)):
        order(days_ago, cents)
    order(10, 555_500, status="draft")
    now = timezone.now()
    order(0, 99_000, at=max(local_midnight(today, tz), now - dt.timedelta(minutes=1)))
    refresh_summaries()  # full rebuild: every past day comes from the daily summary
    _wait_for_replica("pg_last_wal_replay_lsn()", _primary_lsn())
    month_ago, yesterday = today - dt.timedelta(days=30), today - dt.timedelta(days=1)
    seen: dict = {"past": _revenue(org, month_ago, yesterday)}
    seen["with_today"] = _revenue(org, month_ago, today)

    _one("replica", "SELECT pg_wal_replay_pause()")
    try:
        with transaction.atomic():  # a real commit: the write's on_commit hooks run
            order(12, 420_000)
        _wait_for_replica("pg_last_wal_receive_lsn()", _primary_lsn())
        # Tricky: a generous lag limit, so only the organisation's unreplayed write sends its
        # history to the primary (the lag is the age of the last replayed commit).
        with override_settings(REPLICA_MAX_LAG_SECONDS=3600):
            seen["paused"] = _revenue(org, month_ago, yesterday)
            with replica.unit_of_work():
                seen["paused_aliases"] = [replica.history_alias(org.pk), replica.history_alias()]
    finally:
        _one("replica", "SELECT pg_wal_replay_resume()")
    _wait_for_replica("pg_last_wal_replay_lsn()", _primary_lsn())
    metric_cache.bump_data_version(org.pk)  # every cached value and day block of the org goes
    seen["resumed"] = _revenue(org, month_ago, yesterday)
    return seen


def main(scenario: str) -> None:
    result = globals()[scenario]()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
