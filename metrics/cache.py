"""All metric caching lives here.

Keys: dash:<deployment>:<schema>:<org>:<data version>:<widget>:<range>:<compare>[:<slice>].
The deployment namespace (settings.DEPLOYMENT_NAMESPACE, by default derived from the database)
keeps two installs sharing one Redis apart. A refresh or a data
change bumps the organisation's version, so stale keys are never read again (they expire by
TTL). One recompute per key at a time, through a short lock. When Redis is unreachable the
reader computes from the database; a breaker then skips Redis for a few seconds so no request
pays more than one socket timeout.
"""

from __future__ import annotations

import bisect
import contextvars
import datetime as dt
import hashlib
import logging
import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager

import redis
from django.conf import settings
from django.core.cache import cache

from infra import breaker
from infra.env import deployment_namespace
from metrics.definitions import SOURCES, measure_part

log = logging.getLogger("renoz.cache")

# 3: per-measure versions; a version token such as "sa5" now names a measure's version, so
# no key written before them may be read as one.
SCHEMA_VERSION = 3
TTL_SECONDS = 300
HISTORY_TTL_SECONDS = 36 * 3600  # closed-day blocks change only by version, so they live long
MAX_TRACKED_DAYS = 2000  # back-dated days counted per organisation and source before a reset
LOCK_SECONDS = 15
WAIT_FOR_LOCK_SECONDS = 2.0
BREAKER_SECONDS = 5.0
_blocking_clients: dict[int, redis.Redis] = {}
_breaker_open_until = 0.0


# Inside a cached computation: a memo of the history versions read so far (else None).
_history_cache: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "history_cache", default=None
)


class _RedisDown(Exception):
    pass


def _client():
    if time.monotonic() < _breaker_open_until:
        raise _RedisDown
    return cache.client.get_client(write=True)  # type: ignore[attr-defined]


def _blocking(client) -> redis.Redis:
    """A client on the same Redis whose socket timeout outlasts a blocking wait (the cache's
    own short socket timeout would read a wait as a dead Redis)."""
    pool = client.connection_pool
    if id(pool) not in _blocking_clients:
        kwargs = {**pool.connection_kwargs, "socket_timeout": WAIT_FOR_LOCK_SECONDS + 1}
        _blocking_clients[id(pool)] = redis.Redis(
            connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
        )
    return _blocking_clients[id(pool)]


def _trip(exc: Exception) -> None:
    global _breaker_open_until
    _breaker_open_until = time.monotonic() + BREAKER_SECONDS
    log.warning("Redis unavailable, serving from the database for %ss: %s", BREAKER_SECONDS, exc)


def reset_breaker() -> None:
    global _breaker_open_until
    _breaker_open_until = 0.0
    breaker.REDIS.reset()


def _call(fn, default=None):
    try:
        return fn(_client())
    except _RedisDown:
        return default
    except Exception as exc:  # noqa: BLE001 - any Redis failure degrades to the database
        _trip(exc)
        return default


# Tricky: versions are per organisation *and* per data source, so a logged call (activities)
# does not drop the cached revenue. A key carries the organisation's epoch (bumped when
# everything must go) and the version of each source it was computed from.
# Parts that are not metric sources: versioned whole, with no per-day history.
WHOLE_PARTS = ("targets", "annotations")
#
# Per-dimension versions: a write that moves only a source's live dimensions (those no daily
# summary keeps: an order fulfilled changes its `status`, nothing else its events carry)
# bumps only "<source>.<dimension>" (metrics/signals.py), so it drops only the values that
# filter or break down by that dimension: their keys name it (make_key's `dims`, the
# engine's blocks of a sliced read), every other value of the source is still valid.
DIMENSION_PARTS = tuple(
    source.dimension_part(dim) for source in SOURCES.values() for dim in source.live_dims
)
HISTORY_PARTS = (*SOURCES, *DIMENSION_PARTS)
#
# Per-measure versions: a write bumps "<source>/<measure>" (metrics.definitions.measure_part)
# only for the measures whose sums it moved, on the days it moved them (metrics/signals.py
# compares the record's event rows before and after). A value that reads only some measures
# (a KPI: Metric.measures) carries their versions instead of its source's, so a job scheduled
# keeps kWh deployed and an opportunity opened keeps the win rate. A write that cannot say
# what it moved (a dependent row, a related row, a delete, the ledger) bumps every measure of
# the source; so does bump_data_version of the source.
#
# Each measure has two parts: "<source>/<measure>", bumped when any row carrying it changed
# (its instant, a dimension, its value), and "<source>/<measure>/total", bumped only when the
# measure's whole-organisation sums moved (a row carrying it appeared, vanished, moved in
# time or changed its value). A whole, unfiltered value (Metric.value_parts) carries the
# latter: an opportunity won whose opening day was last month moves its opened row's stage,
# not last month's pipeline value.
MEASURE_PARTS = tuple(
    measure_part(name, m, total=total)
    for name, s in SOURCES.items()
    for m in s.measures
    for total in (False, True)
)
PARTS = (*HISTORY_PARTS, *MEASURE_PARTS, *WHOLE_PARTS)


