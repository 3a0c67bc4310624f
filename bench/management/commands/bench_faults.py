"""`manage.py bench_faults`: the fault suite's scenarios against the production server, timed.

Each scenario starts gunicorn (as `make serve-prod` does, on --port) against this database with
one dependency misbehaving, makes the write paths' requests as the demo users, and records each
request's time and status against its bound, then what waited and what was lost:

- `redis_stalled` / `redis_refused`: Redis (cache, sessions, rate limits, locks, broker) at a
  port that accepts and never answers / refuses. Writes: job start and complete, report send,
  target save, layout save (bound 2 s each); `/healthz` (bound 1 s, names the dependency).
  Afterwards the outbox is drained and the minute tick run against the real Redis: published
  + still waiting must account for every piece of work (`lost` = 0).
- `pg_lock`: a second connection holds ACCESS EXCLUSIVE on the jobs table past the web's
  statement timeout (1 s); a job completion must answer within 2 s and change nothing.
- `smtp_stalled`: a report delivery against an SMTP server that never answers (EMAIL_TIMEOUT
  1 s) must give up within its bound and keep the run for a retry.
- `exports`: a bystander's cached KPI refresh (`/dashboard/kpis/`), idle, then while 16 large
  exports (ten years of activities) are asked for at once by the demo users with a real Celery
  worker writing them; p95 ratio against idle (budget 1.5×).

Needs `make demo`'s data (seed_demo, seed_demo_targets, seed_demo_reports). Each write round
starts and completes one of the demo technician's scheduled jobs for real, so a database
serves a few runs before it needs reseeding. Results merge into bench-results/bench.json
under `faults`.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import redis
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User
from bench.results import DEFAULT_PATH, judged, merge_results
from bench.stats import summary
from dashboard.models import ExportJob
from infra.outbox.models import OutboxMessage
from infra.outbox.queue import drain, publish
from operations.models import InstallationJob
from reports import dispatch
from reports.models import ReportRun, ScheduledReport

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "renoz-demo"  # noqa: S105 - the demo users' published password
WRITE_BOUND_MS = 2000
HEALTH_BOUND_MS = 1000
EXPORTS = 16
EXPORT_RATIO_BUDGET = 1.5


class Stall:
    """A TCP port that accepts and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    """gunicorn on `port` with `env` on top of the production defaults of serve_prod.sh."""

    def __init__(self, port: int, **env: str):
        self.base = f"http://127.0.0.1:{port}"
        full = {
            **os.environ,
            "DEBUG": "0",
            "STATIC_MANIFEST": "0",
            "SECRET_KEY": "bench-faults-not-secret",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_ACCESS_LOG": "/dev/null",
            "GUNICORN_LOG_LEVEL": "warning",
            "DATABASE_URL": _database_url(),
            "DEPLOYMENT_NAMESPACE": settings.DEPLOYMENT_NAMESPACE,
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.REDIS_URL,
            "LOG_LEVEL": "ERROR",
            "RATELIMIT_ENABLE": "0",
            "AXES_FAILURE_LIMIT": "1000",
            **env,
        }
        self.proc = subprocess.Popen(  # noqa: S603 - our own gunicorn and config
            [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=full,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.base}/healthz", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise CommandError("gunicorn did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def login(self, email: str) -> requests.Session:
        session = requests.Session()
        url = f"{self.base}/accounts/login/"
        session.get(url, timeout=10)
        session.post(
            url,
            data={
                "username": email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": url},
            timeout=10,
        )
        if "sessionid" not in session.cookies:
            raise CommandError(f"could not log in as {email}")
        return session

    def post(
        self, session: requests.Session, path: str, data: dict, **headers
    ) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            response = session.post(
                self.base + path,
                data=data,
                headers={
                    "X-CSRFToken": session.cookies.get("csrftoken") or "",
                    "Referer": self.base + "/dashboard/",
                    **headers,
                },
                timeout=30,
                allow_redirects=False,
            )
            status = response.status_code
        except requests.RequestException:
            status = 0  # no answer within 30 s
        return status, (time.perf_counter() - started) * 1000


def _writes(server: Server, count: int) -> list[dict]:
    """Job start and complete, report send, target save, layout save: `count` rounds."""
    tech_user = User.objects.get(email="tech@renoz.demo")
    jobs = list(
        InstallationJob.objects.filter(technician=tech_user, status="scheduled").order_by("id")[
            :count
        ]
    )
    if len(jobs) < count:
        raise CommandError(
            f"tech@renoz.demo has {len(jobs)} scheduled job(s) left and the bench works "
            f"{count}: use fewer --rounds, or reseed the demo data"
        )
    report = ScheduledReport.objects.filter(organization=tech_user.organization).first()
    if report is None:
        raise CommandError("needs the demo reports: manage.py seed_demo_reports")
    tech, admin = server.login("tech@renoz.demo"), server.login("admin@renoz.demo")
    json = {"Accept": "application/json"}
    done = []
    for i, job in enumerate(jobs):
        key = f"00000000-0000-4000-8000-{int(time.time() * 1000) % 10**12:012d}"
        for name, session, path, data, headers in (
            ("job start", tech, f"/dashboard/jobs/{job.pk}/start/", {"idempotency_key": key}, json),
            (
                "job complete",
                tech,
                f"/dashboard/jobs/{job.pk}/complete/",
                {
                    "kwh": "12.5",
                    "labor_hours": "4",
                    "confirm": "1",
                    "idempotency_key": key.replace("8000", "9000"),
                },
                json,
            ),
            ("report send", admin, f"/dashboard/reports/{report.pk}/send/", {}, {}),
            (
                "target save",
                admin,
                "/dashboard/targets/new/",
                {
                    "metric": "orders",
                    "period_kind": "month",
                    "period_start": f"2031-{i % 12 + 1:02d}-01",
                    "amount": str(100 + i),
                    "user": "",
                },
                {},
            ),
            ("layout save", admin, "/dashboard/layout/add/", {"widget": "kpi:labor_hours"}, {}),
        ):
            status, ms = server.post(session, path, data, **headers)
            done.append({"write": name, "status": status, "ms": round(ms, 1)})
    return done


def _health(server: Server, samples: int = 5) -> dict:
    timings, named = [], set()
    for _ in range(samples):
        started = time.perf_counter()
        body = requests.get(f"{server.base}/healthz", timeout=10).json()
        timings.append((time.perf_counter() - started) * 1000)
        named |= {k for k, v in body.get("dependencies", {}).items() if v != "ok"}
    return {**summary(timings), "named": sorted(named)}


def _purge_queues() -> None:
    redis.Redis.from_url(settings.REDIS_URL).delete(*settings.TASK_QUEUES.values())


def _redis_scenario(port: int, url: str, rounds: int) -> dict:
    outbox_before = OutboxMessage.objects.count()
    runs_before = set(ReportRun.objects.filter(status="pending").values_list("pk", flat=True))
    server = Server(port, REDIS_URL=url, CELERY_BROKER_URL=url)
    try:
        writes = _writes(server, rounds)
        health = _health(server)
    finally:
        server.stop()
    waiting = OutboxMessage.objects.count() - outbox_before
    new_runs = (
        set(ReportRun.objects.filter(status="pending").values_list("pk", flat=True)) - runs_before
    )
    # Redis is back: the beat's drain and minute tick against the real Redis.
    _purge_queues()
    drained = drain(older_than=dt.timedelta(0))
    tick = dispatch.tick(enqueue=True)
    queued_runs = {
        run_id
        for run_id in tick.run_ids
        if run_id in new_runs
        and dispatch_publish(run_id)  # published to the real Redis like the beat's tick
    }
    _purge_queues()
    times = [w["ms"] for w in writes]
    errors = [w for w in writes if w["status"] >= 500 or w["status"] == 0]
    return {
        "requests": len(writes),
        "errors": len(errors),
        "over_bound": sum(1 for t in times if t > WRITE_BOUND_MS),
        "write_ms": summary(times),
        "by_write": {
            name: summary([w["ms"] for w in writes if w["write"] == name])
            for name in dict.fromkeys(w["write"] for w in writes)
        },
        "healthz_ms": health,
        "outbox_waiting": waiting,
        "outbox_published_after": drained["published"],
        "runs_waiting": len(new_runs),
        "runs_queued_after": len(queued_runs),
        "lost": (waiting - drained["published"]) + (len(new_runs) - len(queued_runs)),
    }


def dispatch_publish(run_id: int) -> bool:
    return publish("reports.tasks.deliver_report_run", [run_id])


def _pg_lock_scenario(port: int) -> dict:
    server = Server(port, WEB_STATEMENT_TIMEOUT_MS="1000")
    tech_user = User.objects.get(email="tech@renoz.demo")
    try:
        tech = server.login("tech@renoz.demo")
        job = InstallationJob.objects.filter(technician=tech_user, status="scheduled").first()
        if job is None:
            raise CommandError("the demo technician has no scheduled job left: reseed")
        db = connection.settings_dict
        holder = psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            dbname=db["NAME"],
        )
        holder.execute("LOCK TABLE operations_installationjob IN ACCESS EXCLUSIVE MODE")
        try:
            status, ms = server.post(
                tech,
                f"/dashboard/jobs/{job.pk}/start/",
                {"idempotency_key": "00000000-0000-4000-8000-0000000000aa"},
                Accept="application/json",
            )
        finally:
            holder.rollback()
            holder.close()
    finally:
        server.stop()
    job.refresh_from_db()
    return {
        "statement_timeout_ms": 1000,
        "ms": round(ms, 1),
        "status": status,
        "bound_ms": WRITE_BOUND_MS,
        "ok": ms <= WRITE_BOUND_MS and (status < 500 or status == 503),
        "job_unchanged": job.status == "scheduled",
    }


def _smtp_scenario() -> dict:
    stall = Stall()
    report = ScheduledReport.objects.first()
    if report is None:
        raise CommandError("needs the demo reports: manage.py seed_demo_reports")
    run = dispatch.create_manual_run(report)
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=stall.port,
            EMAIL_TIMEOUT=1,
        ):
            started = time.perf_counter()
            outcome = dispatch.deliver(run.pk)
            ms = (time.perf_counter() - started) * 1000
    finally:
        stall.close()
    run.refresh_from_db()
    kept = run.status == "pending"
    ReportRun.objects.filter(pk=run.pk).delete()  # the bench's own run: nothing to send later
    return {"email_timeout_s": 1, "ms": round(ms, 1), "outcome": outcome, "run_kept": kept}


