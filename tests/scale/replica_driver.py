"""Scenarios for tests/scale/test_replica.py, run inside Django against the test's own primary
and streaming replica (`manage.py shell -c`, with DATABASE_URL and DATABASE_REPLICA_URL set).

Each scenario prints one JSON line of what it observed; the test asserts on it.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from celery import shared_task
from django.db import connections, router
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from renoz import replica
from renoz.accounts.models import Organization

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
    logger = logging.getLogger("renoz.replica")
    logger.setLevel(logging.WARNING)
    logger.addHandler(warnings)
    aliases = [replica.history_alias(ORG)]
    replica.forget_position()  # past the retry pause: ask the dead replica again
    aliases.append(replica.history_alias(ORG))
    with replica.history_reads(ORG) as alias:
        aliases.append(alias)
        aliases.append(Organization.objects.all().db)
    return {"aliases": aliases, "warnings": warnings.messages}


def main(scenario: str) -> None:
    result = globals()[scenario]()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
