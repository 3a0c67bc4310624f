"""The hybrid reader: whole days from the daily summaries (daily_* tables), the rest live.

A daily summary is trusted for local days before its watermark (the local day of its last refresh)
that no write has touched since (DirtyDay). Every other instant is read from the base
tables through the same event views (metrics.definitions). Callers ask for totals or daily
values over a list of windows, optionally sliced by owner and dimension filters, and broken
down by dimensions; `mode="live"` skips the daily summaries entirely, as the reference path. A slice the
summary cannot answer (an owner, or a dimension it does not keep) is read live.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import re
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from infra import replica
from metrics import cache as metric_cache
from metrics.coverage import LazyCoverage, SummaryCoverage, merge_ranges
from metrics.definitions import OWNER, Source
from metrics.periods import add_months, local_date, local_midnight

Key = tuple  # (day or None, *dims)


@dataclass(frozen=True)
class TimeWindow:
    """[start, end) in instants; start is None (since ever) or a local midnight."""

    start: dt.datetime | None
    end: dt.datetime


def _plan(
    window: TimeWindow, coverage: SummaryCoverage | None, tz: zoneinfo.ZoneInfo
) -> tuple[list[tuple[dt.date | None, dt.date]], list[tuple[dt.datetime | None, dt.datetime]]]:
    """Split a window into summary day-ranges and live instant-ranges that tile it exactly."""
    lo_day = local_date(window.start, tz) if window.start is not None else None
    # Days strictly before the end's local day are whole; the end's own day is partial
    # unless the end is that day's midnight, in which case it is not in the window at all.
    hi_day = local_date(window.end, tz)
    if window.start is not None and window.end <= window.start:
        return [], []
    view_spans = coverage.view_days(lo_day, hi_day) if coverage else []
    live: list[tuple[dt.datetime | None, dt.datetime]] = []
    cursor: dt.datetime | None = window.start
    for span_lo, span_hi in view_spans:
        span_start = local_midnight(span_lo, tz) if span_lo is not None else None
        if span_start is not None and (cursor is None or cursor < span_start):
            live.append((cursor, span_start))
        cursor = local_midnight(span_hi, tz)
    if cursor is None or cursor < window.end:
        live.append((cursor, window.end))
    return view_spans, live


def _num(value):
    return value if value is not None else 0


@dataclass(frozen=True)
class Slice:
    """Whose rows and which dimension values a read counts: `owner` a user id, `filters`
    {dimension: accepted values}. The empty slice is the whole organisation."""

    owner: int | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, owner=None, filters=None) -> Slice:
        items = sorted((k, tuple(sorted(set(v)))) for k, v in (filters or {}).items() if v)
        return cls(owner, tuple(items))

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.filters)

    def token(self) -> str:
        """For cache keys: empty for the whole organisation."""
        if self.owner is None and not self.filters:
            return ""
        parts = [f"o{self.owner}"] if self.owner is not None else []
        parts += [f"{k}={'|'.join(v)}" for k, v in self.filters]
        return ";".join(parts)

    def for_source(self, source: Source) -> Slice:
        """The filters that apply to `source` (a filter on a dimension it lacks is ignored)."""
        return Slice(self.owner, tuple((k, v) for k, v in self.filters if k in source.dims))


WHOLE = Slice()


def _accumulate(target: dict, key: Key, values) -> None:
    """Add cached sums (never None) to `target[key]`, a copy of them when it has none yet."""
    acc = target.get(key)
    if acc is None:
        target[key] = list(values)
    else:
        for i, value in enumerate(values):
            acc[i] += value


class Frame:
    """Measure sums keyed by (day or None, *dims), per window."""

    def __init__(self, source: Source, n_windows: int, dims: tuple[str, ...] | None = None):
        self.source = source
        self.dims = source.summary_dims if dims is None else dims
        self.data: list[dict[Key, list]] = [
            defaultdict(lambda: [0] * len(source.measures)) for _ in range(n_windows)
        ]

    def add(self, idx: int, key: Key, values) -> None:
        acc = self.data[idx][key]
        for i, value in enumerate(values):
            acc[i] += _num(value)

    def merge(self, idx: int, data: dict[Key, list]) -> None:
        """Add a cached block's or tail's sums (never None) into window `idx`: wholesale when
        the window is still empty, the usual case of a window that one block fills."""
        target = self.data[idx]
        if not target:
            target.update((key, list(values)) for key, values in data.items())
            return
        for key, values in data.items():
            _accumulate(target, key, values)

    def add_rows(self, rows, daily: bool) -> None:
        """Add query rows shaped (idx, [day,] *dims, *measures)."""
        width = daily + len(self.dims)
        for row in rows:
            key = row[1 : 1 + width]
            self.add(row[0], key if daily else (None, *key), row[1 + width :])

    def _matching(self, idx: int, measure: str, dims: dict):
        """(key, value of `measure`) for the rows whose dimensions match `dims` (a value or a
        collection of accepted values per dimension)."""
        m = self.source.measures.index(measure)
        wanted = {
            1 + self.dims.index(name): value if isinstance(value, (list, tuple, set)) else (value,)
            for name, value in dims.items()
        }
        for key, values in self.data[idx].items():
            if all(key[i] in accepted for i, accepted in wanted.items()):
                yield key, values[m]

    def total(self, idx: int, measure: str, **dims) -> int | Decimal:
        if not dims:  # the usual total: every row, no key to match (a series' every bucket)
            m = self.source.measures.index(measure)
            return sum((values[m] for values in self.data[idx].values()), 0)
        return sum((value for _, value in self._matching(idx, measure, dims)), 0)

    def by_day(self, idx: int, measure: str, **dims) -> dict[dt.date, int | Decimal]:
        out: dict[dt.date, int | Decimal] = defaultdict(int)
        for key, value in self._matching(idx, measure, dims):
            out[key[0]] += value
        return out

    def group(self, idx: int, key_of) -> dict:
        """Split window `idx` into one-window frames, one pass: `key_of((day, *dims))` names
        the group of each row (None drops it)."""
        groups: dict = {}
        for key, values in self.data[idx].items():
            name = key_of(key)
            if name is None:
                continue
            if name not in groups:
                groups[name] = Frame(self.source, 1, self.dims)
            _accumulate(groups[name].data[0], (None, *key[1:]), values)  # sums are never None
        return groups

    def absorb(self, other: Frame, idx: int = 0, into: int = 0) -> None:
        """Add another frame's window `idx` into this frame's window `into`."""
        target = self.data[into]
        for key, values in other.data[idx].items():
            _accumulate(target, key, values)  # a frame's sums are never None

    def by_dim(self, idx: int, measure: str, dim: str) -> dict[str, int | Decimal]:
        m = self.source.measures.index(measure)
        d = self.dims.index(dim)
        out: dict[str, int | Decimal] = defaultdict(int)
        for key, values in self.data[idx].items():
            out[key[1 + d]] += values[m]
        return out


HISTORY_YEARS = 12  # since-ever reads keep one block for everything before this many years


def history_blocks(lo: dt.date | None, hi: dt.date) -> list[tuple[dt.date | None, dt.date]]:
    """The local days [lo, hi) as cacheable blocks: everything before a year HISTORY_YEARS
    back (since-ever reads), whole years, whole months, and the part-months at either end. A
    write to a closed day drops only the blocks that hold it."""
    out: list[tuple[dt.date | None, dt.date]] = []
    cursor = lo
    if cursor is None:
        cursor = dt.date(hi.year - HISTORY_YEARS, 1, 1)
        out.append((None, cursor))
    while cursor < hi:
        next_year = dt.date(cursor.year + 1, 1, 1)
        if (cursor.month, cursor.day) == (1, 1) and next_year <= hi:
            step = next_year
        else:
            step = min(_next_month(cursor), hi)
        out.append((cursor, step))
        cursor = step
    return out


@dataclass(frozen=True)
class Wanted:
    """One engine read as read() takes it: a source's measures over windows, by day when
    `daily`, broken down by `by`, in the slice `where`."""

    source: Source
    windows: tuple[TimeWindow, ...]
    daily: bool = False
    by: tuple[str, ...] = ()
    where: Slice = WHOLE

    def grained(self) -> Wanted:
        """The same read of the grain that answers it. A slice or breakdown by a dimension
        only a finer grain keeps reads that grain's view and summary (sales by product
        category); every other read keeps the source's own."""
        for dim in (*self.by, *self.where.dims):
            if dim != OWNER and dim not in self.source.dims:
                raise ValueError(
                    f"{self.source.name} has no dimension {dim!r}; it has {self.source.dims}"
                )
        grain = self.source.grain((*self.by, *self.where.dims))
        return self if grain is self.source else replace(self, source=grain)

    @property
    def dims(self) -> tuple[str, ...]:
        """Its frame's dimensions: the summary's, then the others it breaks down by."""
        kept = self.source.summary_dims
        return kept + tuple(d for d in self.by if d not in kept)

    def shape(self, org_id: int, mode: str) -> tuple:
        """What two reads must share for one's windows to be taken from the other's frame."""
        return (org_id, self.source.summary, self.daily, self.dims, self.where, mode)

    def memo_key(self, org_id: int, mode: str) -> tuple:
        """The same read earlier in a computation has this key (its frame is not mutated)."""
        return (
            "read",
            org_id,
            self.source.name,
            self.windows,
            self.daily,
            self.by,
            self.where,
            mode,
        )