def _bystander(server: Server, session: requests.Session, until, out: list[float]) -> None:
    while not until():
        started = time.perf_counter()
        session.get(f"{server.base}/dashboard/kpis/", timeout=30)
        out.append((time.perf_counter() - started) * 1000)


def _exports_scenario(port: int, idle_samples: int) -> dict:
    server = Server(port)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "renoz", "worker", "-c", "1", "-l", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "DEPLOYMENT_NAMESPACE": settings.DEPLOYMENT_NAMESPACE},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        bystander = server.login("viewer@renoz.demo")
        bystander.get(f"{server.base}/dashboard/kpis/", timeout=30)  # cached from here on
        idle: list[float] = []
        for _ in range(idle_samples):
            started = time.perf_counter()
            bystander.get(f"{server.base}/dashboard/kpis/", timeout=30)
            idle.append((time.perf_counter() - started) * 1000)
        first_job = ExportJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        emails = ["admin@renoz.demo", "sales@renoz.demo", "ops@renoz.demo", "viewer@renoz.demo"]
        sessions = [server.login(email) for email in emails]
        ten_years = (
            f"from={timezone.localdate() - dt.timedelta(days=3650)}&to={timezone.localdate()}"
        )
        url = f"{server.base}/dashboard/drill/activities/?{ten_years}&format=csv"
        busy: list[float] = []
        asked = {"done": False}

        def running() -> bool:
            return (
                not asked["done"]
                or ExportJob.objects.filter(
                    pk__gt=first_job, status__in=["pending", "working"]
                ).exists()
            )

        watcher = threading.Thread(
            target=_bystander, args=(server, bystander, lambda: not running(), busy)
        )
        watcher.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(EXPORTS) as pool:
            statuses = [
                response.status_code
                for response in pool.map(
                    lambda i: sessions[i % len(sessions)].get(
                        url, timeout=60, allow_redirects=False
                    ),
                    range(EXPORTS),
                )
            ]
        answered_ms = (time.perf_counter() - started) * 1000
        asked["done"] = True
        watcher.join(600)
        jobs = ExportJob.objects.filter(pk__gt=first_job)
        rows = [job.rows for job in jobs]
    finally:
        worker.terminate()
        worker.wait(30)
        server.stop()
    idle_p95, busy_p95 = summary(idle)["p95_ms"], summary(busy)["p95_ms"] if busy else None
    return judged(
        {
            "exports_asked": EXPORTS,
            "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "all_answered_ms": round(answered_ms, 1),
            "background_jobs": len(rows),
            "rows_per_job": max(rows) if rows else 0,
            "jobs_ready": jobs.filter(status="ready").count(),
            "bystander_idle_ms": summary(idle),
            "bystander_busy_ms": summary(busy) if busy else None,
            "p95_ratio": round(busy_p95 / idle_p95, 2) if busy_p95 else None,
        },
        at_most={"p95_ratio": EXPORT_RATIO_BUDGET},
    )


