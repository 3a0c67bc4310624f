"""History reads from a PostgreSQL streaming replica, when one is configured.

DATABASE_REPLICA_URL adds the "replica" database (settings.py). `history_alias(org_id)` names
the database for an organisation's closed days: the replica when it is reachable, lags less
than REPLICA_MAX_LAG_SECONDS and has replayed that organisation's last write (`note_write`),
and the current request or task has not written; else the primary ("default"). Everything
else, and every write and migration, stays on the primary (`ReplicaRouter`). Without
DATABASE_REPLICA_URL every function here answers "default" and costs nothing.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver

log = logging.getLogger("infra.replica")

PRIMARY = "default"
REPLICA = "replica"
PROBE_SECONDS = 1.0  # the replica's position is read at most once a second per process
STALE_SECONDS = 5.0  # an older position is not trusted while another thread re-reads it
RETRY_SECONDS = 10.0  # after a replica error, leave it alone this long
CACHE_DOWN_SECONDS = 5.0  # Redis unreadable: the primary, without asking Redis again
WRITE_LSN_TTL = 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Tricky: on the replica, replay stopped with nothing left to replay is no lag at all (the
# replica is as new as its primary), however old its last replayed transaction is. Only when
# received WAL waits to be replayed does the age of the last replayed commit measure the lag.
# A server not in recovery (the primary itself, in development) never lags.
PROBE_SQL = """
SELECT
    CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END
        - '0/0'::pg_lsn,
    CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
        ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
    END
"""
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "COPY", "REFRESH", "CALL")
_MODIFYING = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)

_pinned: ContextVar[bool] = ContextVar("renoz_primary_pinned", default=False)
_history: ContextVar[str | None] = ContextVar("renoz_history_alias", default=None)


@dataclass(frozen=True)
class Position:
    replay_lsn: int | None  # bytes of WAL replayed; None before the first replay
    lag_seconds: float
    read_at: float  # time.monotonic()


_position: Position | None = None
_replica_failed_until = 0.0
_cache_failed_until = 0.0
_warned = False
_probe_lock = threading.Lock()
_MISSING = object()


def configured() -> bool:
    return REPLICA in settings.DATABASES


def history_alias(org_id: int | None = None) -> str:
    """The database alias to read `org_id`'s closed days from: "replica" or "default"."""
    if not configured() or _pinned.get():
        return PRIMARY
    position = replica_position()
    if position is None or position.replay_lsn is None:
        return PRIMARY
    if position.lag_seconds > settings.REPLICA_MAX_LAG_SECONDS:
        return PRIMARY
    if org_id is not None:
        written = _last_write_lsn(org_id)
        if written is None or (written is not _MISSING and position.replay_lsn < written):
            return PRIMARY
    return REPLICA


@contextlib.contextmanager
def history_reads(org_id: int | None = None) -> Iterator[str]:
    """ORM reads inside go to `history_alias(org_id)` (chosen once, on entry); yields it."""
    alias = history_alias(org_id)
    token = _history.set(alias)
    try:
        yield alias
    finally:
        _history.reset(token)


def note_write(org_id: int) -> None:
    """After a commit that changed `org_id`'s data: its history is read from the replica only
    once the replica has replayed the primary's WAL up to here (read-your-writes). The rest of
    this request or task reads from the primary."""
    _pinned.set(True)
    if not configured():
        return
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
            lsn = int(cursor.fetchone()[0])
    except Exception as exc:  # noqa: BLE001 - the write is done; the lag limit still holds
        log.warning("could not note the WAL position of a write to org %s: %s", org_id, exc)
        return
    key = _write_key(org_id)
    previous = cache.get(key)
    # Tricky: two writers may note out of order; keep the later position.
    if previous is None or previous < lsn:
        cache.set(key, lsn, WRITE_LSN_TTL)


def pin_to_primary() -> None:
    """Every read from here to the end of this request or task goes to the primary."""
    _pinned.set(True)


@contextlib.contextmanager
def unit_of_work(*, pinned: bool = False) -> Iterator[None]:
    """One request or task: starts pinned to the primary or not, and forgets it at the end."""
    pin = _pinned.set(pinned)
    history = _history.set(None)
    try:
        yield
    finally:
        _history.reset(history)
        _pinned.reset(pin)