def source_of_part(part: str) -> str:
    """The source a version part belongs to ("jobs/completed_kwh", "sales.status": its
    source; a source or a whole part: itself)."""
    return part.split("/", 1)[0].split(".", 1)[0]


def measure_parts(source: str) -> tuple[str, ...]:
    """Every per-measure version part of a source (both kinds)."""
    return tuple(
        measure_part(source, m, total=total)
        for m in SOURCES[source].measures
        for total in (False, True)
    )


def dimension_parts(sources, dims) -> list[str]:
    """The per-dimension version parts of values reading these sources (or measure parts of
    them) sliced or broken down by these dimensions (only live dimensions have one)."""
    dims = set(dims)
    names = {source_of_part(part) for part in sources}
    return sorted(
        SOURCES[name].dimension_part(dim)
        for name in names
        if name in SOURCES
        for dim in SOURCES[name].live_dims
        if dim in dims
    )


def namespace() -> str:
    """This deployment's key prefix: the configured namespace, or one derived from the database
    it reads, so two installs sharing a Redis never read each other's values."""
    configured = getattr(settings, "DEPLOYMENT_NAMESPACE", "")
    return f"dash:{configured or deployment_namespace(settings.DATABASES['default'])}"


def _version_key(org_id: int, part: str | None = None) -> str:
    return f"{namespace()}:ver:{org_id}" + (f":{part}" if part else "")


# Inside page_pass(): {org id: {None: epoch, part: version}}, read once for the whole page.
_versions_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "versions_memo", default=None
)


def _versions(org_id: int, parts: list[str]) -> list[int] | None:
    """[epoch, *each part's version], from the page's snapshot when there is one."""
    memo = _versions_memo.get()
    if memo is not None and org_id in memo:
        snapshot = memo[org_id]
        return [snapshot[None], *(snapshot[p] for p in parts)]
    every = list(PARTS) if memo is not None else parts
    raw = _call(
        lambda client: client.mget(
            [_version_key(org_id), *(_version_key(org_id, p) for p in every)]
        )
    )
    if raw is None:
        return None
    values = [int(v) if v is not None else 0 for v in raw]
    if memo is None:
        return values
    memo[org_id] = {None: values[0], **dict(zip(every, values[1:], strict=True))}
    return _versions(org_id, parts)


def data_version(org_id: int, parts=None) -> str | None:
    """The version token of an organisation's data (the given parts, or all), or None when Redis
    is unreachable."""
    parts = sorted(set(parts)) if parts else list(PARTS)
    found = _versions(org_id, parts)
    if found is None:
        return None
    epoch, *versions = found
    return f"{epoch}." + ".".join(f"{p[:2]}{v}" for p, v in zip(parts, versions, strict=True))


def closed_end(state) -> dt.date | None:
    """The local day after the last day a state reads, when every day it reads (its range, its
    comparison, and for state metrics everything before) is closed: before the organisation's
    today. None when the state reaches today, or is not a period (the personal page's keys)."""
    windows = [getattr(state, "range", None), getattr(state, "comparison", None)]
    ends = [w.end_at for w in windows if w is not None]
    if not ends:
        return None
    tz = state.tz
    last = max(ends).astimezone(tz)
    today = dt.datetime.now(tz).date()
    end_day = last.date()
    if last.timetz().replace(tzinfo=None) != dt.time(0) or end_day > today:
        return None  # a running range ends at now, inside an open day
    return end_day


def closed_version(org_id: int, parts, end: dt.date) -> str | None:
    """The version token of values that read only closed days before `end`: each source's
    history epoch and the writes that landed before `end`, so a write to today (or to any day
    after `end`) drops none of them; targets by their version. None when Redis is down."""
    sources = sorted(set(parts or PARTS) - set(WHOLE_PARTS))
    others = sorted(set(parts or PARTS) & set(WHOLE_PARTS))
    # (a dimension or measure part counts its writes per day like a source: history() reads
    # them all)
    tokens = []
    with history_cache():  # every part's history versions in one round trip
        loaded = histories(org_id, sources)
        if loaded is None:
            return None
        for part in sources:
            versions = loaded[part]
            tokens.append(f"{part[:2]}{versions.token}~{versions.written(None, end)}")
    if others:
        version = data_version(org_id, others)
        if version is None:
            return None
        tokens.append(version)
    return "c" + ".".join(tokens)


