"""History reads go to a streaming replica when it has caught up, and to the primary otherwise.

The test starts its own primary and streaming replica (initdb, then pg_basebackup -R) in a
temporary directory on spare ports, so nothing in the machine's own PostgreSQL changes, and
removes them afterwards. Django runs against them in a subprocess (tests/scale/replica_driver.py),
away from pytest-django's test database; the metric engine's test migrates the primary first.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings

from accounts.models import Organization
from infra import replica

REPO = Path(__file__).resolve().parent.parent.parent
SERVER_PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def server_bindir() -> Path | None:
    """PostgreSQL's server programs: $PG_BINDIR, the newest /usr/lib/postgresql/N/bin, or PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
        reverse=True,
    )
    on_path = shutil.which("initdb")
    candidates = [os.environ.get("PG_BINDIR"), *versions, on_path and Path(on_path).parent]
    for candidate in candidates:
        if candidate and all((Path(candidate) / p).exists() for p in SERVER_PROGRAMS):
            return Path(candidate)
    return None


def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A primary and its streaming replica, each a postgres server of our own."""

    bindir: Path
    root: Path
    as_user: list[str]
    primary_port: int
    replica_port: int

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / program), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def pg_ctl(self, name: str, action: str) -> None:
        data = str(self.root / name)
        extra = ["-l", str(self.root / f"{name}.log")] if action == "start" else ["-m", "fast"]
        self.run("pg_ctl", action, "-D", data, "-w", "-t", "30", *extra)

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/postgres"

    def sql(self, port: int, query: str, params: tuple = ()):
        with psycopg.connect(self.url(port), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchone() if cursor.description else None

    def wait_until_streaming(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                lsn = self.sql(self.primary_port, "SELECT pg_current_wal_lsn()")[0]
                if self.sql(self.replica_port, "SELECT pg_last_wal_replay_lsn() >= %s", (lsn,))[0]:
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not start streaming")
            time.sleep(0.1)

    def manage(self, *args: str) -> str:
        """Run a manage.py command in Django pointed at this primary and replica, and the test
        run's own Redis database; its output."""
        environ = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "renoz.settings",
            "DATABASE_URL": self.url(self.primary_port),
            "DATABASE_REPLICA_URL": self.url(self.replica_port),
            "REDIS_URL": django_settings.REDIS_URL,
            "LOG_LEVEL": "ERROR",
        }
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def django(self, scenario: str) -> dict:
        """Run one scenario of replica_driver.py; what it observed."""
        code = f"from tests.scale.replica_driver import main; main({scenario!r})"
        out = self.manage("shell", "-c", code)
        line = next(x for x in out.splitlines() if x.startswith("RESULT "))
        return json.loads(line.removeprefix("RESULT "))


@pytest.fixture(scope="module")
def cluster():
    bindir = server_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server programs (initdb, pg_ctl, pg_basebackup, postgres) not found in "
            "$PG_BINDIR, /usr/lib/postgresql/*/bin or PATH: cannot start a primary and replica"
        )
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="renoz-replica-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: run the servers as "postgres"
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, and initdb needs an unprivileged 'postgres' account")
        os.chown(root, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    c = Cluster(bindir, root, as_user, spare_port(), spare_port())
    started: list[str] = []
    try:
        c.run("initdb", "-D", str(root / "primary"), "-U", "postgres", "--auth=trust")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{root}'",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "hot_standby": "on",
            "fsync": "off",
            "shared_buffers": "16MB",
            "max_connections": "30",
        }
        with open(root / "primary" / "postgresql.conf", "a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in {**settings, "port": c.primary_port}.items())
        with open(root / "primary" / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        c.pg_ctl("primary", "start")
        started.append("primary")
        c.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(c.primary_port), "-U", "postgres"),
            *("-D", str(root / "replica"), "-R", "-X", "stream", "--checkpoint=fast"),
        )
        with open(root / "replica" / "postgresql.conf", "a") as conf:
            conf.write(f"port = {c.replica_port}\n")
        c.pg_ctl("replica", "start")
        started.append("replica")
        c.sql(c.primary_port, "CREATE TABLE probe_rows (id serial PRIMARY KEY, org_id int)")
        c.wait_until_streaming()
        yield c
    finally:
        for name in reversed(started):
            try:
                c.pg_ctl(name, "stop")
            except subprocess.CalledProcessError:
                pass  # already stopped (the replica-down test)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def migrated(cluster):
    """The cluster with the project's schema, migrated on the primary and streamed over."""
    cluster.manage("migrate", "--noinput")
    return cluster