def read(
    org_id: int,
    tz: zoneinfo.ZoneInfo,
    source: Source,
    windows: list[TimeWindow],
    *,
    daily: bool = False,
    mode: str = "hybrid",
    coverage: dict[str, SummaryCoverage] | LazyCoverage | None = None,
    by: tuple[str, ...] = (),
    where: Slice = WHOLE,
) -> Frame:
    """Sum a source's measures over each window, keyed by day (when `daily`), the summary's
    dimensions and the `by` dimensions, counting only the rows in the slice `where`: from the
    summary where it is trusted and can answer the slice, else live from the event view.

    Inside `metrics.cache.history_cache()` (every cached computation), closed days (before
    today, and before a window's partial last day) come from cached day blocks, versioned by
    the writes that landed in their days; only the open tail is read from the database. The
    reads the page expects (`expect`) are made with the first one, in its round trip."""
    wanted = Wanted(source, tuple(windows), daily, tuple(by), where).grained()
    memo = metric_cache.computation_memo()
    memo_key = wanted.memo_key(org_id, mode)
    if memo is not None and memo_key in memo:
        return memo[memo_key]  # the same read earlier in this computation (frames are not mutated)
    inside = _from_read(memo, wanted, org_id, mode)
    if inside is not None:
        return inside
    ahead = _expected(org_id, mode)
    if ahead:
        return _read_many(org_id, tz, [wanted, *ahead], mode, coverage)[0]
    frame = _read(org_id, tz, wanted.source, windows, daily, mode, coverage, tuple(by), where)
    _remember(memo, {memo_key: (wanted, frame)}, org_id, mode)
    return frame


