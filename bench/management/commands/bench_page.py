"""`manage.py bench_page`: the whole executive dashboard page over HTTP, and in Chromium.

Starts the production server (scripts/serve_prod.sh: gunicorn, DEBUG off) on a spare port with
SERVER_TIMING=1, signs in over HTTP as an admin of the year3 benchmark organisation, and for
each common preset and comparison loads /dashboard/ and then every htmx fragment the page
loads by itself (an hx-get whose hx-trigger has `load` or `revealed`; since issue 25 there are
none: the page carries every widget). A page's server time and queries are the sums of the
Server-Timing app time and query count of its requests; the insights share is the Server-Timing
`insights` section over the page's time; "insights pending" counts the pages whose findings
were not stored for the current data (the page showed the last stored ones, or said they are
being worked out, and queued their store). No worker runs during the bench: after each cold
page this process stores the findings it queued (insights.tasks.store_findings_for), as the
worker would before the next page view. Measured per page:

- cold: every cached value of the organisation dropped first (its data version bumped,
  closed-day blocks included);
- history cached: every source's values dropped by a write to today (values expired; the usual
  morning case), closed-day blocks still cached;
- cached: the same page straight after;
- after a write: a write to today to one source (its values recomputed, the rest cached).

Then Chromium (Playwright, /usr/bin/chromium) loads the page on a desktop (1280×900) and on a
phone (390×844, touch) throttled to slow 4G (CDP Network.emulateNetworkConditions) and a 4×
slower CPU (Emulation.setCPUThrottlingRate), cold and cached: first contentful paint, when every
chart was drawn (window.dashboardChartsDrawnAt: the frame the server's SVG is drawn in) and, on the
desktop, when plotly had taken every chart over (window.dashboardSettledAt).

Prints a table and merges page_cold, page_history_cached, page_cached, page_after_write and
page_browser into bench-results/bench.json (docs/scaling.md, "Budgets of issue 25").
"""

from __future__ import annotations

import io
import os
import re
import secrets
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Organization, Role, User
from bench.page_browser import chromium_loads
from bench.results import DEFAULT_PATH, judged, merge_results
from bench.stats import p95, summary
from dashboard.models import DashboardLayout
from infra import secret_key
from insights.tasks import store_findings_for
from metrics import cache as metric_cache
from metrics.definitions import SOURCES
from metrics.warming import COMMON_COMPARES, COMMON_PRESETS
from operations.seeding import BENCH_PASSWORD, benchmark_names

# Issue 25's budgets (p95, year3, this machine).
BUDGETS = {
    "page_cold": {"p95_ms": 80, "queries_p95": 12, "requests_per_page_max": 1, "errors": 0},
    "page_history_cached": {"p95_ms": 40, "requests_per_page_max": 1, "errors": 0},
    "page_cached": {"p95_ms": 10, "requests_per_page_max": 1, "errors": 0},
    "page_after_write": {"p95_ms": 80, "queries_p95": 30, "errors": 0},
}
BROWSER_BUDGETS = {
    "desktop_cold": {"charts_drawn_p95_ms": 200},
    "phone_slow_4g_cold": {"charts_drawn_p95_ms": 2000},
}
SLOW_4G = {  # Chrome DevTools' "slow 4G": 150 ms round trips, 1.6 Mbit/s down, 750 kbit/s up
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}
BENCH_EMAIL = "bench-page@renoz.bench"
LOAD_TRIGGERS = {"load", "revealed"}
TIMING = re.compile(r'app;dur=([\d.]+).*?db;dur=([\d.]+);desc="(\d+) queries"')
INSIGHTS_TIMING = re.compile(r"insights;dur=([\d.]+)")


