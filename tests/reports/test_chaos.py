"""Chaos: racing dispatchers, a duplicated beat and workers killed (SIGKILL) between claim and
mark-sent, as separate processes against the test database. The SMTP server must get exactly
one message per (report, slot, recipient).

Each round (one daily slot) starts three `manage.py dispatch_reports` processes on the same tick
(two racing dispatchers and a duplicated beat) and kills one of them at a random moment after
the first claim of the round. The next round's dispatchers take over what a kill left behind
(a day later it is past the working timeout), and a last tick takes over the final round's. A message whose SMTP reply
arrived but whose worker died before recording it would be resent with the same Message-ID;
such resends are counted in `uncertain_handovers` and are the only duplicates allowed.
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

from reports.mail import message_id
from reports.models import ReportRun
from tests.reports.conftest import make_report
from tests.reports.smtp import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("CHAOS_ROUNDS", "3"))
REPORTS = 3
TIMEOUT = 60  # REPORTS_WORKING_TIMEOUT for the workers, in seconds
FIRST_SLOT = dt.datetime(2026, 8, 2, 22, 0, tzinfo=dt.UTC)  # 08:00 AEST, daily


def _env(port: int, media: Path) -> dict:
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
        "EMAIL_PORT": str(port),
        "EMAIL_TIMEOUT": "5",
        "MEDIA_ROOT": str(media),
        "REPORTS_WORKING_TIMEOUT": str(TIMEOUT),
        "LOG_LEVEL": "WARNING",
    }


def _dispatcher(env: dict, now: dt.datetime) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "dispatch_reports", "--now", now.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_first_claim(slot: dt.datetime, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ReportRun.objects.filter(slot=slot).exclude(status="pending").exists():
            return True
        time.sleep(0.005)
    return False


def test_racing_dispatchers_duplicated_beat_and_killed_workers_send_each_slot_once(
    org, owner, tmp_path
):
    rnd = random.Random()
    for i in range(REPORTS):
        make_report(
            org,
            owner,
            name=f"Chaos {i}",
            recipients=[f"r{i}@client.test"] + ([f"s{i}@client.test"] if i % 2 else []),
            widgets=["kpi:revenue"],
        )
    kills = Counter()
    with SMTPServer() as server:
        env = _env(server.port, tmp_path / "media")
        for round_no in range(ROUNDS):
            slot = FIRST_SLOT + dt.timedelta(days=round_no)
            tick_at = slot + dt.timedelta(seconds=rnd.randint(0, 50))
            procs = [_dispatcher(env, tick_at) for _ in range(3)]
            victim = rnd.choice(procs)
            if _wait_for_first_claim(slot):
                time.sleep(rnd.uniform(0, 1.5))
            if victim.poll() is None:
                victim.send_signal(signal.SIGKILL)
                kills["killed"] += 1
            else:
                kills["finished before the kill"] += 1
            for proc in procs:
                _, err = proc.communicate(timeout=120)
                assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
        # The next round's dispatchers took over runs the kills left behind; one last tick
        # past the working timeout takes over the last round's.
        recovery = _dispatcher(env, slot + dt.timedelta(seconds=TIMEOUT + 90))
        _, err = recovery.communicate(timeout=120)
        assert recovery.returncode == 0, err.decode()[-2000:]

    runs = list(ReportRun.objects.select_related("report"))
    assert len(runs) == REPORTS * ROUNDS
    assert {r.status for r in runs} == {"sent"}
    received = Counter(str(m["Message-ID"]) for m in server.messages)
    duplicates = 0
    for run in runs:
        for recipient in run.report.recipients:
            mid = message_id(run.report_id, run.slot, recipient)
            assert received[mid] >= 1, f"{mid} never arrived"
            if received[mid] > 1:
                # Only a resend after an unrecorded SMTP reply may repeat, with the same id.
                assert run.uncertain_handovers >= received[mid] - 1
                duplicates += received[mid] - 1
    expected = sum(len(r.report.recipients) for r in runs)
    summary = {
        "rounds": ROUNDS,
        "runs": len(runs),
        "expected_messages": expected,
        "received_messages": len(server.messages),
        "distinct_message_ids": len(received),
        "duplicates_same_message_id": duplicates,
        "taken_over_runs": sum(1 for r in runs if r.attempt > 1),
        "uncertain_handovers": sum(r.uncertain_handovers for r in runs),
        **kills,
    }
    out = ROOT / "artifacts" / "chaos.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print("chaos:", summary)
    assert len(received) == expected
    assert len(server.messages) == expected + duplicates