def _remember(memo: dict | None, frames: dict, org_id: int, mode: str) -> None:
    """Keep read frames ({memo key: (the read, its frame)}) for the rest of the computation:
    by their read, and by their shape for _from_read."""
    if memo is None:
        return
    for memo_key, (one, frame) in frames.items():
        memo[memo_key] = frame
        memo.setdefault(("shaped", one.shape(org_id, mode)), []).append((one.windows, frame))


def _from_read(memo: dict | None, one: Wanted, org_id: int, mode: str) -> Frame | None:
    """The frame of `one` taken from a frame of the same shape read earlier in the computation
    over all of its windows and more (the pipeline chart's windows since ever are the cards'
    too), or None. Its windows' sums are shared, not copied: frames are not mutated."""
    if memo is None:
        return None
    for windows, frame in memo.get(("shaped", one.shape(org_id, mode)), ()):
        if set(one.windows) <= set(windows):
            view = Frame(frame.source, 0, frame.dims)
            view.data = [frame.data[windows.index(window)] for window in one.windows]
            memo[one.memo_key(org_id, mode)] = view
            return view
    return None


def read_sources(
    org_id: int,
    tz: zoneinfo.ZoneInfo,
    reads: list[tuple[Source, list[TimeWindow], Slice]],
    *,
    mode: str = "hybrid",
    coverage: dict[str, SummaryCoverage] | LazyCoverage | None = None,
) -> list[Frame]:
    """read() of several sources, each (source, windows, slice): totals, not daily, no
    breakdown (the KPI cards' metrics). Their cached closed-day blocks and open tails are
    looked up in one round trip for all, not one per source, with those of the reads the
    page expects (`expect`: its charts'), and the open tails missing are read in one
    statement (issue 25)."""
    wanted = [
        Wanted(source, tuple(windows), where=where).grained() for source, windows, where in reads
    ]
    return _read_many(org_id, tz, [*wanted, *_expected(org_id, mode)], mode, coverage)[
        : len(wanted)
    ]


def expect(
    org_id: int,
    source: Source,
    windows: list[TimeWindow],
    *,
    daily: bool = False,
    by: tuple[str, ...] = (),
    where: Slice = WHOLE,
    payload: str | None,
) -> None:
    """Note, for the page (metrics.cache.page_pass), a read that computing the cached payload
    under `payload` (a chart's series or breakdown) makes. If the page's prefetch took that
    payload's lock (it is missing and this page computes it), the page's first engine read
    (the KPI cards' read_sources, else the first chart's) makes this read too: its blocks and
    tail in the same round trip, its missing tail in the same statement as the other
    sources' (issue 25). Outside a page, or without a key (Redis down), it does nothing; a
    read that could not be made is left to its builder, which says why."""
    memo = metric_cache.computation_memo()
    if memo is None or payload is None:
        return
    try:
        wanted = Wanted(source, tuple(windows), daily, tuple(by), where).grained()
    except ValueError:
        return
    memo.setdefault(("expected", org_id), []).append((payload, wanted))


def _expected(org_id: int, mode: str) -> list[Wanted]:
    """The reads noted by `expect` whose payload this page computes, taken from the page (so
    made once)."""
    memo = metric_cache.computation_memo()
    if memo is None or mode != "hybrid":
        return []
    noted = memo.pop(("expected", org_id), None) or []
    return [wanted for payload, wanted in noted if _computing(payload)]


def _computing(payload: str) -> bool:
    """Whether the page's prefetch took the lock of this payload: it was missing and the page
    computes it (metrics.cache.prefetch answers 1); a payload found (or being computed by
    another reader) is not read ahead."""
    return metric_cache.page_computes(payload)