class FragmentFinder(HTMLParser):
    """The hx-get URLs of elements that htmx loads without a click: trigger `load` or
    `revealed` (a browser reveals every widget of a dashboard when it scrolls down)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        url, trigger = found.get("hx-get"), found.get("hx-trigger") or ""
        events = {part.strip().split(" ")[0] for part in trigger.split(",") if part.strip()}
        if url and events & LOAD_TRIGGERS:
            self.urls.append(url)


WRITTEN = tuple(SOURCES)  # a write to each source in turn


def fragment_urls(html: str) -> list[str]:
    finder = FragmentFinder()
    finder.feed(html)
    return finder.urls


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Request:
    """One timed request: its path, server time, database time and query count."""

    def __init__(self, path: str, response: requests.Response) -> None:
        self.path = path
        self.status = response.status_code
        self.text = response.text
        match = TIMING.search(response.headers.get("Server-Timing", ""))
        if match is None:
            raise CommandError(f"No Server-Timing on {path} (status {self.status})")
        self.app_ms, self.db_ms, self.queries = float(match[1]), float(match[2]), int(match[3])
        insights = INSIGHTS_TIMING.search(response.headers.get("Server-Timing", ""))
        self.insights_ms = float(insights[1]) if insights else 0.0
        self.bytes = len(response.content)


class Browser:
    """A signed-in session that loads a page and the fragments it loads by itself."""

    def __init__(self, base: str, parallel: int) -> None:
        self.base = base
        self.session = requests.Session()
        self.parallel = parallel
        self.pool = ThreadPoolExecutor(parallel) if parallel > 1 else None

    def login(self, email: str, password: str) -> None:
        url = f"{self.base}/accounts/login/"
        page = self.session.get(url, timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if token is None:
            raise CommandError(f"No login form at {url} (status {page.status_code})")
        response = self.session.post(
            url,
            data={"username": email, "password": password, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": url},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            raise CommandError(f"Could not sign in as {email} (status {response.status_code})")

    def _get(self, path: str, *, htmx: bool) -> Request:
        headers = {"HX-Request": "true"} if htmx else {}
        response = self.session.get(urljoin(self.base, path), headers=headers, timeout=60)
        return Request(path, response)

    def page(self, path: str) -> list[Request]:
        """The page and, level by level, every fragment that loads by itself."""
        done = [self._get(path, htmx=False)]
        seen = {path}
        pending = [u for u in fragment_urls(done[0].text) if u not in seen]
        while pending:
            seen.update(pending)
            if self.pool is None:
                loaded = [self._get(u, htmx=True) for u in pending]
            else:
                loaded = list(self.pool.map(lambda u: self._get(u, htmx=True), pending))
            done += loaded
            pending = [u for r in loaded for u in fragment_urls(r.text) if u not in seen]
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        self.session.close()


def page_figures(loaded: list[Request]) -> dict:
    return {
        "server_ms": sum(r.app_ms for r in loaded),
        "insights_ms": sum(r.insights_ms for r in loaded),
        "html_bytes": sum(r.bytes for r in loaded),
        "db_ms": sum(r.db_ms for r in loaded),
        "queries": sum(r.queries for r in loaded),
        "requests": len(loaded),
        "errors": sum(r.status >= 400 for r in loaded),
        # Its insights were not stored for the current data: the page showed the last ones
        # stored (or said they are being worked out) and queued their store (issue 25).
        "insights_pending": any("insight-pending" in r.text for r in loaded),
    }


def page_summary(pages: list[dict]) -> dict:
    times = summary([p["server_ms"] for p in pages])
    queries = sorted(p["queries"] for p in pages)
    return {
        "pages": len(pages),
        "p50_ms": times["median_ms"],
        "p95_ms": times["p95_ms"],
        "max_ms": times["max_ms"],
        "db_p95_ms": round(p95([p["db_ms"] for p in pages]), 2),
        "queries_p50": queries[len(queries) // 2],
        "queries_p95": p95(queries),
        "queries_max": queries[-1],
        "requests_per_page_max": max(p["requests"] for p in pages),
        "errors": sum(p["errors"] for p in pages),
        # The share of the page's server time spent computing or reading insights.
        "insights_share": round(
            sum(p["insights_ms"] for p in pages) / (sum(p["server_ms"] for p in pages) or 1), 3
        ),
        "html_kb_max": round(max(p["html_bytes"] for p in pages) / 1024, 1),
        "insights_pending_pages": sum(p["insights_pending"] for p in pages),
    }


class Command(BaseCommand):
    help = (
        "Benchmark the whole executive dashboard page cold, history-cached, cached and after a "
        "write over HTTP under gunicorn, and in Chromium on a desktop and a throttled phone; "
        "prints a table and merges page_cold, page_history_cached, page_cached, "
        "page_after_write and page_browser into JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=4, help="Cold+cached pages per state")
        parser.add_argument("--parallel", type=int, default=1, help="Fragments in flight at once")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument("--port", type=int, default=0, help="Default: a spare port")
        parser.add_argument(
            "--browser-repeat", type=int, default=5, help="Chromium loads per kind (0: none)"
        )
        parser.add_argument("--out", default=str(DEFAULT_PATH))

    def handle(self, *args, repeat, parallel, workers, port, browser_repeat, out, **options):
        if repeat < 1 or parallel < 1 or workers < 1:
            raise CommandError("--repeat, --parallel and --workers must be at least 1")
        org = self._organization()
        self._user(org)
        call_command("refresh_daily_summaries", stdout=io.StringIO())
        port = port or spare_port()
        log_path = Path("artifacts/bench_page/gunicorn.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        server = self._start(port, workers, log_path)
        base = f"http://127.0.0.1:{port}"
        try:
            results = self._bench(org, base, repeat, parallel)
            for row in results.values():
                row["workers"] = workers
            if browser_repeat:
                results["page_browser"] = self._chromium(org, base, browser_repeat)
        finally:
            self._stop(server)
        self._print(results)
        path = merge_results(results, out)
        self.stdout.write(f"\nMerged {', '.join(results)} into {path}")

    def _organization(self) -> Organization:
        name, _ = benchmark_names("year3", 42, 1)
        if not Organization.objects.filter(name=name).exists():
            self.stdout.write(f"Seeding {name} (once; later runs reuse it)")
            call_command("seed_benchmark", volume="year3", orgs=1, seed=42)
        return Organization.objects.get(name=name)

    def _user(self, org: Organization) -> User:
        """An admin of the organisation with a known password and the default layout."""
        user = User.objects.filter(email=BENCH_EMAIL).first()
        if user is None:
            user = User.objects.create_user(
                email=BENCH_EMAIL,
                password=BENCH_PASSWORD,
                organization=org,
                role=Role.ADMIN,
                full_name="Page benchmark",
            )
        elif user.organization_id != org.pk or user.role != Role.ADMIN:
            raise CommandError(f"{BENCH_EMAIL} exists outside {org.name} or is not an admin")
        else:
            user.set_password(BENCH_PASSWORD)
            user.save(update_fields=["password"])
        DashboardLayout.objects.filter(user=user).delete()
        return user

    def _start(self, port: int, workers: int, log_path: Path) -> subprocess.Popen:
        if not Path(".venv/bin/gunicorn").exists():
            raise CommandError("scripts/serve_prod.sh needs .venv/bin/gunicorn (`make install`)")
        # The server inherits this environment: the same database, Redis and cache namespace.
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "SERVER_TIMING": "1",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_ACCESS_LOG": "/dev/null",
            # serve_prod.sh refuses a weak key; a benchmark server's sessions are its own.
            "SECRET_KEY": os.environ.get("SECRET_KEY", "")
            if not secret_key.weakness(os.environ.get("SECRET_KEY", ""))
            else secrets.token_urlsafe(50),
        }
        self.stdout.write(f"Starting gunicorn on port {port} (collectstatic first; log {log_path})")
        with open(log_path, "w") as log:
            # Our own script, fixed arguments.
            server = subprocess.Popen(  # noqa: S603
                ["/bin/bash", "scripts/serve_prod.sh"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited ({server.returncode}); see {log_path}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self._stop(server)
        raise CommandError(f"gunicorn did not answer in 5 minutes; see {log_path}")

    def _stop(self, server: subprocess.Popen) -> None:
        if server.poll() is None:
            server.terminate()  # gunicorn's master stops its workers on SIGTERM
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def _worker_stores_findings(self, org: Organization, path: str) -> None:
        user = User.objects.get(email=BENCH_EMAIL)
        params = dict(parse_qsl(urlsplit(path).query))
        store_findings_for(org.pk, user.pk, params)

    def _bench(self, org: Organization, base: str, repeat: int, parallel: int) -> dict:
        browser = Browser(base, parallel)
        browser.login(BENCH_EMAIL, BENCH_PASSWORD)
        states = [(p, c) for p in COMMON_PRESETS for c in COMMON_COMPARES]
        paths = [f"/dashboard/?range={p}&compare={c}" for p, c in states]
        try:
            # Every worker process imports, connects and compiles templates once: not measured.
            for path in tqdm(paths, desc="warm-up"):
                metric_cache.bump_data_version(org.pk)
                browser.page(path)
                browser.page(path)
            cold: list[dict] = []
            history_cached: list[dict] = []
            cached: list[dict] = []
            after_write: list[dict] = []
            for n in tqdm(range(repeat * len(paths)), desc="pages"):
                path = paths[n % len(paths)]
                metric_cache.bump_data_version(org.pk)
                loaded = browser.page(path)
                cold.append(
                    {
                        **page_figures(loaded),
                        "requests_list": [
                            {"path": r.path, "ms": r.app_ms, "db_ms": r.db_ms, "queries": r.queries}
                            for r in loaded
                        ],
                    }
                )
                # The worker stores the findings the cold page queued (no worker runs here:
                # this process does what it would, between the two page views).
                self._worker_stores_findings(org, path)
                cached.append(page_figures(browser.page(path)))
                # The usual morning: every value expired (here: dropped by a write to today to
                # every source), the closed-day blocks still cached.
                today = timezone.localdate(timezone=org.tz)
                for source in WRITTEN:
                    metric_cache.note_write(org.pk, source, {today}, today)
                history_cached.append(page_figures(browser.page(path)))
                browser.page(path)
                # A working day: a write to today, to one source. Its values are recomputed;
                # the other sources' values and closed days still come from the cache.
                metric_cache.note_write(org.pk, WRITTEN[n % len(WRITTEN)], {today}, today)
                after_write.append(page_figures(browser.page(path)))
        finally:
            browser.close()
        common = {
            "volume": "year3",
            "organization": org.name,
            "states": [f"{p}/{c}" for p, c in states],
            "parallel": parallel,
            "server": "gunicorn (scripts/serve_prod.sh), sum of Server-Timing app;dur per page",
        }
        # The cold page of median server time, request by request.
        typical = sorted(cold, key=lambda p: p["server_ms"])[len(cold) // 2]["requests_list"]
        return {
            "page_cold": judged(
                {**page_summary(cold), **common, "median_page_requests": typical},
                at_most=BUDGETS["page_cold"],
            ),
            "page_history_cached": judged(
                {**page_summary(history_cached), **common},
                at_most=BUDGETS["page_history_cached"],
            ),
            "page_cached": judged(
                {**page_summary(cached), **common}, at_most=BUDGETS["page_cached"]
            ),
            "page_after_write": judged(
                {**page_summary(after_write), **common}, at_most=BUDGETS["page_after_write"]
            ),
        }

    def _chromium(self, org: Organization, base: str, repeat: int) -> dict:
        """The page in Chromium on a desktop and a throttled phone, cold and cached."""
        measured = chromium_loads(
            base,
            BENCH_EMAIL,
            BENCH_PASSWORD,
            repeat=repeat,
            go_cold=lambda: metric_cache.bump_data_version(org.pk),
            slow_4g=SLOW_4G,
        )
        out: dict = {}
        for kind, samples in measured.items():
            row = {
                name: summary([s[name] for s in samples if s[name] is not None], places=1)
                for name in ("first_paint_ms", "charts_drawn_ms", "plotly_ms")
                if any(s[name] is not None for s in samples)
            }
            flat = {
                f"{name.removesuffix('_ms')}_p95_ms": v["p95_ms"] for name, v in row.items()
            } | {f"{name.removesuffix('_ms')}_p50_ms": v["median_ms"] for name, v in row.items()}
            flat["plotly_requests"] = sum(s["plotly_requested"] for s in samples)
            flat["loads"] = len(samples)
            out[kind] = judged(flat, at_most=BROWSER_BUDGETS.get(kind, {}))
        out["ok"] = all(v["ok"] for v in out.values() if isinstance(v, dict))
        return out

    def _print(self, results: dict) -> None:
        self.stdout.write(
            "\n| page | pages | p50 ms | p95 ms | max ms | queries p50/p95/max | requests "
            "| insights share | insights pending | budget (p95) | ok |"
        )
        self.stdout.write("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, budget in BUDGETS.items():
            row = results[name]
            limits = f"≤ {budget['p95_ms']} ms" + (
                f", ≤ {budget['queries_p95']} queries" if "queries_p95" in budget else ""
            )
            self.stdout.write(
                f"| {name} | {row['pages']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} "
                f"| {row['queries_p50']}/{row['queries_p95']}/{row['queries_max']} "
                f"| {row['requests_per_page_max']} | {row['insights_share']:.0%} "
                f"| {row['insights_pending_pages']} | {limits} | {'yes' if row['ok'] else 'NO'} |"
            )
        errors = sum(results[name]["errors"] for name in BUDGETS)
        if errors:
            self.stdout.write(self.style.WARNING(f"{errors} request(s) answered 4xx/5xx"))
        cold = results["page_cold"]["median_page_requests"]
        self.stdout.write(
            f"\nThe cold page of median time ({cold[0]['path']}), request by request:"
        )
        for r in cold:
            self.stdout.write(
                f"  {r['ms']:>7.1f} ms (db {r['db_ms']:>6.1f}) {r['queries']:>3} q  "
                f"{urlsplit(r['path']).path}"
            )
        browser = results.get("page_browser")
        if browser:
            self.stdout.write(
                "\n| Chromium | first paint p50/p95 | charts drawn p50/p95 | plotly "
                "p50/p95 | plotly requests | budget | ok |"
            )
            self.stdout.write("|---|---|---|---|---|---|---|")
            for kind, row in browser.items():
                if not isinstance(row, dict):
                    continue
                self.stdout.write(
                    f"| {kind} | {row.get('first_paint_p50_ms')}/{row.get('first_paint_p95_ms')} "
                    f"| {row.get('charts_drawn_p50_ms')}/{row.get('charts_drawn_p95_ms')} "
                    f"| {row.get('plotly_p50_ms', '–')}/{row.get('plotly_p95_ms', '–')} "
                    f"| {row['plotly_requests']} of {row['loads']} loads "
                    f"| {row['budget'] or ''} | {'yes' if row['ok'] else 'NO'} |"
                )
