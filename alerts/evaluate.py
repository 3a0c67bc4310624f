"""Checking rules: state, not spam, and each notification written once (docs/alerts.md).

A check of a rule's series moves its AlertState by one reading (`advance`, a pure function):
`pending_checks` breaches in a row fire it, a resolve threshold holds it firing until the number
is back on the good side (alerts.conditions), k changes in the last n checks mark it flapping.
People are told when it fires and when it resolves: a series remembers whether the last notice
said "firing" (`notified`), and a check sends a notice only when that differs from where the
series stands. Snoozed or flapping, the notice waits; it goes out once the snooze ends or the
series settles, if it still applies.

Exactly once: an evaluator first claims each series' check slot with one conditional UPDATE
(`last_slot < slot`), so racing evaluators split the work and a second run in the same slot
finds nothing to do. A check that changes anything then locks its rule, writes the state, its
AlertEvents and their Notification rows (the outbox) in one transaction; senders take them from
there (alerts.delivery).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from alerts import system
from alerts.conditions import BREACH, CLEAR, NO_DATA, Reading, classify, line_words
from alerts.models import (
    AlertEvent,
    AlertRule,
    AlertState,
    Channel,
    Kind,
    Notice,
    Notification,
    State,
)
from alerts.readings import read_rules
from annotations.actions import note_alert_changes
from presentation.wording import exact_time

log = logging.getLogger("renoz.alerts")
CHECK_MINUTES = 5  # beat's cadence: one check per rule and series per slot
FLAP_WINDOW = 10  # n: the checks looked back over
FLAP_CHANGES = 4  # k: changes between firing and not firing in the window that mark flapping
SETTLE_CHECKS = 5  # a flapping series settles after this many checks without a change
NOTIFYING = (Notice.FIRED, Notice.RESOLVED, Notice.FLAPPING)


def check_slot(now: dt.datetime, minutes: int = CHECK_MINUTES) -> dt.datetime:
    """The slot a check at `now` belongs to: the start of its `minutes`-long block."""
    now = now.astimezone(dt.UTC)
    return now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)


@dataclass(frozen=True)
class Snapshot:
    state: str = State.OK
    breaches: int = 0
    notified: bool = False
    flapping: bool = False
    recent: tuple[str, ...] = ()


@dataclass
class EventSpec:
    from_state: str
    to_state: str
    notice: str = ""
    suppressed: str = ""


@dataclass
class Step:
    snapshot: Snapshot
    events: list[EventSpec] = field(default_factory=list)


def _changes(states) -> int:
    firing = [s == State.FIRING for s in states]
    return sum(1 for a, b in zip(firing, firing[1:], strict=False) if a != b)


def advance(prev: Snapshot, outcome: str, *, pending_checks: int, snoozed: str = "") -> Step:
    """The next snapshot after one check whose outcome is BREACH, CLEAR, NO_DATA or ERROR, and
    the events it makes. `snoozed` says why notices must wait (empty: they may go)."""
    breaches = 0
    if outcome == BREACH:
        breaches = prev.breaches + 1
        firing = prev.state == State.FIRING or breaches >= max(pending_checks, 1)
        new = State.FIRING if firing else State.PENDING
    elif outcome == CLEAR:
        new = State.OK
    elif outcome == NO_DATA:
        new = State.NO_DATA
    else:
        new = State.ERROR
    recent = (*prev.recent, new)[-FLAP_WINDOW:]
    events: list[EventSpec] = []
    if new != prev.state:
        events.append(EventSpec(prev.state, new))
    flapping = prev.flapping
    if not flapping and _changes(recent) >= FLAP_CHANGES and events:
        flapping = True
        events[-1].notice = Notice.FLAPPING
        events[-1].suppressed = snoozed
    elif flapping and len(recent) >= SETTLE_CHECKS and _changes(recent[-SETTLE_CHECKS:]) == 0:
        flapping = False
        events.append(EventSpec(new, new, Notice.SETTLED))
    notified = prev.notified
    desired = {State.FIRING: True, State.OK: False, State.PENDING: False}.get(new, notified)
    if desired != notified:
        if flapping:
            for event in events:
                if not event.notice:
                    event.suppressed = "flapping"
        elif snoozed:
            for event in events:
                if not event.notice:
                    event.suppressed = snoozed
        else:
            notice = Notice.FIRED if desired else Notice.RESOLVED
            plain = [e for e in events if not e.notice]
            if plain:
                plain[-1].notice = notice
            else:
                events.append(EventSpec(new, new, notice))
            notified = desired
    snapshot = Snapshot(new, breaches, notified, flapping, recent)
    return Step(snapshot, events)


# --- Applying checks -------------------------------------------------------------------------


def _snapshot(row: AlertState) -> Snapshot:
    return Snapshot(row.state, row.breaches, row.notified, row.flapping, tuple(row.recent))


def recipients_of(rule: AlertRule) -> list[str]:
    """Who is mailed: the rule's recipients; for system alerts the organisation's admins."""
    if rule.kind == Kind.SYSTEM:
        users = User.objects.filter(
            organization_id=rule.organization_id, role=Role.ADMIN, is_active=True
        )
        return sorted({u.email.lower() for u in users})
    return list(dict.fromkeys(a.strip().lower() for a in rule.recipients if a.strip()))


def _outbox(rule: AlertRule, recipients: list[str], event: AlertEvent, now) -> list[Notification]:
    rows = [
        Notification(
            organization_id=rule.organization_id,
            event=event,
            channel=Channel.EMAIL,
            target=address,
            next_attempt_at=now,
        )
        for address in recipients
    ]
    if rule.webhook_url:
        rows.append(
            Notification(
                organization_id=rule.organization_id,
                event=event,
                channel=Channel.WEBHOOK,
                target=rule.webhook_url,
                next_attempt_at=now,
            )
        )
    return rows


def _events_of(rule: AlertRule, series: str, step: Step, reading: Reading, now, seq: int):
    """The step's AlertEvents (numbered from seq + 1), and which of them notify."""
    threshold = line_words(rule)[:200]
    out = []
    for spec in step.events:
        seq += 1
        event = AlertEvent(
            rule_id=rule.pk,
            series=series,
            seq=seq,
            from_state=spec.from_state,
            to_state=spec.to_state,
            notice=spec.notice,
            value=reading.value,
            value_text=(reading.text or reading.error)[:200],
            threshold=threshold,
            suppressed=spec.suppressed[:200],
            at=now,
        )
        out.append((event, spec.notice in NOTIFYING and not spec.suppressed))
    return out