def _read_many(
    org_id: int,
    tz: zoneinfo.ZoneInfo,
    wanted: list[Wanted],
    mode: str,
    coverage: dict[str, SummaryCoverage] | LazyCoverage | None,
) -> list[Frame]:
    """read() of each of these (grained) reads: the cached closed-day blocks and open tails
    of all of them in one round trip, the open tails missing of those whose blocks were all
    cached in one statement (_read_tails), the rest as read() reads it. A block or tail two
    reads share (the cards' and a chart's today) is read once."""
    memo = metric_cache.computation_memo()
    frames: dict[tuple, Frame] = {}
    plans: dict[tuple, _Plan] = {}
    read_now: dict[tuple, Wanted] = {}
    inside: list[Wanted] = []  # reads whose windows another of this batch reads
    for one in wanted:
        memo_key = one.memo_key(org_id, mode)
        if memo_key in frames or memo_key in plans:
            continue
        if memo is not None and memo_key in memo:
            frames[memo_key] = memo[memo_key]
            continue
        earlier = _from_read(memo, one, org_id, mode)
        if earlier is not None:
            frames[memo_key] = earlier
            continue
        if any(
            other.shape(org_id, mode) == one.shape(org_id, mode)
            and set(one.windows) < set(other.windows)
            for other in wanted
        ):
            inside.append(one)
            continue
        read_now[memo_key] = one
        windows = list(one.windows)
        frame, plan = _plan_read(
            org_id, tz, one.source, windows, one.daily, mode, one.by, one.where
        )
        if plan is None:
            _read_exact(
                org_id, tz, one.source, windows, one.daily, mode, coverage, one.where, frame
            )
            frames[memo_key] = frame
        else:
            plans[memo_key] = plan
    if plans:
        keys = [key for plan in plans.values() for key in plan.keys]
        tails = [key for plan in plans.values() for key in plan.tail_keys]
        found = metric_cache.get_blocks(keys, also=tails)
        known = {} if found is None else dict(zip([*keys, *tails], found, strict=True))
        _read_tails(list(plans.values()), known)
        for memo_key, plan in plans.items():
            frames[memo_key] = _finish(plan, known, coverage)
    _remember(memo, {key: (one, frames[key]) for key, one in read_now.items()}, org_id, mode)
    for one in inside:
        frames[one.memo_key(org_id, mode)] = _from_read(memo, one, org_id, mode) or read(
            org_id,
            tz,
            one.source,
            list(one.windows),
            daily=one.daily,
            mode=mode,
            coverage=coverage,
            by=one.by,
            where=one.where,
        )
    return [frames[one.memo_key(org_id, mode)] for one in wanted]


def _read_tails(plans: list[_Plan], known: dict) -> None:
    """The open tail spans the cache did not have (None or absent in `known`, by key) of reads
    whose closed days all came from the cache, in one statement for every source, each span
    once. Adds what it read to `known` and stores it; a span left out is read by _finish.

    Tricky: each source's live_sql is joined to the others' FULL JOIN … ON false, so each
    keeps its own columns and their types (NULL in the other sources' rows) and the sums are
    exactly what one statement per source reads; a UNION ALL would have to cast them alike."""
    arms = []
    claimed: set[str] = set()
    for plan in plans:
        if any(known.get(key) is None for key in plan.keys):
            continue  # its closed days are read, and its tail beside them (_finish)
        absent = [
            n
            for n, key in enumerate(plan.tail_keys)
            if known.get(key) is None and key not in claimed
        ]
        parts = [(i, *plan.spans[n]) for i, n in enumerate(absent)]
        if absent and _plain_live(parts, plan.tz):
            claimed.update(plan.tail_keys[n] for n in absent)
            arms.append((plan, absent, parts))
    if len(arms) < 2:
        return  # one source: _finish reads it as before
    # Each arm's columns: its mark (never NULL in its own rows), idx, day, dims, measures.
    width = [3 + len(plan.frame.dims) + len(plan.source.measures) for plan, *_ in arms]
    params: dict = {}
    joined = []
    for k, (plan, _absent, parts) in enumerate(arms):
        sql, own = live_sql(
            plan.org_id, plan.tz, plan.source, parts, True, plan.frame.dims, plan.where, mark=k
        )
        # Tricky: each arm's parameters renamed apart (every live_sql names its own "org",
        # "tz", "lo0"…); the names are ours, never input.
        sql = re.sub(r"%\((\w+)\)s", f"%(a{k}_\\1)s", sql)
        params.update({f"a{k}_{name}": value for name, value in own.items()})
        arm = f"({sql}) a{k}"
        joined.append(arm if k == 0 else f"FULL JOIN {arm} ON false")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT * FROM {' '.join(joined)}", params)
        rows = cursor.fetchall()
    fresh: dict[str, object] = {}
    for k, (plan, absent, _parts) in enumerate(arms):
        start = sum(width[:k])
        live = Frame(plan.source, len(absent), plan.frame.dims)
        live.add_rows([row[start + 1 : start + width[k]] for row in rows if row[start] == k], True)
        for i, n in enumerate(absent):
            known[plan.tail_keys[n]] = fresh[plan.tail_keys[n]] = dict(live.data[i])
    metric_cache.set_blocks(fresh, ttl=metric_cache.TTL_SECONDS)


@dataclass
class _Plan:
    """A cached read's closed-day blocks and open tail, and their keys (_read's first half)."""

    org_id: int
    tz: zoneinfo.ZoneInfo
    source: Source
    daily: bool
    mode: str
    where: Slice
    frame: Frame
    needed: dict[tuple[dt.date | None, dt.date], list[int]]
    blocks: list[tuple[dt.date | None, dt.date]]
    keys: list[str]
    tail: list[tuple[int, dt.datetime | None, dt.datetime]]
    spans: list[tuple[dt.datetime | None, dt.datetime]]
    tail_keys: list[str]  # one per span
    # Part-month blocks of a closed month: block index -> (the key of that month's daily
    # block of this shape, the block's days [lo, hi)), so a missing part can be cut out of it.
    months: dict[int, tuple[str, dt.date, dt.date]] = field(default_factory=dict)


