"""The metric layer's own SQL: each source's event view, one file per source in `events/`
(docs/architecture.md, "Sources and metrics").

Each row of `metric_events_<source>` is one event of one record: which organisation, which
record (record_id), when (ts), whose it is (owner_id), the customer and the dimensions it can be
sliced by, and its additive measures (the columns `metrics.definitions.Source` names). "Opened"
and "closed" events feed state metrics: a record is open at T when it opened before T and did
not close before T; closed events are dated GREATEST(opened, closed), so the cumulative
(opened - closed) equals that definition even for inconsistent timestamps.

Everything reads these views: the daily summaries group them by local day, the live path
filters them by instant, drill-downs select their record_ids, and per-user statistics and
personal targets slice them by owner. Changing what a metric counts is an edit of one file
here, applied by a new migration that calls `apply_event_views()` (metrics/migrations/0006).

Tricky: related columns must cost nothing when a read does not slice by them. A source whose
events are a UNION ALL keeps them in two layers: `metric_rows_<source>` (the events, with
customer_id) and `metric_events_<source>`, which LEFT JOINs the customer (and product) by
primary key; PostgreSQL removes that join when nothing reads its columns. Single-select sources
use scalar sub-selects, which a flattened view never evaluates unless read. (Output columns of
a UNION cannot be pruned, so neither trick works inside one.)

This module imports nothing from Django, so migrations can read it.
"""

from __future__ import annotations

import re
from pathlib import Path

EVENTS_DIR = Path(__file__).resolve().parent / "events"
# Creation order; each file creates its rows view (if any) before the events view over it.
# The ledger (metrics/migrations/0007) reads the sales events, so it comes after them.
EVENT_FILES = ("sales", "pipeline", "jobs", "warranty", "customers", "activities", "ledger")
# The files as migration 0006 applied them, before the xero tables the ledger reads existed.
EVENT_FILES_0006 = EVENT_FILES[:6]

_VIEW = re.compile(r"CREATE OR REPLACE VIEW (\w+) AS", re.I)


def event_sql(source: str) -> str:
    """The SQL file that defines `source`'s event view(s)."""
    return (EVENTS_DIR / f"{source}.sql").read_text()


def view_statement(source: str, view: str) -> str:
    """The one CREATE OR REPLACE VIEW statement of `view` in `source`'s file."""
    match = re.search(rf"CREATE OR REPLACE VIEW {view} AS.*?;", event_sql(source), re.S)
    if match is None:
        raise LookupError(f"{view} is not defined in metrics/sql/events/{source}.sql")
    return match.group(0)


def event_views(sources: tuple[str, ...] = EVENT_FILES) -> list[str]:
    """Every view the files create, in creation order (a rows view before its events view)."""
    return [name for source in sources for name in _VIEW.findall(event_sql(source))]


def drop_event_views_sql(views: list[str] | None = None) -> str:
    """DROP VIEW for each event view, dependents first.

    Tricky: no CASCADE. Should anything else come to depend on an event view, the drop fails
    loudly instead of taking that object with it."""
    return "\n".join(f"DROP VIEW IF EXISTS {name};" for name in reversed(views or event_views()))


def apply_event_views(
    edited: dict[str, str] | None = None, sources: tuple[str, ...] = EVENT_FILES
) -> str:
    """Drop the event views and create them again from the files, in order: so a change to a
    view's column list (which CREATE OR REPLACE VIEW refuses) applies like any other.
    `edited` ({source: file text}) stands in for files, for tests that rewrite a definition;
    `sources` names the files a migration applies (an early migration, the files of its day).

    Tricky: a migration that calls this creates the ledger's view, which reads the xero app's
    tables, so it must depend on ("xero", "0001_initial") (as metrics/0007 does)."""
    texts = [(edited or {}).get(s) or event_sql(s) for s in sources]
    return "\n".join([drop_event_views_sql(event_views(sources)), *texts])