def _snooze_words(rule: AlertRule, now) -> str:
    if rule.snoozed_until is not None and rule.is_snoozed(now):
        tz = zoneinfo.ZoneInfo(rule.organization.timezone)
        return f"snoozed until {exact_time(rule.snoozed_until, tz)}"
    return ""


@dataclass
class Outcome:
    checked: int = 0
    skipped: int = 0
    events: int = 0
    notifications: int = 0
    metric_reads: int = 0


def _claim(pairs: list[tuple[int, str]], slot: dt.datetime) -> list[int]:
    """Take this slot's check of each (rule, series) for this evaluator; the AlertState ids it
    got. Racing evaluators get disjoint sets; a later run in the same slot gets none."""
    if not pairs:
        return []
    AlertState.objects.bulk_create(
        [AlertState(rule_id=r, series=s) for r, s in pairs], ignore_conflicts=True
    )
    rule_ids = [r for r, _ in pairs]
    series = [s for _, s in pairs]
    with connection.cursor() as cursor:
        # Tricky: the conditional UPDATE is the claim. Rows are locked in id order and a row
        # another evaluator holds is skipped (it is claiming it), so racing evaluators never
        # wait on each other or deadlock, and each series is checked once per slot.
        cursor.execute(
            """
            UPDATE alerts_alertstate s SET last_slot = %(slot)s
            WHERE s.id IN (
                SELECT t.id FROM alerts_alertstate t
                JOIN unnest(%(rules)s::bigint[], %(series)s::text[]) AS p(rule_id, series)
                  ON t.rule_id = p.rule_id AND t.series = p.series
                WHERE t.last_slot IS NULL OR t.last_slot < %(slot)s
                ORDER BY t.id
                FOR UPDATE OF t SKIP LOCKED
            )
            RETURNING s.id
            """,
            {"slot": slot, "rules": rule_ids, "series": series},
        )
        return [row[0] for row in cursor.fetchall()]


CHUNK = 200  # changed series written per transaction
# Column → its PostgreSQL array type, for the one-statement update of many series.
STATE_FIELDS = {
    "value": "float8",
    "value_text": "text",
    "last_checked_at": "timestamptz",
    "breaches": "int",
    "recent": "text",  # JSON text, cast to jsonb
}
CHANGE_FIELDS = {**STATE_FIELDS, "state": "text", "notified": "bool", "flapping": "bool"}


def _update_states(rows: list[AlertState], fields: dict[str, str]) -> None:
    """Write these columns of many series in one UPDATE … FROM unnest(…) (Django's
    bulk_update builds a CASE per row and column, which costs seconds at a thousand rows)."""
    if not rows:
        return
    params: dict[str, list] = {"id": [row.pk for row in rows]}
    for name in fields:
        values = [getattr(row, name) for row in rows]
        params[name] = [json.dumps(v) for v in values] if name == "recent" else values
    columns = ", ".join(f"%({name})s::{kind}[]" for name, kind in fields.items())
    names = ", ".join(fields)
    sets = ", ".join(
        f"{name} = u.{name}::jsonb" if name == "recent" else f"{name} = u.{name}" for name in fields
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE alerts_alertstate s SET {sets} "  # noqa: S608 - names are ours, values bound
            f"FROM unnest(%(id)s::bigint[], {columns}) AS u(id, {names}) WHERE s.id = u.id",
            params,
        )