def _read(org_id, tz, source: Source, windows, daily, mode, coverage, by, where: Slice) -> Frame:
    frame, plan = _plan_read(org_id, tz, source, windows, daily, mode, by, where)
    if plan is None:
        _read_exact(org_id, tz, source, windows, daily, mode, coverage, where, frame)
        return frame
    # The blocks and the tail in one round trip.
    found = metric_cache.get_blocks(plan.keys, also=plan.tail_keys)
    known = {} if found is None else dict(zip([*plan.keys, *plan.tail_keys], found, strict=True))
    return _finish(plan, known, coverage)


def _plan_read(org_id, tz, source: Source, windows, daily, mode, by, where: Slice):
    """(the empty frame, the read's blocks and tail keyed), or (frame, None) when the read
    does not go through the cache of closed-day blocks."""
    dims = source.summary_dims + tuple(d for d in by if d not in source.summary_dims)
    frame = Frame(source, len(windows), dims)
    versions = None
    if mode == "hybrid" and metric_cache.history_enabled():
        versions = metric_cache.history(org_id, source.name)
        # A read sliced or broken down by a live dimension carries its per-dimension
        # versions too (metrics/cache.py): a write moving only that dimension drops it.
        for part in metric_cache.dimension_parts([source.name], (*by, *where.dims)):
            extra = metric_cache.history(org_id, part)
            versions = None if versions is None or extra is None else versions.joined(extra)
    if versions is None:
        return frame, None
    today = local_date(timezone.now(), tz)
    needed: dict[tuple[dt.date | None, dt.date], list[int]] = defaultdict(list)
    tail: list[tuple[int, dt.datetime | None, dt.datetime]] = []
    for idx, window in enumerate(windows):
        if window.start is not None and window.end <= window.start:
            continue
        closed_hi = min(today, local_date(window.end, tz))
        lo = local_date(window.start, tz) if window.start is not None else None
        tail_start = window.start
        if lo is None or lo < closed_hi:
            for block in history_blocks(lo, closed_hi):
                needed[block].append(idx)
            tail_start = local_midnight(closed_hi, tz)
        if tail_start is None or window.end > tail_start:
            tail.append((idx, tail_start, window.end))
    shape = hashlib.sha256(f"{daily}:{','.join(dims)}:{where.token()}".encode()).hexdigest()[:12]
    blocks = list(needed)
    # Tricky: the open tail is cached span by span, not by which windows hold it, so every
    # read of a source's today (the cards' range and since-ever windows, a chart's range,
    # targets' month) shares one read of it.
    spans = list(dict.fromkeys((lo, hi) for _, lo, hi in tail))
    # The open tail moves only with writes to the source, and each write bumps its version.
    # Tricky: it is read and cached by day whatever the frame (a tail lies within one local
    # day: today, or a comparison's partial last day, so that costs no rows), so the cards'
    # totals and a chart's daily series of a source share one tail read.
    tail_shape = hashlib.sha256(f"span:{','.join(dims)}:{where.token()}".encode()).hexdigest()
    # Tricky: a part-month block is keyed by its exact days, so every custom range's edges
    # would be new keys. A part of a closed month is cut out of that month's daily block of
    # the same dimensions and slice when the cache has it (metrics.warming.warm_months keeps
    # the last MONTHS_WARMED months' whole-organisation ones; a daily chart's read leaves its
    # whole months too), so any edge inside it is served from the cache.
    daily_shape = hashlib.sha256(f"True:{','.join(dims)}:{where.token()}".encode()).hexdigest()
    months = {}
    for n, (lo, hi) in enumerate(blocks):
        if lo is None:
            continue
        first = lo.replace(day=1)
        end = _next_month(first)
        if (lo, hi) != (first, end) and hi <= end <= today:
            months[n] = (versions.key(daily_shape[:12], first, end), lo, hi)
    plan = _Plan(
        org_id=org_id,
        tz=tz,
        source=source,
        daily=daily,
        mode=mode,
        where=where,
        frame=frame,
        needed=needed,
        blocks=blocks,
        keys=[versions.key(shape, lo, hi) for lo, hi in blocks],
        tail=tail,
        spans=spans,
        tail_keys=[versions.tail_key(tail_shape[:12], [(0, lo, hi)]) for lo, hi in spans],
        months=months,
    )
    return frame, plan


def _days_of(month: dict, lo: dt.date, hi: dt.date, daily: bool) -> dict:
    """The days [lo, hi) of a month's daily block, keyed by day when `daily`, else summed
    over the days (key (None, *dims))."""
    out: dict = {}
    for key, values in month.items():
        if lo <= key[0] < hi:
            _accumulate(out, key if daily else (None, *key[1:]), values)
    return out


def _cut_from_months(plan: _Plan, cached: list, missing: list[int]) -> list[int]:
    """Fill the missing part-month blocks the cache has the whole month of (daily), storing
    them under their own keys; returns the blocks still missing. A block served so counts as
    a hit: no database read made it."""
    wanted = [n for n in missing if n in plan.months]
    if not wanted:
        return missing
    month_keys = list(dict.fromkeys(plan.months[n][0] for n in wanted))
    found = metric_cache.get_blocks(month_keys, counted=False) or [None] * len(month_keys)
    by_key = dict(zip(month_keys, found, strict=True))
    fresh: dict[str, object] = {}
    for n in wanted:
        key, lo, hi = plan.months[n]
        if by_key[key] is not None:
            cached[n] = fresh[plan.keys[n]] = _days_of(by_key[key], lo, hi, plan.daily)
    metric_cache.set_blocks(fresh)
    metric_cache.count_served(len(fresh))
    return [n for n in missing if cached[n] is None]