class _PageWrites:
    """What a page stores, held until the page is done and then sent in one pipeline: values
    and blocks by key (pickled when stored, so a later read in the page gets its own copy), and
    the single-flight locks to release. Reads inside the page look here before Redis."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[bytes, int]] = {}
        self.locks: list[str] = []
        self.prefetched: dict[str, bytes | int] = {}  # prefetch's answers not yet used

    def put(self, key: str, payload: bytes, ttl: int) -> None:
        self.pending[key] = (payload, ttl)

    def flush(self) -> None:
        unused = [f"{key}:lock" for key, found in self.prefetched.items() if found == 1]
        self.prefetched = {}
        if not self.pending and not self.locks and not unused:
            return
        pending, locks = self.pending, [*self.locks, *unused]
        self.pending, self.locks = {}, []

        def store(client):
            pipe = client.pipeline(transaction=False)
            for key, (payload, ttl) in pending.items():
                pipe.set(key, payload, ex=ttl)
            for lock_key in locks:
                _release_into(pipe, lock_key)
            _flush_counts(pipe)
            pipe.execute()

        _call(store)


# Inside page_pass(): the page's deferred writes (else None).
_page_writes: contextvars.ContextVar[_PageWrites | None] = contextvars.ContextVar(
    "page_writes", default=None
)


def _release_into(pipe, lock_key: str) -> None:
    """Release a single-flight lock and wake whoever waits on it (get_or_compute)."""
    done_key = lock_key.removesuffix(":lock") + ":done"
    pipe.delete(lock_key)
    pipe.lpush(done_key, b"1")
    pipe.expire(done_key, LOCK_SECONDS)


@contextmanager
def page_pass(org_id: int, defer: Callable[[Callable[[], None]], None] | None = None):
    """One page's reads: the data versions read once (one round trip for every widget's key),
    and the history versions and reads shared by every computation inside. Its stores (values,
    closed-day blocks and tails, rendered fragments) and lock releases go to Redis in one
    pipeline when the page is done (issue 25: about 30 round trips fewer on a page whose
    values expired); a reader elsewhere waiting on one of its locks waits that much longer.
    `defer` (infra.after_response.defer) takes that pipeline to run later, once the page's
    response is sent; without it, or when the page fails, it runs as the pass ends."""
    token = _versions_memo.set({})
    writes = _PageWrites()
    writes_token = _page_writes.set(writes) if _page_writes.get() is None else None
    failed = False
    try:
        with history_cache():
            yield
    except BaseException:
        failed = True
        raise
    finally:
        if writes_token is not None:
            _page_writes.reset(writes_token)
            if defer is None or failed:
                writes.flush()
            else:
                defer(writes.flush)
        _versions_memo.reset(token)


def page_computes(key: str) -> bool:
    """Inside page_pass: whether the page's prefetch took the lock of this value (it was
    missing, and this page computes it)."""
    writes = _page_writes.get()
    return writes is not None and writes.prefetched.get(key) == 1


def part_key(org_id: int, part: str, name: str) -> str | None:
    """The key of a value built only from one whole part (e.g. "annotations"), by that part's
    version alone (read once per page inside page_pass; the organisation's epoch, which drops
    every metric value, leaves it); None when Redis is unreachable."""
    if part not in WHOLE_PARTS:
        raise ValueError(f"{part!r} is not a whole part; known: {WHOLE_PARTS}")
    found = _versions(org_id, [part])
    if found is None:
        return None
    return f"{namespace()}:{SCHEMA_VERSION}:{org_id}:{part}:{found[1]}:{name}"


def _history_keys(org_id: int, part: str) -> tuple[str, str]:
    """(the per-day write counters of a source's closed days, the source's history epoch)."""
    return f"{namespace()}:hist:{org_id}:{part}", f"{namespace()}:hep:{org_id}:{part}"


def bump_data_version(org_id: int, parts=None) -> None:
    """Invalidate an organisation's cached values: those built from `parts`, or all of them
    (closed-day history included; a write that knows its days calls note_write instead). A
    source bumps its measures' versions too."""
    if parts:
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise ValueError(f"Unknown cache parts {sorted(unknown)}; known: {PARTS}")
        parts = {*parts, *(m for p in parts if p in SOURCES for m in measure_parts(p))}

        def bump(client):
            pipe = client.pipeline(transaction=False)
            for part in set(parts):
                pipe.incr(_version_key(org_id, part))
                pipe.incr(_history_keys(org_id, part)[1])
            pipe.execute()

        _call(bump)
    else:
        _call(lambda client: client.incr(_version_key(org_id)))