def _write_changes(changes: list, rules: dict[int, AlertRule], slot, now, outcome) -> None:
    """In one transaction: lock the rules (in id order, so racing evaluators cannot
    deadlock), keep only the series whose slot claim is still ours, and write their state,
    their AlertEvents and the events' outbox rows together."""
    with transaction.atomic():
        rule_ids = sorted({row.rule_id for row, _step, _reading in changes})
        seqs = dict(
            AlertRule.objects.select_for_update()
            .filter(pk__in=rule_ids)
            .order_by("pk")
            .values_list("pk", "last_seq")
        )
        # Only while this slot's claim is still ours (a later slot may have run meanwhile).
        ours = set(
            AlertState.objects.select_for_update()
            .filter(pk__in=[row.pk for row, _s, _r in changes], last_slot=slot)
            .values_list("pk", flat=True)
        )
        rows, events, notify = [], [], []
        for row, step, reading in changes:
            if row.pk not in ours or row.rule_id not in seqs:
                continue
            rows.append(row)
            made = _events_of(rules[row.rule_id], row.series, step, reading, now, seqs[row.rule_id])
            seqs[row.rule_id] += len(made)
            events += [event for event, _ in made]
            notify += [event for event, tells in made if tells]
        _update_states(rows, CHANGE_FIELDS)
        AlertEvent.objects.bulk_create(events)  # PostgreSQL returns their ids
        note_alert_changes([(rules[e.rule_id], e) for e in events])  # on the charts too
        recipients: dict[int, list[str]] = {}
        outbox = []
        for event in notify:
            rule = rules[event.rule_id]
            if rule.pk not in recipients:
                recipients[rule.pk] = recipients_of(rule)
            outbox += _outbox(rule, recipients[rule.pk], event, now)
        Notification.objects.bulk_create(outbox)
        touched = [AlertRule(pk=pk, last_seq=seq) for pk, seq in seqs.items()]
        AlertRule.objects.bulk_update(touched, ["last_seq"])
    outcome.events += len(events)
    outcome.notifications += len(outbox)


def apply_readings(
    rules: dict[int, AlertRule], readings: dict[tuple[int, str], Reading], slot, now, outcome
):
    """Apply one slot's readings to the series this evaluator claimed."""
    claimed = _claim(list(readings), slot)
    quiet: list[AlertState] = []
    changes: list = []
    for row in AlertState.objects.filter(pk__in=claimed):
        rule = rules[row.rule_id]
        reading = readings[(row.rule_id, row.series)]
        kind = classify(rule, reading, firing=row.state == State.FIRING)
        step = advance(
            _snapshot(row),
            kind,
            pending_checks=rule.pending_checks,
            snoozed=_snooze_words(rule, now),
        )
        outcome.checked += 1
        row.value = reading.value
        row.value_text = (reading.text or reading.error)[:200]
        row.last_checked_at = now
        row.breaches = step.snapshot.breaches
        row.recent = list(step.snapshot.recent)
        if not step.events and step.snapshot.notified == row.notified:
            quiet.append(row)
            continue
        row.state = step.snapshot.state
        row.notified = step.snapshot.notified
        row.flapping = step.snapshot.flapping
        changes.append((row, step, reading))
    for start in range(0, len(changes), CHUNK):
        _write_changes(changes[start : start + CHUNK], rules, slot, now, outcome)
    _update_states(quiet, STATE_FIELDS)
    outcome.skipped += len(readings) - len(claimed)


def evaluate(now: dt.datetime | None = None, *, everything: bool = False, rule_ids=None) -> Outcome:
    """Check the rules that are due at `now` (every active rule once per 5-minute slot; with
    `everything`, once per minute), writing state changes, events and the outbox."""
    now = now or timezone.now()
    slot = check_slot(now, 1 if everything else CHECK_MINUTES)
    outcome = Outcome()
    system.ensure_rules()
    rules_qs = AlertRule.objects.filter(active=True).select_related("organization", "owner")
    if rule_ids is not None:
        rules_qs = rules_qs.filter(pk__in=rule_ids)
    rules = {r.pk: r for r in rules_qs}
    metric_rules = [r for r in rules.values() if r.kind == Kind.METRIC]
    due = set(
        AlertState.objects.filter(
            rule_id__in=[r.pk for r in metric_rules], last_slot__gte=slot
        ).values_list("rule_id", flat=True)
    )
    todo = [r for r in metric_rules if r.pk not in due]
    outcome.skipped += len(due)
    values, outcome.metric_reads = read_rules(todo, now)
    readings: dict[tuple[int, str], Reading] = {(pk, ""): v for pk, v in values.items()}
    for rule in rules.values():
        if rule.kind == Kind.SYSTEM:
            for series, reading in system.read_system(rule, now).items():
                readings[(rule.pk, series)] = reading
    apply_readings(rules, readings, slot, now, outcome)
    if outcome.events:
        log.info("alerts: %s", outcome)
    return outcome