def _finish(plan: _Plan, known: dict, coverage) -> Frame:
    """Fill a planned read's frame from what the cache had (`known`: blocks' and tail spans'
    values by key, None or absent where it had none; empty when Redis is unreachable), reading
    the rest, which it adds to `known` (a read after it in the same batch shares it)."""
    org_id, tz, source, daily, where = plan.org_id, plan.tz, plan.source, plan.daily, plan.where
    frame, blocks, keys, spans = plan.frame, plan.blocks, plan.keys, plan.spans
    cached: list = [known.get(key) for key in keys]
    by_span: list = [known.get(key) for key in plan.tail_keys]
    missing = _cut_from_months(plan, cached, [n for n, value in enumerate(cached) if value is None])
    known.update((keys[n], value) for n, value in enumerate(cached) if value is not None)
    absent = [n for n, value in enumerate(by_span) if value is None]
    live_parts = [(i, *spans[n]) for i, n in enumerate(absent)]
    live = Frame(source, len(absent), frame.dims) if absent else None
    tail_done = False
    if missing:
        computed = Frame(source, len(missing), frame.dims)
        block_windows = [
            TimeWindow(
                local_midnight(blocks[n][0], tz) if blocks[n][0] is not None else None,  # type: ignore[arg-type]
                local_midnight(blocks[n][1], tz),
            )
            for n in missing
        ]
        # Closed days may come from a streaming replica (infra.replica): with its own coverage,
        # so the summary rows and the dirty-day markers agree. The open tail stays below.
        using = replica.history_alias(org_id)
        if using != DEFAULT_DB_ALIAS:
            coverage = LazyCoverage(org_id, tz, using)
        beside = (live_parts, live) if live is not None and using == DEFAULT_DB_ALIAS else None
        tail_done = _read_exact(
            org_id,
            tz,
            source,
            block_windows,
            daily,
            plan.mode,
            coverage,
            where,
            computed,
            using,
            beside,
        )
        fresh: dict[str, object] = {}
        for i, n in enumerate(missing):
            cached[n] = known[keys[n]] = fresh[keys[n]] = dict(computed.data[i])
        metric_cache.set_blocks(fresh)
    for block, data in zip(blocks, cached, strict=True):
        for idx in plan.needed[block]:
            frame.merge(idx, data)
    if live is not None:
        if not tail_done:
            _read_live(org_id, tz, source, live_parts, True, live, where)
        fresh = {}
        for i, n in enumerate(absent):
            by_span[n] = known[plan.tail_keys[n]] = fresh[plan.tail_keys[n]] = dict(live.data[i])
        metric_cache.set_blocks(fresh, ttl=metric_cache.TTL_SECONDS)
    at = {span: n for n, span in enumerate(spans)}
    for idx, lo, hi in plan.tail:
        by_day = by_span[at[(lo, hi)]]
        if daily:
            frame.merge(idx, by_day)
        else:
            for key, values in by_day.items():
                frame.add(idx, (None, *key[1:]), values)
    return frame


def _read_exact(
    org_id,
    tz,
    source: Source,
    windows,
    daily,
    mode,
    coverage,
    where: Slice,
    frame: Frame,
    using: str = DEFAULT_DB_ALIAS,
    beside: tuple[list, Frame] | None = None,
) -> bool:
    """Fill `frame` from the database `using`: summary parts where the summary is trusted, the rest
    live. `beside` (the open tail's parts and frame): read in the same statement as the summary
    when the window needs nothing else live; returns whether it was."""
    cov = None
    if mode == "hybrid" and where.owner is None and source.covers((*frame.dims, *where.dims)):
        # LazyCoverage shares one coverage read with every read of the same computation.
        cov = (coverage or LazyCoverage(org_id, tz, using)).get(source.summary)
    view_parts: list[tuple[int, dt.date | None, dt.date]] = []
    live_parts: list[tuple[int, dt.datetime | None, dt.datetime]] = []
    for idx, window in enumerate(windows):
        spans, live = _plan(window, cov, tz)
        view_parts += [(idx, lo, hi) for lo, hi in spans]
        live_parts += [(idx, lo, hi) for lo, hi in live]
    if view_parts and not live_parts and beside is not None and _plain_live(beside[0], tz):
        _read_view(org_id, source, view_parts, daily, frame, where, using, beside=(tz, *beside))
        return True
    if view_parts:
        _read_view(org_id, source, view_parts, daily, frame, where, using)
    if live_parts:
        _read_live(org_id, tz, source, live_parts, daily, frame, where, using)
    return False


def _plain_live(parts, tz) -> bool:
    """Whether _read_live reads these parts with live_sql (not bucketed)."""
    return not (
        len(parts) > 2 and all(_at_midnight(b, tz) for _, lo, hi in parts for b in (lo, hi))
    )