def note_write(org_id: int, part: str, days, today: dt.date, measures=None, totals=None) -> None:
    """A committed write moved these local days of a source. Values that include the open
    tail (today) are dropped through the source's version; closed history is dropped only
    where it contains a written day, through that day's counter.

    `measures` ({measure: the days its sums moved}) names what the write moved; None: every
    measure of the source on all of `days`. Each moved measure's part is bumped the same way
    on its own days, so a value reading only unmoved measures survives. `totals` (the same
    shape; None: as `measures`) names the measures whose whole-organisation sums moved."""
    if part not in PARTS:
        raise ValueError(f"Unknown cache part {part!r}; known: {PARTS}")
    moved: dict[str, set] = {part: set(days)}
    if part in SOURCES:
        if measures is None:
            measures = {m: days for m in SOURCES[part].measures}
        totals = measures if totals is None else totals
        unknown = {*measures, *totals} - set(SOURCES[part].measures)
        if unknown:
            raise ValueError(f"Unknown measures {sorted(unknown)} of {part}")
        moved |= {measure_part(part, m): set(d) for m, d in measures.items()}
        moved |= {measure_part(part, m, total=True): set(d) for m, d in totals.items()}

    def bump(client):
        pipe = client.pipeline(transaction=False)
        for name, written in moved.items():
            counters = _history_keys(org_id, name)[0]
            pipe.incr(_version_key(org_id, name))
            for day in sorted(d for d in written if d < today):
                pipe.hincrby(counters, day.isoformat(), 1)
        for name in moved:
            pipe.hlen(_history_keys(org_id, name)[0])
        sizes = pipe.execute()[-len(moved) :]
        for name, size in zip(moved, sizes, strict=True):
            if size > MAX_TRACKED_DAYS:
                counters, epoch = _history_keys(org_id, name)
                # Tricky: bump the epoch before dropping the counters, so no block key
                # computed from the emptied counters can equal an older one.
                client.incr(epoch)
                client.delete(counters)

    _call(bump)


class History:
    """An organisation source's closed-day versions, read once per engine read: the keys of
    its cached day blocks change only when a write lands in their days."""

    def __init__(
        self, org_id: int, part: str, token: str, counters: dict[dt.date, int], version: int = 0
    ):
        self.org_id, self.part, self.token = org_id, part, token
        self.version = version  # the source's version: bumped by every write to it
        self.days = sorted(counters)
        self.counts = [counters[d] for d in self.days]

    def tail_key(self, shape: str, parts) -> str:
        """The key of the open tail's sums: valid until the next write to the source. Like
        whole values, it names each part's end by its local date, not the wall clock."""
        spans = ",".join(f"{idx}:{lo.isoformat()}~{hi.date()}" for idx, lo, hi in parts)
        digest = hashlib.sha256(spans.encode()).hexdigest()[:16]
        return f"{self._prefix(shape)}:tail{self.version}:{digest}"

    def written(self, lo: dt.date | None, hi: dt.date) -> int:
        """How many writes have landed in the days [lo, hi) (lo None: since ever)."""
        start = 0 if lo is None else bisect.bisect_left(self.days, lo)
        return sum(self.counts[start : bisect.bisect_left(self.days, hi)])

    def _prefix(self, shape: str) -> str:
        return f"{namespace()}:{SCHEMA_VERSION}:{self.org_id}:h{self.token}:{self.part}:{shape}"

    def key(self, shape: str, lo: dt.date | None, hi: dt.date) -> str:
        return f"{self._prefix(shape)}:{lo or 'ever'}_{hi}:{self.written(lo, hi)}"

    def joined(self, other: History) -> History:
        """These versions with a per-dimension part's (a sliced read's): its blocks and tail
        change with the writes to either."""
        return _Joined(self, other)


class _Joined(History):
    def __init__(self, base: History, other: History):
        super().__init__(base.org_id, base.part, base.token, {}, base.version)
        self.base, self.other = base, other

    def written(self, lo: dt.date | None, hi: dt.date) -> int:
        return self.base.written(lo, hi)

    def key(self, shape: str, lo: dt.date | None, hi: dt.date) -> str:
        mark = f"{self.other.part}{self.other.token}~{self.other.written(lo, hi)}"
        return f"{self.base.key(shape, lo, hi)}:{mark}"

    def tail_key(self, shape: str, parts) -> str:
        mark = f"{self.other.part}{self.other.token}v{self.other.version}"
        return f"{self.base.tail_key(shape, parts)}:{mark}"


def history(org_id: int, part: str) -> History | None:
    """The closed-day versions of a source, or None when Redis is unreachable. Inside one
    cached computation, every source's versions are read once, in one round trip."""
    loaded = histories(org_id, [part] if part in MEASURE_PARTS else [])
    return None if loaded is None else loaded.get(part)


