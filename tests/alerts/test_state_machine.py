"""The state machine on its own: flapping, settling, snooze and no-data (alerts.evaluate.advance)."""

from __future__ import annotations

from alerts.evaluate import FLAP_CHANGES, SETTLE_CHECKS, Snapshot, advance

B, C, N = "breach", "clear", "no_data"


def replay(outcomes, pending=1, snoozed=""):
    snap, notices = Snapshot(), []
    for outcome in outcomes:
        step = advance(snap, outcome, pending_checks=pending, snoozed=snoozed)
        snap = step.snapshot
        notices += [e.notice for e in step.events if e.notice and not e.suppressed]
    return snap, notices


def test_fire_and_resolve_each_notify_once():
    snap, notices = replay([B, B, B, C, C])
    assert notices == ["fired", "resolved"]
    assert snap.state == "ok"


def test_flapping_sends_one_notice_then_quiet_until_it_settles():
    assert FLAP_CHANGES == 4
    # Firing and not, in turn: the 4th change in the window marks it flapping (one notice);
    # the changes after it tell nobody.
    snap, notices = replay([B, C, B, C, B, C, B, C])
    assert notices == ["fired", "resolved", "fired", "resolved", "flapping"]
    assert snap.flapping and snap.state == "ok"
    # It settles after SETTLE_CHECKS checks without a change; it stands firing and the last
    # notice said "resolved", so one "fired" follows.
    snap2, later = replay([B, C, B, C, B, C, B, C] + [B] * SETTLE_CHECKS)
    assert later[5:] == ["settled", "fired"]
    assert not snap2.flapping and snap2.notified


def test_snoozed_notices_wait_and_then_say_where_it_stands():
    snap, notices = replay([B, C, B], snoozed="snoozed until 11:00")
    assert notices == [] and not snap.notified
    step = advance(snap, B, pending_checks=1)  # the snooze is over, still firing
    assert [e.notice for e in step.events] == ["fired"]


def test_no_data_keeps_the_last_notice():
    snap, notices = replay([B, N, N, B, C])
    assert notices == ["fired", "resolved"]