def test_without_a_replica_history_reads_the_primary_at_no_cost(settings):
    if "replica" in settings.DATABASES:
        pytest.skip("DATABASE_REPLICA_URL is set for this run")
    # No `db` fixture: any query here would fail the test.
    with replica.unit_of_work():
        assert replica.history_alias(7) == "default"
        with replica.history_reads(7) as alias:
            assert alias == "default"
            assert Organization.objects.all().db == "default"
        replica.note_write(7)
        assert replica.history_alias(7) == "default"


def test_a_row_written_on_the_primary_appears_on_the_replica(cluster):
    cluster.sql(cluster.primary_port, "INSERT INTO probe_rows (org_id) VALUES (7), (7), (9)")
    cluster.wait_until_streaming()
    assert cluster.sql(cluster.replica_port, "SELECT pg_is_in_recovery()") == (True,)
    assert cluster.sql(
        cluster.replica_port, "SELECT count(*) FROM probe_rows WHERE org_id = 7"
    ) == (2,)


def test_history_is_read_from_the_replica_when_it_has_caught_up(cluster):
    seen = cluster.django("caught_up")
    assert seen["history_alias"] == "replica"
    assert seen["inside"] == {"alias": "replica", "orm_read": "replica", "orm_write": "default"}
    # The read really went to the replica's server, and saw the primary's rows.
    assert seen["read"] == {"rows": 2, "port": cluster.replica_port}
    assert seen["outside"] == {"orm_read": "default"}
    assert seen["migrate"] == {"default": True, "replica": False}


def test_the_primary_serves_history_the_replica_has_not_replayed(cluster):
    seen = cluster.django("read_your_writes")
    # The request that wrote (a POST) reads only the primary.
    assert seen["post_that_writes"] == "default"
    # Replay paused: org 7's noted write is not on the replica yet; org 8 wrote nothing.
    assert seen["paused_get"] == "default,replica"
    assert seen["paused_lag_seconds"] > 0.001
    # Past a (tiny) lag threshold, no organisation reads the replica.
    assert seen["paused_get_tiny_threshold"] == "default,default"
    # Replay resumed and caught up: org 7 reads the replica again.
    assert seen["resumed_get"] == "replica"


def test_requests_and_tasks_that_write_stay_on_the_primary(cluster):
    seen = cluster.django("pinned")
    assert seen["get"] == "replica"
    assert [seen[m] for m in ("post", "put", "patch", "delete")] == ["default"] * 4
    # before, after a SELECT, after a data-modifying WITH, an ORM read in history_reads()
    assert seen["get_that_writes"] == "replica,replica,default,default"
    assert seen["get_after"] == "replica"
    assert seen["task_that_writes"] == ["replica", "default"]
    assert seen["task_after"] == ["replica", "replica"]


def test_the_metric_engine_reads_closed_days_from_the_replica(migrated):
    seen = migrated.django("engine_history")
    # Confirmed orders 20, 12 and 3 days ago are in the last 30 days; the one 45 days ago and
    # the draft are not, nor (up to yesterday) today's.
    past = 1_250_000 + 730_000 + 200_000
    # Every closed day is read on the replica: its watermark, then the daily summary.
    assert seen["past"] == {"revenue": past, "primary": [], "replica": ["coverage", "view"]}
    # Up to today: the closed days come from the cached blocks, today's order live from the
    # primary.
    assert seen["with_today"] == {"revenue": past + 99_000, "primary": ["live"], "replica": []}
    # Replay paused after a back-dated order (12 days ago): the organisation's history waits
    # for its write on the primary (its summary up to the dirty day, that day live), while
    # the replica itself is within the lag limit.
    paused = seen["paused"]
    assert paused["revenue"] == past + 420_000
    assert paused["replica"] == []
    assert {"view", "live"} <= set(paused["primary"])
    assert seen["paused_aliases"] == ["default", "replica"]
    # Replayed: the replica serves the history again, the back-dated order (a dirty day
    # there too, so read live) included.
    resumed = seen["resumed"]
    assert resumed["revenue"] == past + 420_000
    assert resumed["primary"] == []
    assert set(resumed["replica"]) == {"coverage", "view", "live"}


def test_a_replica_that_is_down_sends_history_to_the_primary(cluster):
    cluster.pg_ctl("replica", "stop")
    try:
        seen = cluster.django("replica_down")
    finally:
        cluster.pg_ctl("replica", "start")
    assert seen["aliases"] == ["default", "default", "default", "default"]
    assert len(seen["warnings"]) == 1
    assert seen["warnings"][0].startswith("read replica unavailable, reading history from the")