def histories(org_id: int, parts) -> dict[str, History] | None:
    """The closed-day versions of every source and dimension part, and of the given measure
    parts (read only when asked for: only closed-day value keys carry them), in one round
    trip; None when Redis is unreachable. Inside one cached computation, each is read once."""
    memo = _history_cache.get()
    loaded: dict[str, History] = {}
    if isinstance(memo, dict) and org_id in memo:
        loaded = memo[org_id]
    names = [p for p in (*HISTORY_PARTS, *sorted(set(parts))) if p not in loaded]
    if not names:
        return loaded

    # Inside page_pass, the page's data versions ride along when not read yet (one round trip
    # fewer: a page that reads only closed days reads these first).
    versions = _versions_memo.get()
    snapshot = versions is not None and org_id not in versions

    def load(client):
        pipe = client.pipeline(transaction=False)
        pipe.get(_version_key(org_id))
        for name in names:
            counters, epoch = _history_keys(org_id, name)
            pipe.get(epoch)
            pipe.hgetall(counters)
            pipe.get(_version_key(org_id, name))
        if snapshot:
            pipe.mget([_version_key(org_id), *(_version_key(org_id, p) for p in PARTS)])
        return pipe.execute()

    raw = _call(load)
    if raw is None:
        return None
    if versions is not None and snapshot:
        every = [int(v) if v is not None else 0 for v in raw.pop()]
        versions[org_id] = {None: every[0], **dict(zip(PARTS, every[1:], strict=True))}
    org_epoch, *per_part = raw
    loaded = dict(loaded)
    for n, name in enumerate(names):
        source_epoch, written, version = per_part[3 * n : 3 * n + 3]
        loaded[name] = History(
            org_id,
            name,
            f"{int(org_epoch or 0)}.{int(source_epoch or 0)}",
            {dt.date.fromisoformat(k.decode()): int(v) for k, v in written.items()},
            int(version or 0),
        )
    if isinstance(memo, dict):
        memo[org_id] = loaded
    return loaded


def inputs_key(
    org_id: int,
    name: str,
    spans: Mapping[str, tuple[dt.date | None, dt.date]],
    today: dt.date,
    parts=(),
    slice_token: str = "",
) -> str | None:
    """The key of a value computed from these sources' local days [lo, hi) (lo None: since
    ever), or None when Redis is unreachable. It changes when a write lands in those days
    (their closed-day counters, as history blocks count them) and, for a span that reaches
    today (the open tail), with every write to the source; `parts` (e.g. "targets") add their
    whole versions. So a value over closed days survives every write to today. One round trip.
    """
    return inputs_keys(org_id, [(name, spans, parts)], today, slice_token)[0]


def inputs_keys(org_id: int, wanted, today: dt.date, slice_token: str = "") -> list[str | None]:
    """inputs_key of each (name, spans, parts) in `wanted`, in one round trip for all."""
    sources = sorted({source for _, spans, _ in wanted for source in spans})
    extra = sorted({part for _, _, parts in wanted for part in parts})

    def load(client):
        pipe = client.pipeline(transaction=False)
        pipe.get(_version_key(org_id))
        for source in sources:
            counters, epoch = _history_keys(org_id, source)
            pipe.get(epoch)
            pipe.hgetall(counters)
            pipe.get(_version_key(org_id, source))
        for part in extra:
            pipe.get(_version_key(org_id, part))
        return pipe.execute()

    raw = _call(load)
    if raw is None:
        return [None] * len(wanted)
    org_epoch, *rest = raw
    loaded = {}
    for n, source in enumerate(sources):
        source_epoch, written, version = rest[3 * n : 3 * n + 3]
        counts = {dt.date.fromisoformat(k.decode()): int(v) for k, v in written.items()}
        loaded[source] = (int(source_epoch or 0), History(org_id, source, "", counts), version)
    versions = dict(zip(extra, rest[3 * len(sources) :], strict=True))
    out: list[str | None] = []
    for name, spans, parts in wanted:
        tokens = [f"e{int(org_epoch or 0)}"]
        for source in sorted(spans):
            source_epoch, days, version = loaded[source]
            lo, hi = spans[source]
            token = f"{source[:2]}{source_epoch}w{days.written(lo, min(hi, today))}"
            if hi > today:
                token += f"v{int(version or 0)}"
            tokens.append(token)
        tokens += [f"{part[:2]}{int(versions[part] or 0)}" for part in sorted(set(parts))]
        digest = hashlib.sha256(f"{slice_token}|{'.'.join(tokens)}".encode()).hexdigest()[:24]
        out.append(f"{namespace()}:{SCHEMA_VERSION}:{org_id}:in:{name}:{digest}")
    return out