def group_by_positions(n: int) -> str:
    """ "1, 2, …, n": a GROUP BY of the first n output columns."""
    return ", ".join(str(i + 1) for i in range(n))


def slice_sql(where: Slice, params: dict | list, alias: str = "") -> str:
    """SQL conditions for a slice, adding its parameters: named into a dict, positional into a
    list (dimension names come from the definitions, never from input)."""
    conditions = []
    values: list[tuple[str, object]] = []
    if where.owner is not None:
        values.append((f"{alias}{OWNER} = {{}}", where.owner))
    values += [(f"{alias}{dim} = ANY({{}})", list(accepted)) for dim, accepted in where.filters]
    for n, (condition, value) in enumerate(values):
        if isinstance(params, dict):
            params[f"s{n}"] = value
            conditions.append(" AND " + condition.format(f"%(s{n})s"))
        else:
            params.append(value)
            conditions.append(" AND " + condition.format("%s"))
    return "".join(conditions)


def _next_month(day: dt.date) -> dt.date:
    return add_months(day.replace(day=1), 1)


def _day_zones(parts) -> list[tuple[dt.date, dt.date]]:
    """The day ranges that must be summed day by day so every part is a sum of whole months
    and single days: the part-months at each part's edges."""
    zones = []
    for _, lo, hi in parts:
        if lo is not None and lo.day != 1:
            zones.append((lo, min(_next_month(lo), hi)))
        if hi.day != 1:
            zones.append((max(hi.replace(day=1), lo or dt.date.min), hi))
    return merge_ranges(zones)


def _read_view(
    org_id,
    source: Source,
    parts,
    daily: bool,
    frame: Frame,
    where: Slice,
    using: str = DEFAULT_DB_ALIAS,
    beside: tuple | None = None,
) -> None:
    """Sum the daily summary over many day-ranges [lo, hi) in one index range scan: by day for
    daily frames, else by month, and by day only at part-month edges; the rows are then
    shared out among the parts. `beside` (tz, the open tail's parts, its frame): the tail's
    live sums in the same statement (UNION ALL), so a cold read of a source is one statement
    (issue 25)."""
    params: dict = {"org": org_id, "hi": max(hi for _, _, hi in parts)}
    lower = ""
    if all(lo is not None for _, lo, _ in parts):
        params["lo"] = min(lo for _, lo, _ in parts)
        lower = " AND day >= %(lo)s"
    sliced = slice_sql(where, params)
    if daily:
        bucket, whole_month = "day", "false"
    else:
        zones = []
        for n, (lo, hi) in enumerate(_day_zones(parts)):
            params[f"zl{n}"], params[f"zh{n}"] = lo, hi
            zones.append(f"(day >= %(zl{n})s AND day < %(zh{n})s)")
        in_zone = " OR ".join(zones) or "false"
        # Tricky: day::timestamp, so the month is cut without the session's time zone (a
        # date's date_trunc would go through timestamptz twice a row: 15 % of a long read).
        bucket = f"CASE WHEN {in_zone} THEN day ELSE date_trunc('month', day::timestamp)::date END"
        whole_month = f"NOT ({in_zone})"
    dims = "".join(f", {d}" for d in frame.dims)
    sums = ", ".join(f"SUM({m})" for m in source.measures)
    group = group_by_positions(2 + len(frame.dims))
    sql = (
        f"SELECT {bucket}, {whole_month}{dims}, {sums} FROM {source.summary} "
        f"WHERE organization_id = %(org)s AND day < %(hi)s{lower}{sliced} "
        f"GROUP BY {group}"
    )
    if beside is None:
        sql += " ORDER BY 1"
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        tz, tail, tail_frame = beside
        tail_sql, tail_params = live_sql(org_id, tz, source, tail, True, tail_frame.dims, where)
        params.update(tail_params)  # the same organisation and slice: the same values
        # Tricky: one column list for both arms. The summary's rows are (NULL, bucket, whole
        # month, …), the tail's (idx, day, NULL, …): the tail is read by day whatever the
        # frame (see _read); measures sum to the same types.
        width = len(frame.dims)
        names = ", ".join(f"t.{d}" for d in tail_frame.dims)
        measures = ", ".join(f"t.{m}" for m in source.measures)
        sql = (
            f"SELECT NULL::integer, v.* FROM ({sql}) v UNION ALL "
            f"SELECT t.idx, t.day, NULL::boolean{', ' + names if names else ''}, {measures} "
            f"FROM ({tail_sql}) t"
        )
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            both = cursor.fetchall()
        rows = sorted((row[1:] for row in both if row[0] is None), key=lambda row: row[0])
        tail_rows = [row for row in both if row[0] is not None]
        tail_frame.add_rows(
            [(row[0], row[1], *row[3 : 3 + width], *row[3 + width :]) for row in tail_rows],
            True,
        )
    starts = [row[0] for row in rows]
    width = len(frame.dims)
    for idx, lo, hi in parts:
        first = 0 if lo is None else bisect.bisect_left(starts, lo)
        for row in rows[first : bisect.bisect_left(starts, hi)]:
            if row[1] and _next_month(row[0]) > hi:
                continue  # a whole month that runs past the part (its days are not in it)
            key = (row[0] if daily else None, *row[2 : 2 + width])
            frame.add(idx, key, row[2 + width :])