_tasks: dict[str, contextlib.ExitStack] = {}


def begin_task(task_id: str) -> None:
    """A Celery task starts unpinned, whatever ran before it in this process (task_prerun)."""
    stack = contextlib.ExitStack()
    stack.enter_context(unit_of_work())
    _tasks[task_id] = stack


def end_task(task_id: str) -> None:
    stack = _tasks.pop(task_id, None)
    if stack is not None:
        stack.close()


class PrimaryPinMiddleware:
    """A request that may write (POST, PUT, PATCH, DELETE) reads only from the primary; so does
    the rest of any request once it has written (see `_watch_writes`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with unit_of_work(pinned=request.method not in SAFE_METHODS):
            return self.get_response(request)


class ReplicaRouter:
    """ORM reads go to the primary, but inside `history_reads()` to the alias it chose; writes
    and migrations only to the primary."""

    def db_for_read(self, model, **hints) -> str:
        alias = _history.get()
        return alias if alias is not None and not _pinned.get() else PRIMARY

    def db_for_write(self, model, **hints) -> str:
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Both aliases are the same data: a row read from the replica may relate to one written.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY


def replica_position() -> Position | None:
    """The replica's replayed WAL and lag, read at most once a second per process; None when
    it cannot be read."""
    global _position, _replica_failed_until, _warned
    now = time.monotonic()
    current = _position
    if current is not None and now - current.read_at < PROBE_SECONDS:
        return current
    if now < _replica_failed_until:
        return None
    if not _probe_lock.acquire(blocking=False):
        # Another thread is reading it: an almost fresh answer will do meanwhile.
        return current if current is not None and now - current.read_at < STALE_SECONDS else None
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(PROBE_SQL)
            replay, lag = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any replica failure means: read the primary
        _position = None
        _replica_failed_until = time.monotonic() + RETRY_SECONDS
        if not _warned:
            log.warning("read replica unavailable, reading history from the primary: %s", exc)
            _warned = True
        with contextlib.suppress(Exception):
            connections[REPLICA].close()
        return None
    finally:
        _probe_lock.release()
    if _warned:
        log.info("read replica available again")
        _warned = False
    _position = Position(
        replay_lsn=None if replay is None else int(replay),
        lag_seconds=float("inf") if lag is None else float(lag),
        read_at=time.monotonic(),
    )
    return _position


def forget_position() -> None:
    """Read the replica afresh on the next call (tests; after reconfiguring)."""
    global _position, _replica_failed_until, _cache_failed_until
    _position = None
    _replica_failed_until = _cache_failed_until = 0.0


def _write_key(org_id: int) -> str:
    return f"replica:{settings.DEPLOYMENT_NAMESPACE}:write-lsn:{org_id}"


def _last_write_lsn(org_id: int):
    """The org's last noted write position, _MISSING when none is noted, None when Redis
    cannot say (then the replica cannot be trusted for it)."""
    global _cache_failed_until
    if time.monotonic() < _cache_failed_until:
        return None
    # Tricky: the cache hands back `default` on a miss but None when Redis fails (django-redis
    # IGNORE_EXCEPTIONS), so a sentinel default tells the two apart.
    value = cache.get(_write_key(org_id), _MISSING)
    if value is None:
        _cache_failed_until = time.monotonic() + CACHE_DOWN_SECONDS
    return value


def _is_write(sql) -> bool:
    text = sql if isinstance(sql, str) else sql.as_string()  # psycopg's sql.Composed
    head = text.lstrip()[:10].upper()
    if head.startswith(WRITE_VERBS):
        return True
    # A data-modifying WITH: WITH moved AS (UPDATE ... RETURNING ...) SELECT ...
    return head.startswith("WITH") and _MODIFYING.search(text) is not None


def _watch_writes(execute, sql, params, many, context):
    if not _pinned.get() and _is_write(sql):
        _pinned.set(True)
    return execute(sql, params, many, context)


@receiver(connection_created)
def watch_writes_on_the_primary(sender, connection, **kwargs) -> None:
    """Any write through the primary pins the rest of its request or task to the primary."""
    if (
        connection.alias == PRIMARY
        and configured()
        and _watch_writes not in connection.execute_wrappers
    ):
        connection.execute_wrappers.append(_watch_writes)
