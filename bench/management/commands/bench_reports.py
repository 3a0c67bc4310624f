"""`manage.py bench_reports`: the report budgets, measured (not asserted).

1. Render the executive report PDF (8 KPIs, 4 charts, top records) in a warm process: p50/p95.
2. A dispatcher tick with 200 reports due: the tick's own time (create runs, queue deliveries),
   then real Celery workers render and mail all 200 to a local SMTP server (aiosmtpd); the
   time until the last is sent and how many messages each (report, slot) got.

Writes bench-results/reports.json. Bench reports and their runs are deleted afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Organization, Role, User
from bench.stats import p95
from operations.seeding import benchmark_names
from reports import dispatch
from reports.content import build_content
from reports.models import ReportRun, RunStatus, ScheduledReport
from reports.render import render_document, render_pdf
from reports.tasks import deliver_report_run

BENCH_PREFIX = "bench-report-"
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _Counter:
    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.ids[line.split(b":", 1)[1].strip().decode()] += 1
                break
        return "250 2.0.0 Accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = "Benchmark report rendering and a 200-report dispatcher tick; writes JSON."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Organisation name (default: the year3 benchmark org)")
        parser.add_argument("--renders", type=int, default=20)
        parser.add_argument("--reports", type=int, default=200)
        parser.add_argument("--workers", type=int, default=2, help="Celery worker concurrency")
        parser.add_argument("--out", default="bench-results/reports.json")

    def handle(self, *args, org, renders, reports, workers, out, **options):
        organization = self._organization(org)
        owner = self._admin(organization)
        results = {
            "organization": organization.name,
            "render": self._bench_render(organization, owner, renders),
            "tick": self._bench_tick(organization, owner, reports, workers),
        }
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        self.stdout.write(json.dumps(results, indent=2))
        self.stdout.write(f"Wrote {path}")

    def _organization(self, name: str | None) -> Organization:
        if name:
            return Organization.objects.get(name=name)
        bench_name, _ = benchmark_names("year3", 42, 1)
        if not Organization.objects.filter(name=bench_name).exists():
            call_command("seed_benchmark", volume="year3", orgs=1, seed=42)
        return Organization.objects.get(name=bench_name)

    def _admin(self, organization) -> User:
        admin = organization.users.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
        if admin is None:
            admin = User.objects.create_user(
                email=f"bench-admin-{organization.pk}@renoz.example",
                organization=organization,
                role=Role.ADMIN,
                full_name="Bench Admin",
            )
        return admin

    def _bench_render(self, organization, owner, n: int) -> dict:
        report = ScheduledReport.objects.create(
            organization=organization,
            owner=owner,
            name=f"{BENCH_PREFIX}executive",
            recipients=["bench@renoz.example"],
            range_preset="last_30_days",
            compare="previous_period",
            widgets=[],  # the admin's executive layout: 8 KPIs and 4 charts
            active=False,
        )
        try:
            now = timezone.now()
            content = build_content(report, now)
            render_pdf(content)  # warm the worker: imports, fonts, cache
            samples, cpu = [], []
            for _ in range(n):
                started, cpu_started = time.perf_counter(), time.process_time()
                document = render_document(build_content(report, now))
                pdf = document.write_pdf()
                samples.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            pages = len(document.pages)
            self.stdout.write(
                f"render: {len(content.kpis)} KPIs, {len(content.charts)} charts, "
                f"{len(content.records)} record tables, {pages} pages"
            )
            return {
                "n": n,
                "kpis": len(content.kpis),
                "charts": len(content.charts),
                "record_tables": len(content.records),
                "pages": pages,
                "bytes": len(pdf),
                "median_s": round(statistics.median(samples), 3),
                "p95_s": round(p95(samples), 3),
                "max_s": round(max(samples), 3),
                # CPU seconds of this process: the render's own cost, whatever else the
                # machine is doing (wall time grows with the load average on 2 cores).
                "cpu_median_s": round(statistics.median(cpu), 3),
                "cpu_p95_s": round(p95(cpu), 3),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
        finally:
            report.delete()

    def _bench_tick(self, organization, owner, count: int, concurrency: int) -> dict:
        ScheduledReport.objects.filter(name__startswith=BENCH_PREFIX).delete()
        tz = organization.tz
        now = timezone.now()
        send_at = (now - dt.timedelta(minutes=1)).astimezone(tz).time().replace(second=0)
        ScheduledReport.objects.bulk_create(
            ScheduledReport(
                organization=organization,
                owner=owner,
                name=f"{BENCH_PREFIX}{i:03d}",
                recipients=[f"bench-{i:03d}@renoz.example"],
                cadence="daily",
                send_time=send_at,
                timezone=organization.timezone,
                range_preset="last_7_days",
                compare="previous_period",
                widgets=["kpi:revenue", "kpi:orders", "kpi:kwh_deployed", "trend:revenue"],
            )
            for i in range(count)
        )
        counter = _Counter()
        port = _free_port()
        smtp = Controller(counter, hostname="127.0.0.1", port=port)
        smtp.start()
        media = tempfile.mkdtemp(prefix="renoz-bench-media-")
        env = {
            **os.environ,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "MEDIA_ROOT": media,
            "LOG_LEVEL": "WARNING",
        }
        celery = str(Path(sys.executable).with_name("celery"))
        # Our own venv's celery, fixed arguments.
        subprocess.run(  # noqa: S603
            [celery, "-A", "renoz", "purge", "-f"], env=env, capture_output=True, check=False
        )
        worker = subprocess.Popen(  # noqa: S603
            [celery, "-A", "renoz", "worker", "-l", "warning", "--concurrency", str(concurrency)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(5)  # let the worker connect to the broker
            started = time.perf_counter()
            result = dispatch.tick(enqueue=True)
            for run_id in result.run_ids:
                # The beat task does exactly this (reports.tasks.dispatch_reports).
                deliver_report_run.delay(run_id)
            tick_s = time.perf_counter() - started
            self.stdout.write(f"tick: {result.created} runs created and queued in {tick_s:.2f} s")
            runs = ReportRun.objects.filter(report__name__startswith=BENCH_PREFIX)
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                done = runs.filter(status__in=[RunStatus.SENT, RunStatus.FAILED]).count()
                if done >= count:
                    break
                time.sleep(1)
            all_done_s = time.perf_counter() - started
            statuses = dict(Counter(runs.values_list("status", flat=True)))
            per_slot = Counter(counter.ids.values())
            self.stdout.write(f"all {count}: {statuses} in {all_done_s:.1f} s")
            return {
                "reports": count,
                "worker_concurrency": concurrency,
                "tick_s": round(tick_s, 3),
                "runs_created": result.created,
                "all_sent_s": round(all_done_s, 1),
                "statuses": statuses,
                "messages_received": sum(counter.ids.values()),
                "distinct_message_ids": len(counter.ids),
                "messages_per_slot": {str(k): v for k, v in per_slot.items()},
            }
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            smtp.stop()
            ScheduledReport.objects.filter(name__startswith=BENCH_PREFIX).delete()
            shutil.rmtree(media, ignore_errors=True)