class Command(BaseCommand):
    help = "Time the fault scenarios (stalled/refused Redis, PG lock, stalled SMTP, exports)"

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8250)
        parser.add_argument("--rounds", type=int, default=4, help="write rounds per scenario")
        parser.add_argument("--idle-samples", type=int, default=200)
        parser.add_argument(
            "--only", default="", help="comma-separated scenario names (default: all)"
        )
        parser.add_argument("--out", default=str(DEFAULT_PATH))

    def handle(self, *args, port, rounds, idle_samples, only, out, **options):
        if not User.objects.filter(email="tech@renoz.demo").exists():
            raise CommandError("needs the demo data: make demo (or seed_demo + its siblings)")
        wanted = set(filter(None, only.split(",")))
        scenarios = {
            "redis_stalled": lambda: self._stalled(port, rounds),
            "redis_refused": lambda: _redis_scenario(
                port, f"redis://127.0.0.1:{_closed_port()}/0", rounds
            ),
            "pg_lock": lambda: _pg_lock_scenario(port),
            "smtp_stalled": _smtp_scenario,
            "exports": lambda: _exports_scenario(port, idle_samples),
        }
        results = {}
        for name, run in scenarios.items():
            if wanted and name not in wanted:
                continue
            results[name] = run()
            self.stdout.write(f"{name}: {results[name]}")
        merge_results({"faults": results}, Path(out))

    def _stalled(self, port: int, rounds: int) -> dict:
        stall = Stall()
        try:
            return _redis_scenario(port, f"redis://127.0.0.1:{stall.port}/0", rounds)
        finally:
            stall.close()