def _pending_reads(keys: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """(the payloads this page has stored but not yet sent, the keys still to read)."""
    writes = _page_writes.get()
    if writes is None or not writes.pending:
        return {}, keys
    found = {k: writes.pending[k][0] for k in keys if k in writes.pending}
    return found, [k for k in keys if k not in found]


def get_blocks(keys: list[str], counted: bool = True, also: Sequence[str] = ()) -> list | None:
    """The cached history blocks for these keys (None where absent), counting hits and
    misses; None when Redis is unreachable. `also`: more keys read in the same round trip
    and not counted (an engine read's open tail), their values after the blocks'."""
    wanted = [*keys, *also]
    if not wanted:
        return []
    found, rest = _pending_reads(wanted)
    raw = _call(lambda client: client.mget(rest)) if rest else []
    if raw is None:
        return None
    found.update(zip(rest, raw, strict=True))
    if counted and keys:
        hits = sum(found[k] is not None for k in keys)
        _count("history_hits", hits)
        _count("history_misses", len(keys) - hits)
    return [pickle.loads(found[k]) if found[k] is not None else None for k in wanted]  # noqa: S301


def set_blocks(values: dict[str, object], ttl: int = HISTORY_TTL_SECONDS) -> None:
    """Store blocks (or an open tail's sums); inside page_pass, with the page's other writes."""
    if not values:
        return
    writes = _page_writes.get()
    if writes is not None:
        for key, value in values.items():
            writes.put(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ttl)
        return

    def store(client):
        pipe = client.pipeline(transaction=False)
        for key, value in values.items():
            pipe.set(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ex=ttl)
        _flush_counts(pipe)
        pipe.execute()

    _call(store)


def _with_dimensions(parts, dims):
    """A value's parts with the per-dimension parts of the dimensions it filters by."""
    if parts is not None and dims:
        return sorted(set(parts) | set(dimension_parts(parts, dims)))
    return parts


def load_key_histories(org_id: int, state, wanted) -> None:
    """Read, in one round trip, the closed-day versions that make_key will need for a page's
    values in `state`: `wanted` holds each value's (parts, dims). A state that reads only
    closed days (last month) keys each value by its measures' closed-day write counts
    (closed_version), and a page's widgets name different measures: one at a time, that was a
    round trip per widget (docs/architecture.md, "Cache"). Does nothing for a state that
    reaches today (its values are keyed by the data versions, read once per page), nor outside
    page_pass (nothing would keep what it read)."""
    if closed_end(state) is None or not isinstance(_history_cache.get(), dict):
        return
    sources: set[str] = set()
    for parts, dims in wanted:
        sources |= set(_with_dimensions(parts, dims) or PARTS) - set(WHOLE_PARTS)
    histories(org_id, sources)


def make_key(
    org_id: int, widget: str, state, parts=None, slice_token: str = "", dims=()
) -> str | None:
    """The cache key of a value for a state, or None when Redis is unreachable.

    `parts` names the data sources the value is computed from; None means all of them.
    `slice_token` names an owner or dimension slice (empty for the whole organisation);
    `dims` the dimensions it filters or breaks down by, whose per-dimension versions it
    carries too.
    """
    parts = _with_dimensions(parts, dims)
    end = closed_end(state)
    version = closed_version(org_id, parts, end) if end is not None else data_version(org_id, parts)
    if version is None:
        return None
    key = (
        f"{namespace()}:{SCHEMA_VERSION}:{org_id}:{version}:{widget}:"
        f"{state.cache_token()}:{state.compare_token()}"
    )
    if slice_token:
        key += ":" + hashlib.sha256(slice_token.encode()).hexdigest()[:16]
    return key


def value_key(org_id: int, name: str, parts, slice_token: str = "") -> str | None:
    """The key of a value that does not depend on the period (the activity feed's newest
    rows): the data versions of `parts` and the slice (a user's scope, filters). None when
    Redis is unreachable."""
    version = data_version(org_id, parts)
    if version is None:
        return None
    digest = hashlib.sha256(slice_token.encode()).hexdigest()[:16]
    return f"{namespace()}:{SCHEMA_VERSION}:{org_id}:{version}:{name}:{digest}"


def latest_key(org_id: int, name: str) -> str:
    """The key of the last value stored under a name, whatever versions it was computed
    from: what a reader that must not compute shows while a fresh one is stored."""
    return f"{namespace()}:{SCHEMA_VERSION}:{org_id}:latest:{name}"


def peek_many(keys: list[str | None]) -> list | None:
    """The cached values for these keys (None where absent), in one round trip, never
    computing nor counting; None when Redis is unreachable."""
    wanted = [k for k in keys if k is not None]
    raw = _call(lambda client: client.mget(wanted)) if wanted else []
    if raw is None:
        return None
    found = dict(zip(wanted, raw, strict=True))
    return [
        pickle.loads(found[k]) if k is not None and found[k] is not None else None  # noqa: S301
        for k in keys
    ]


def store(key: str | None, value, ttl: int = TTL_SECONDS) -> None:
    if key is None:
        return
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    _call(lambda client: client.set(key, payload, ex=ttl))


def claim(org_id: int, name: str, seconds: int) -> bool:
    """True for the first caller within `seconds` (a debounce: queue a job once per window);
    False when Redis is unreachable."""
    key = f"{namespace()}:{SCHEMA_VERSION}:{org_id}:claim:{name}"
    return bool(_call(lambda client: client.set(key, b"1", nx=True, ex=seconds), False))


# Readers of an organisation's dashboards: marked when a page is read (at most once per
# process every READERS_MARK_SECONDS), kept READERS_SECONDS. The re-warm after a refresh
# (dashboard.tasks.rewarm_after_refresh) computes again only for organisations someone reads.
READERS_SECONDS = 3600
READERS_MARK_SECONDS = 300
_readers_marked: dict[int, float] = {}


def _readers_key(org_id: int) -> str:
    return f"{namespace()}:{SCHEMA_VERSION}:{org_id}:readers"


def note_readers(org_id: int) -> None:
    """Someone is reading this organisation's dashboards (one write per process every
    READERS_MARK_SECONDS, so a cached page rarely pays a round trip for it)."""
    now = time.monotonic()
    if now - _readers_marked.get(org_id, -READERS_MARK_SECONDS) < READERS_MARK_SECONDS:
        return
    _readers_marked[org_id] = now
    _call(lambda client: client.set(_readers_key(org_id), b"1", ex=READERS_SECONDS))


def readers_recent(org_id: int) -> bool:
    """Whether a dashboard of this organisation was read in the last READERS_SECONDS (False
    when Redis is unreachable: nothing cached is worth warming then)."""
    return bool(_call(lambda client: client.exists(_readers_key(org_id)), False))


def _stats_key() -> str:
    return f"{namespace()}:stats"


_counts: Counter[str] = Counter()
_counts_lock = threading.Lock()
FLUSH_EVERY = 200  # lookups counted in-process before they are written to Redis


def _count(name: str, n: int = 1) -> None:
    """Count cache lookups in-process; they reach Redis with the next write round trip."""
    if not n:
        return
    with _counts_lock:
        _counts[name] += n
        due = sum(_counts.values()) >= FLUSH_EVERY
    if due:
        flush_stats()


def count_served(n: int) -> None:
    """n closed-day blocks first looked up and missed were then served from the cache (cut
    out of their month's cached daily block): counted as hits, not misses."""
    _count("history_hits", n)
    _count("history_misses", -n)


def _flush_counts(pipe) -> None:
    with _counts_lock:
        pending = dict(_counts)
        _counts.clear()
    for name, n in pending.items():
        pipe.hincrby(_stats_key(), name, n)


def flush_stats() -> None:
    def flush(client):
        pipe = client.pipeline(transaction=False)
        _flush_counts(pipe)
        pipe.execute()

    _call(flush)


def _record(hit: bool) -> None:
    _count("hits" if hit else "misses")


def cache_stats() -> dict:
    """Hits and misses of whole values, and of closed-day history blocks."""
    flush_stats()
    raw = _call(lambda client: client.hgetall(_stats_key()), default={}) or {}
    out: dict = {}
    for prefix in ("", "history_", "fragment_"):
        hits = int(raw.get(f"{prefix}hits".encode(), 0))
        misses = int(raw.get(f"{prefix}misses".encode(), 0))
        total = hits + misses
        out[f"{prefix}hits"], out[f"{prefix}misses"] = hits, misses
        out[f"{prefix}hit_rate"] = round(hits / total, 4) if total else None
    return out


def reset_stats() -> None:
    with _counts_lock:
        _counts.clear()
    _call(lambda client: client.delete(_stats_key()))


def peek(key: str | None):
    """The cached value for a key, or None; never computes."""
    if key is None:
        return None
    raw = _call(lambda client: client.get(key))
    return pickle.loads(raw) if raw is not None else None  # noqa: S301 - our own Redis, our own values


def fragment_key(value_key: str | None, name: str) -> str | None:
    """The key of a rendered fragment of a cached value (None when the value has no key)."""
    return None if value_key is None else f"{value_key}:html:{name}"


def content_key(org_id: int, name: str, content: str) -> str | None:
    """The key of a rendered per-user fragment (the activity feed), named by a digest of
    everything it was rendered from (`content`): any change to it is another key, so no
    write has to drop it; it lives TTL_SECONDS. None when Redis is unreachable."""
    if time.monotonic() < _breaker_open_until:
        return None
    digest = hashlib.sha256(content.encode()).hexdigest()[:32]
    return f"{namespace()}:{SCHEMA_VERSION}:{org_id}:html:{name}:{digest}"


def get_fragments(keys: list[str | None], *, counted: bool = True) -> list[str | None]:
    """Rendered fragments for these keys, in one round trip (None where absent, or for every
    key when Redis is down), counting hits and misses with the whole values' (`counted=False`:
    per-user fragments, not metric values, are left out of the hit rate)."""
    wanted = [k for k in keys if k is not None]
    pending, rest = _pending_reads(wanted)
    raw = _call(lambda client: client.mget(rest)) if rest else []
    found = {**dict(zip(rest, raw or [None] * len(rest), strict=True)), **pending}
    out = [found.get(k) if k is not None else None for k in keys]
    if raw is not None and wanted and counted:
        hits = sum(found[k] is not None for k in wanted)
        _count("fragment_hits", hits)
        _count("fragment_misses", len(wanted) - hits)
    return [v.decode() if isinstance(v, bytes) else v for v in out]


def set_fragments(values: Mapping[str, str], ttl: int = TTL_SECONDS) -> None:
    """Store rendered fragments; they live as long as the values they were rendered from.
    Inside page_pass, with the page's other writes."""
    if not values:
        return
    writes = _page_writes.get()
    if writes is not None:
        for key, value in values.items():
            writes.put(key, value.encode(), ttl)
        return

    def store(client):
        pipe = client.pipeline(transaction=False)
        for key, value in values.items():
            pipe.set(key, value.encode(), ex=ttl)
        _flush_counts(pipe)
        pipe.execute()

    _call(store)


@contextmanager
def history_cache():
    """Engine reads inside use (and fill) the cache of closed-day blocks."""
    current = _history_cache.get()
    token = _history_cache.set(current if current is not None else {})
    try:
        yield
    finally:
        _history_cache.reset(token)


def computation_memo() -> dict | None:
    """Inside a cached computation, a dict shared by everything it reads (else None): identical
    reads and coverage lookups within one computation hit the database once."""
    return _history_cache.get()


def history_enabled() -> bool:
    return _history_cache.get() is not None


# GET each value or, when absent, take its single-flight lock ("<key>:lock"): one round trip
# for all. Each answer is the value (bytes), else 1 when the lock was taken, 0 when another
# reader holds it.
_GET_OR_LOCK = """
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value then
    out[i] = value
  elseif redis.call('SET', key .. ':lock', '1', 'NX', 'EX', ARGV[1]) then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""
_scripts: dict[int, object] = {}


def _get_or_lock(client, keys: list[str]) -> list:
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_GET_OR_LOCK)
    return script(keys=keys, args=[LOCK_SECONDS])  # type: ignore[operator]


def prefetch(keys) -> None:
    """Inside page_pass: look these values up, taking the lock of each one absent, in one
    round trip for all (the page's widget values, dashboard.views._slots); get_or_compute
    then reads its answer here. A lock the page took and never used is released with the
    page's writes."""
    writes = _page_writes.get()
    if writes is None:
        return
    wanted = [
        k
        for k in dict.fromkeys(keys)
        if k is not None and k not in writes.pending and k not in writes.prefetched
    ]
    found = _call(lambda client: _get_or_lock(client, wanted)) if wanted else None
    if found is not None:
        writes.prefetched.update(zip(wanted, found, strict=True))


def get_or_compute(key: str | None, compute, *, ttl: int = TTL_SECONDS, counted: bool = True):
    """Return the cached value for `key`, computing it at most once at a time across workers.
    `counted=False` leaves the lookup out of the hit rate (lists that are not metric values).
    The lookup and the lock are one round trip; inside page_pass the store and the lock's
    release go with the page's other writes, and a value the page stored is read back from
    them."""
    if key is None:  # Redis is down: straight to the database
        return compute()
    writes = _page_writes.get()
    if writes is not None and key in writes.pending:  # stored earlier in this page
        if counted:
            _record(True)
        return pickle.loads(writes.pending[key][0])  # noqa: S301
    lock_key = f"{key}:lock"
    if writes is not None and key in writes.prefetched:
        found = writes.prefetched.pop(key)
    else:
        found = (_call(lambda client: _get_or_lock(client, [key])) or [None])[0]
    if isinstance(found, bytes):
        if counted:
            _record(True)
        return pickle.loads(found)  # noqa: S301
    if counted:
        _record(False)
    got_lock = found == 1
    done_key = f"{key}:done"
    if not got_lock and _breaker_open_until <= time.monotonic():
        # Another worker is computing this value: block until it says it is done (no polling),
        # then pass the word on to the next waiter. Tricky: this page's own writes and locks go
        # first, so two pages each waiting on a lock the other holds never wait out the timeout.
        if writes is not None:
            writes.flush()
        woke = _call(
            lambda client: _blocking(client).blpop([done_key], timeout=WAIT_FOR_LOCK_SECONDS)
        )
        if woke:
            _call(lambda client: client.lpush(done_key, b"1"))
            raw = _call(lambda client: client.get(key))
            if raw is not None:
                return pickle.loads(raw)  # noqa: S301
    try:
        with history_cache():
            value = compute()
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if writes is not None:
            writes.put(key, payload, ttl)
            if got_lock:
                writes.locks.append(lock_key)
            got_lock = False
            return value

        def store(client):
            pipe = client.pipeline(transaction=False)
            pipe.set(key, payload, ex=ttl)
            if got_lock:
                _release_into(pipe, lock_key)
            _flush_counts(pipe)
            pipe.execute()

        _call(store)
        got_lock = False
        return value
    finally:
        if got_lock:  # the computation failed: let the next reader try

            def release(client):
                pipe = client.pipeline(transaction=False)
                _release_into(pipe, lock_key)
                pipe.execute()

            _call(release)