def live_sql(
    org_id,
    tz,
    source: Source,
    parts,
    daily: bool,
    dims: tuple[str, ...],
    where: Slice = WHOLE,
    mark: int | None = None,
) -> tuple[str, dict]:
    """SQL summing a source's events over instant ranges [lo, hi) straight from its event view,
    with columns [mark,] idx, [day,] *dims, *measures (named as in the daily summaries); `mark`
    a constant first column (the arm of a joined read, _read_tails)."""
    # Tricky: one reference to the event view for every part, its constant bounds OR'ed in
    # the WHERE clause. PostgreSQL pushes constant bounds into each UNION ALL arm of the view,
    # so every arm is an index range scan (a BitmapOr of the parts' ranges); bounds taken from
    # a joined list of windows alone are not pushed down and scan the whole table. The list
    # (VALUES) only names each row's part, so a row in two overlapping parts counts in both.
    # One view reference instead of one per part halves the statement's planning, which is
    # most of a tail read's time (docs/scaling.md, issue 25).
    sums = ", ".join(f"SUM(e.{m}) AS {m}" for m in source.measures)
    params: dict = {"org": org_id, "tz": str(tz)}
    sliced = slice_sql(where, params, "e.")
    ranges, rows = [], []
    for n, (idx, lo, hi) in enumerate(parts):
        params[f"hi{n}"] = hi
        if lo is None:
            ranges.append(f"e.ts < %(hi{n})s")
            low = "'-infinity'::timestamptz"
        else:
            params[f"lo{n}"] = lo
            ranges.append(f"(e.ts >= %(lo{n})s AND e.ts < %(hi{n})s)")
            low = f"%(lo{n})s::timestamptz"
        rows.append(f"({int(idx)}, {low}, %(hi{n})s::timestamptz)")
    if len(parts) == 1:
        part, joined = f"{int(parts[0][0])} AS idx", ""
    else:
        part = "w.idx"
        joined = f" JOIN (VALUES {', '.join(rows)}) w(idx, lo, hi) ON e.ts >= w.lo AND e.ts < w.hi"
    day = ["(e.ts AT TIME ZONE %(tz)s)::date AS day"] if daily else []
    keys = [*([f"{int(mark)} AS mark"] if mark is not None else []), part, *day]
    keys += [f"e.{d}" for d in dims]
    sql = (
        f"SELECT {', '.join(keys)}, {sums} FROM {source.events} e{joined} "
        f"WHERE e.organization_id = %(org)s AND ({' OR '.join(ranges)}){sliced} "
        f"GROUP BY {group_by_positions(len(keys))}"
    )
    return sql, params


def _read_live(
    org_id,
    tz,
    source: Source,
    parts,
    daily: bool,
    frame: Frame,
    where: Slice,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    if len(parts) > 2 and all(_at_midnight(b, tz) for _, lo, hi in parts for b in (lo, hi)):
        _read_live_bucketed(org_id, tz, source, parts, daily, frame, where, using)
        return
    sql, params = live_sql(org_id, tz, source, parts, daily, frame.dims, where)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        frame.add_rows(cursor.fetchall(), daily)


def _at_midnight(instant: dt.datetime | None, tz) -> bool:
    return instant is None or instant == local_midnight(local_date(instant, tz), tz)


def _read_live_bucketed(
    org_id, tz, source: Source, parts, daily: bool, frame: Frame, where: Slice, using: str
) -> None:
    """Many whole-day parts (the closed-day blocks of a slice the summary cannot answer) in
    one range scan of the event view: each row is put in the stretch between consecutive part
    bounds it falls in (width_bucket), and each part sums its stretches."""
    bounds = sorted({b for _, lo, hi in parts for b in (lo, hi) if b is not None})
    params: dict = {"org": org_id, "tz": str(tz), "bounds": bounds, "hi": bounds[-1]}
    lower = ""
    if all(lo is not None for _, lo, _ in parts):
        params["lo"] = bounds[0]
        lower = " AND e.ts >= %(lo)s"
    sliced = slice_sql(where, params, "e.")
    day = ["(e.ts AT TIME ZONE %(tz)s)::date"] if daily else []
    keys = ["width_bucket(e.ts, %(bounds)s::timestamptz[])", *day, *(f"e.{d}" for d in frame.dims)]
    sums = ", ".join(f"SUM(e.{m})" for m in source.measures)
    sql = (
        f"SELECT {', '.join(keys)}, {sums} FROM {source.events} e "
        f"WHERE e.organization_id = %(org)s AND e.ts < %(hi)s{lower}{sliced} "
        f"GROUP BY {group_by_positions(len(keys))}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # Stretch k holds bounds[k-1] <= ts < bounds[k] (stretch 0: everything before bounds[0]).
    position = {b: k for k, b in enumerate(bounds)}
    by_stretch: dict[int, list] = defaultdict(list)
    for row in rows:
        by_stretch[row[0]].append(row[1:])
    width = daily + len(frame.dims)
    for idx, lo, hi in parts:
        first = 0 if lo is None else position[lo] + 1
        for stretch in range(first, position[hi] + 1):
            for row in by_stretch.get(stretch, ()):
                key = row[:width] if daily else (None, *row[:width])
                frame.add(idx, key, row[width:])
