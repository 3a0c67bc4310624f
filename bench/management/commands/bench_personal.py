"""`manage.py bench_personal`: server time of /dashboard/me/ (each role's layout) and of the
technician's field view, cold (cache versions bumped before every request), at year3 volume;
with `--browser-url`, the field view's load time in Chromium on a throttled phone (slow 4G
and a 4× CPU slowdown through the DevTools protocol) against a running server.

Budgets (issue 12): /dashboard/me/ ≤ 50 ms p95 cold at year3; the field view loaded ≤ 3 s.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, User
from bench.stats import summary
from metrics import cache as metric_cache
from operations.seeding import benchmark_names

BUDGET_ME_P95_MS = 50
BUDGET_FIELD_LOAD_MS = 3000
# Chrome DevTools' "Slow 4G" preset as Lighthouse's mobile run uses it.
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}


class Command(BaseCommand):
    help = "Benchmark the personal dashboard and the field view (server time, cold; optionally a throttled browser)."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=40)
        parser.add_argument("--browser-url", help="A running server to load the field view from")
        parser.add_argument("--browser-email", default="tech@renoz.demo")
        parser.add_argument("--browser-password", default="renoz-demo")
        parser.add_argument("--out", default="bench-results/bench_personal.json")

    def handle(self, *args, repeat, browser_url, browser_email, browser_password, out, **opts):
        results: dict = {}
        org = self._organization()
        results["year3"] = self._server(org, repeat)
        if browser_url:
            results["field_slow_4g"] = self._browser(browser_url, browser_email, browser_password)
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        self.stdout.write(json.dumps(results, indent=2))
        self.stdout.write(f"Wrote {path}")

    def _organization(self) -> Organization:
        name, _ = benchmark_names("year3", 42, 1)
        if not Organization.objects.filter(name=name).exists():
            self.stdout.write(f"Seeding {name} (once; later runs reuse it)")
            call_command("seed_benchmark", volume="year3", orgs=1, seed=42)
        org = Organization.objects.get(name=name)
        yesterday = timezone.now().astimezone(org.tz).date() - dt.timedelta(days=1)
        call_command(
            "backfill_user_statistics",
            f"--org={org.pk}",
            f"--from={yesterday - dt.timedelta(days=69)}",
            f"--to={yesterday}",
            "--resume",
            "--no-progress",
        )
        return org

    def _server(self, org, repeat: int) -> dict:
        user = User.objects.filter(organization=org, role="admin").order_by("pk").first()
        assert user is not None, "the benchmark organisation has an admin who owns its rows"
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        original = user.role
        out: dict = {}
        try:
            for role in ("sales", "technician", "operations"):
                User.objects.filter(pk=user.pk).update(role=role)
                for period in ("day", "mtd"):
                    samples = []
                    for _ in range(repeat):
                        metric_cache.bump_data_version(org.pk)
                        started = time.perf_counter()
                        response = client.get(f"/dashboard/me/?period={period}")
                        samples.append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200, response.status_code
                    out[f"me_{role}_{period}_cold"] = summary(samples, places=1)
            User.objects.filter(pk=user.pk).update(role="technician")
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                assert client.get("/dashboard/field/").status_code == 200
                samples.append((time.perf_counter() - started) * 1000)
            out["field_view"] = summary(samples, places=1)
        finally:
            User.objects.filter(pk=user.pk).update(role=original)
        worst = max(v["p95_ms"] for k, v in out.items() if k.startswith("me_"))
        out["me_worst_p95_ms"] = worst
        out["me_budget_p95_ms"] = BUDGET_ME_P95_MS
        return out

    def _browser(self, base: str, email: str, password: str) -> dict:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional, heavy

        loads = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
            )
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(password)
            with page.expect_navigation():
                page.get_by_role("button", name="Log in").click()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", SLOW_4G)
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
            for _ in range(5):
                page.goto(f"{base}/dashboard/field/", wait_until="load")
                loads.append(
                    page.evaluate(
                        "() => { const n = performance.getEntriesByType('navigation')[0];"
                        " return n.loadEventEnd - n.startTime; }"
                    )
                )
            browser.close()
        loaded = summary(loads, places=1)
        loaded["budget_ms"] = BUDGET_FIELD_LOAD_MS
        return loaded
