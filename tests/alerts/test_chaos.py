"""Chaos: two evaluators and two senders at once, as separate processes against the test
database, one of them killed with SIGKILL at a random moment each round. Every notification
the outbox holds must reach the real SMTP server (aiosmtpd) and the real HTTP receiver once.

Each round is a check slot (5 minutes apart on the `--at` clock). It starts new rules that
breach (they fire) and moves the rules that have fired back over their line (they resolve).
A killed evaluator loses its claimed checks for that slot (the next slot does them); a killed
sender leaves rows `sending`, which the next round takes over once ALERTS_SENDING_TIMEOUT has
passed on its clock and counts in `uncertain_resends`. A resend after an unrecorded receipt is
the only duplicate allowed, and it carries the same Message-ID or Idempotency-Key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from alerts.content import idempotency_key, message_id
from alerts.models import AlertEvent, AlertRule, AlertState, Notification
from tests.alerts.conftest import NOW, Receiver, make_rule, order
from tests.reports.smtp import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("CHAOS_ROUNDS", "4"))
RULES_PER_ROUND = 12
SLOT = dt.timedelta(minutes=5)


def _env(smtp_port: int) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "renoz.settings",
        "DATABASE_URL": url,
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_TIMEOUT": "5",
        "ALERTS_SENDING_TIMEOUT": "60",
        "ALERTS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "LOG_LEVEL": "WARNING",
    }


def _process(env: dict, at: dt.datetime, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "evaluate_alerts", "--at", at.isoformat(), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_first_claim(slot: dt.datetime, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if AlertState.objects.filter(last_slot__gte=slot).exists():
            return True
        time.sleep(0.005)
    return False


def _kill_a_sender_mid_batch(at: dt.datetime, procs, rnd, limit: float = 30.0) -> bool:
    """SIGKILL the process that holds this round's claimed notifications (`claimed_by` is
    "host:pid"), a few milliseconds into its batch."""
    pids = {str(p.pid): p for p in procs}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        holders = Notification.objects.filter(event__at=at, status="sending").values_list(
            "claimed_by", flat=True
        )
        for holder in holders:
            proc = pids.get(holder.rpartition(":")[2])
            if proc is not None and proc.poll() is None:
                time.sleep(rnd.uniform(0, 0.005))
                proc.send_signal(signal.SIGKILL)
                return True
        if all(p.poll() is not None for p in procs):
            return False
        time.sleep(0.001)
    return False


def test_racing_evaluators_and_senders_killed_at_random_send_each_notification_once(org, owner):
    rnd = random.Random()
    order(org, dt.date(2026, 8, 4), 50_000)  # yesterday's revenue: $500
    receiver = Receiver()
    receiver.thread.start()
    kills: Counter = Counter()
    try:
        with SMTPServer() as server:
            env = _env(server.port)
            rounds = ROUNDS + 2  # two last rounds without kills: every takeover is done
            for round_no in range(rounds):
                at = NOW + round_no * SLOT
                # Rules that have fired are moved back over their line (they resolve); a rule
                # whose check a kill lost is still breaching and fires in a later round.
                AlertRule.objects.filter(
                    kind="metric", threshold__gt=0, states__state="firing"
                ).update(threshold=0)
                if round_no < ROUNDS:
                    for i in range(RULES_PER_ROUND):
                        rule = make_rule(
                            org,
                            owner,
                            name=f"r{round_no}-{i}",
                            recipients=[f"a{i}@client.test"]
                            + ([f"b{i}@client.test"] if i % 2 else []),
                            webhook_url=receiver.url if i % 3 == 0 else "",
                        )
                procs = [_process(env, at) for _ in range(2)]
                procs += [_process(env, at, "--deliver-only") for _ in range(2)]
                if round_no < ROUNDS:
                    if round_no % 2:
                        # Odd rounds kill whichever process holds claimed rows, mid-batch.
                        killed = _kill_a_sender_mid_batch(at, procs, rnd)
                        kills["killed a sender holding claims" if killed else "no claim seen"] += 1
                    else:
                        # Even rounds kill any of the four, some time after the first check.
                        victim = rnd.choice(procs)
                        if _wait_for_first_claim(at - dt.timedelta(minutes=at.minute % 5)):
                            time.sleep(rnd.uniform(0, 0.3))
                        if victim.poll() is None:
                            victim.send_signal(signal.SIGKILL)
                            kills["killed"] += 1
                        else:
                            kills["finished before the kill"] += 1
                for proc in procs:
                    _, err = proc.communicate(timeout=180)
                    assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-3000:]
            # Rules a killed evaluator lost in their round are checked again in later rounds.
            recovery = _process(env, NOW + (rounds + 1) * SLOT)
            _, err = recovery.communicate(timeout=180)
            assert recovery.returncode == 0, err.decode()[-3000:]
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()

    rows = list(Notification.objects.select_related("event"))
    assert rows and {r.status for r in rows} == {"sent"}
    mails = Counter(str(m["Message-ID"]) for m in server.messages)
    hooks = Counter(r["headers"]["Idempotency-Key"] for r in receiver.requests)
    duplicates = 0
    for row in rows:
        if row.channel == "email":
            seen = mails[message_id(row.event_id, row.target)]
        else:
            seen = hooks[idempotency_key(row.event_id, row.target)]
        assert seen >= 1, f"notification {row.pk} never arrived"
        assert seen - 1 <= row.uncertain_resends, f"notification {row.pk} arrived {seen} times"
        duplicates += seen - 1
    # One event per change of state: each rule fired once and resolved once, in that order.
    for rule in AlertRule.objects.filter(kind="metric"):
        notices = list(
            AlertEvent.objects.filter(rule=rule).order_by("seq").values_list("notice", flat=True)
        )
        assert notices in (["fired", "resolved"], []), (rule.name, notices)
    fired = AlertEvent.objects.filter(notice="fired", rule__kind="metric").count()
    resolved = AlertEvent.objects.filter(notice="resolved", rule__kind="metric").count()
    summary = {
        "rounds": ROUNDS,
        "rules": ROUNDS * RULES_PER_ROUND,
        "fired": fired,
        "resolved": resolved,
        "notifications": len(rows),
        "emails_received": len(server.messages),
        "distinct_message_ids": len(mails),
        "webhooks_received": len(receiver.requests),
        "distinct_idempotency_keys": len(hooks),
        "duplicates_same_key": duplicates,
        "uncertain_resends": sum(r.uncertain_resends for r in rows),
        "taken_over": sum(1 for r in rows if r.attempts > 1),
        **kills,
    }
    out = ROOT / "artifacts" / "alerts_chaos.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print("alerts chaos:", summary)
    assert fired == resolved == ROUNDS * RULES_PER_ROUND
    assert len(mails) + len(hooks) == len(rows)
