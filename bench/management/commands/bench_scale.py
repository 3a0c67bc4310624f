"""`manage.py bench_scale` (`make bench-scale`): the dashboard with 100 organisations at year3.

Two databases of its own, named after DATABASE_URL's (`renoz` gives renoz_scale_100 and
renoz_scale_1), seeded once and reused by later runs:

- `_100`: benchmark organisations #1..#N at year3 (N = --orgs, 100), seeded in steps of ten
  while the --seed-minutes budget lasts. When the budget runs out first, the run goes on with
  the organisations there are and says so, in the table and the JSON.
- `_1`: the one organisation picked at random (fixed --pick seed) from those, seeded alone from
  the same generator seed, so both hold the same organisation's rows and only the 99 others
  differ.

Measured, each database in a process of its own, the two interleaved read by read so that the
machine's load falls on both alike: cold and cached page reads of the picked organisation (every
widget of the executive layout built as its admin, over the common presets and comparisons;
cold = its cache versions bumped first); one refresh cycle after a day of writes in every
organisation (`refresh_summaries(incremental=True)`, as the beat runs it) and a full rebuild;
and the 2 AM warm-up of every organisation (each marked active, each cold, warmed as the
nightly task does with `metrics.warming.warm_organization` and the layouts' widgets).

Merges `bench_scale` and `page_reads_100_vs_1_org` (budget: p95 within 1.2x) into
bench-results/bench.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from psycopg import sql
from tqdm import tqdm

from accounts.models import Organization, Role, User
from bench.results import DEFAULT_PATH, judged, merge_results
from bench.stats import summary
from bench.writes import DayOfWrites
from dashboard.layouts import default_widgets, warm_widgets
from infra.server_timing import QueryTimer
from metrics import cache as metric_cache
from metrics.refresh import refresh_summaries
from metrics.warming import active_organizations, common_states, warm_organization
from operations.seeding import analyze_tables, benchmark_names, seed_benchmark_org
from presentation.widgets import build_widget

VOLUME = "year3"
SEED = 42
RATIO_BUDGET = 1.2
SEED_STEP = 10
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/renoz"  # as settings and the Makefile
NAME_PREFIX = f"Benchmark {VOLUME} #"  # benchmark_names() with the default seed


WRITES_PER_ORG = 12
WRITE_MIX = ("activities", "activities", "sales", "pipeline", "jobs", "activities", "customers")


def _ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def _admin_url(url: str) -> str:
    return _with_database(url, "postgres")


def _organizations(url: str) -> list[str]:
    """Names of the benchmark organisations in a database ([] when it or its tables are
    missing)."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return []
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT name FROM accounts_organization WHERE name LIKE %s ORDER BY id",
                [NAME_PREFIX + "%"],
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    return [name for (name,) in rows]


def _views_populated(url: str) -> bool:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT bool_and(ispopulated) FROM pg_matviews").fetchone()
    return bool(row and row[0])


class Command(BaseCommand):
    help = (
        "Benchmark 100 year3 organisations (own databases, seeded once): page reads against one "
        "organisation, a refresh cycle and the 2 AM warm-up; merges JSON into bench.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orgs", type=int, default=100, help="Organisations to seed")
        parser.add_argument(
            "--seed-minutes",
            type=float,
            default=15,
            help="Stop seeding more organisations after this long (this run)",
        )
        parser.add_argument(
            "--repeat", type=int, default=4, help="Cold+cached reads per state and database"
        )
        parser.add_argument("--pick", type=int, default=15, help="Seed of the random pick")
        parser.add_argument("--skip-warm", action="store_true", help="No 2 AM warm-up")
        parser.add_argument("--out", default=str(DEFAULT_PATH))
        # Internal: one step run against one database, in a process of its own.
        parser.add_argument(
            "--worker", choices=["seed-one", "measure", "cycle"], help=argparse.SUPPRESS
        )
        parser.add_argument("--org-number", type=int, help=argparse.SUPPRESS)
        parser.add_argument("--result-file", help=argparse.SUPPRESS)

    def handle(self, *args, worker, **options):
        if worker:
            result = getattr(self, f"_worker_{worker.replace('-', '_')}")(**options)
            if options["result_file"]:
                Path(options["result_file"]).write_text(json.dumps(result, default=str))
            return
        self._orchestrate(**options)

    # --- The run, from outside the databases ---------------------------------------------------

    def _orchestrate(self, *, orgs, seed_minutes, repeat, pick, skip_warm, out, **_):
        if orgs < 2 or repeat < 1:
            raise CommandError("--orgs must be at least 2 and --repeat at least 1")
        base = os.environ.get("DATABASE_URL", DEFAULT_URL)
        name = urlsplit(base).path.lstrip("/")
        prefix = name if name.endswith("_scale") else f"{name}_scale"
        many_url = _with_database(base, f"{prefix}_{orgs}")
        one_url = _with_database(base, f"{prefix}_1")

        seeding = self._seed_many(many_url, orgs, seed_minutes)
        seeded = seeding["organizations"]
        if not seeded:
            raise CommandError("No organisation seeded: raise --seed-minutes")
        picked = random.Random(pick).randint(1, seeded)
        picked_name, _ = benchmark_names(VOLUME, SEED, picked)
        self._seed_one(one_url, picked_name, picked)
        self.stdout.write(f"Picked {picked_name} (of {seeded}); its twin is alone in {one_url}")

        samples = self._measure({"1": one_url, "many": many_url}, picked, repeat)

        cycles = {}
        for key, url in (("1", one_url), ("many", many_url)):
            self.stdout.write(f"Refresh cycle and 2 AM warm-up on {urlsplit(url).path[1:]}")
            cycles[key] = self._worker(url, "cycle", picked, skip_warm=skip_warm)

        results = self._results(seeding, orgs, picked_name, samples, cycles, many_url, one_url)
        self._print(results)
        path = merge_results(results, out)
        self.stdout.write(f"\nMerged bench_scale, page_reads_100_vs_1_org into {path}")

    def _measure(self, urls: dict[str, str], picked: int, repeat: int) -> dict:
        """Page reads of the picked organisation in each database, interleaved read by read
        (one process per database) so that the machine's load falls on both alike."""
        workers = {}
        try:
            for key, url in urls.items():
                # Our own interpreter and manage.py, fixed arguments.
                workers[key] = subprocess.Popen(  # noqa: S603
                    [sys.executable, "manage.py", "bench_scale", "--worker", "measure"]
                    + ["--org-number", str(picked)],
                    env=self._env(url),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            states = 0
            for worker in workers.values():  # each warms up, then says how many states
                assert worker.stdout is not None
                states = json.loads(worker.stdout.readline())["states"]
            fields = ("cold", "cold_queries", "cached", "cached_queries")
            samples: dict = {key: {f: [] for f in fields} for key in workers}
            for i in tqdm(range(repeat * states), desc="page reads (cold + cached), both"):
                order = list(workers) if i % 2 == 0 else list(reversed(workers))
                for key in order:
                    worker = workers[key]
                    assert worker.stdin is not None and worker.stdout is not None
                    worker.stdin.write(f"{i}\n")
                    worker.stdin.flush()
                    answer = worker.stdout.readline()
                    if not answer:
                        raise CommandError(f"The page-read worker on {key} stopped")
                    for field, value in zip(fields, json.loads(answer), strict=True):
                        samples[key][field].append(value)
        finally:
            for worker in workers.values():
                if worker.stdin is not None:
                    worker.stdin.close()
                worker.wait(timeout=60)
        return samples

    def _env(self, url: str) -> dict:
        return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}

    def _manage(self, url: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        # Our own interpreter and manage.py, fixed arguments.
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], env=self._env(url), check=True, **kwargs
        )

    def _worker(self, url: str, step: str, picked: int, **flags) -> dict:
        with tempfile.NamedTemporaryFile(suffix=".json") as result:
            args = ["bench_scale", "--worker", step, "--org-number", str(picked)]
            args += ["--result-file", result.name]
            if flags.get("skip_warm"):
                args.append("--skip-warm")
            self._manage(url, *args)
            return json.loads(Path(result.name).read_text())

    def _create(self, url: str, *, fresh: bool = False) -> None:
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(_admin_url(url), autocommit=True, connect_timeout=5) as conn:
            if fresh:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._manage(url, "migrate", "--noinput", "-v", "0")

    def _seed_many(self, url: str, orgs: int, minutes: float) -> dict:
        """Seed organisations #1..#orgs in steps of ten while the time budget lasts."""
        self._create(url)
        have = len(_organizations(url))
        started = time.perf_counter()
        per_org: list[float] = []
        stopped_early = False
        with tqdm(total=orgs, initial=have, desc=f"seeding {VOLUME} organisations") as bar:
            for target in [*range(SEED_STEP, orgs, SEED_STEP), orgs]:
                if target <= have:
                    continue
                if time.perf_counter() - started > minutes * 60:
                    stopped_early = True
                    break
                args = ["seed_benchmark", "--volume", VOLUME, "--orgs", str(target)]
                # Our own interpreter and manage.py, fixed arguments.
                with subprocess.Popen(  # noqa: S603
                    [sys.executable, "manage.py", *args, "--no-progress"],
                    env=self._env(url),
                    stdout=subprocess.PIPE,
                    text=True,
                ) as proc:
                    assert proc.stdout is not None
                    for line in proc.stdout:
                        took = re.search(r"rows in ([\d.]+) s$", line.strip())
                        if took and line.startswith('"'):
                            per_org.append(float(took[1]))
                            bar.update(1)
                if proc.returncode:
                    raise CommandError(f"seed_benchmark failed ({proc.returncode})")
                have = target
        seconds = time.perf_counter() - started
        refresh_s = None
        if per_org or not _views_populated(url):  # new rows: populate (or refresh) the tables
            refresh_started = time.perf_counter()
            self._manage(url, "refresh_daily_summaries", stdout=subprocess.DEVNULL)
            refresh_s = round(time.perf_counter() - refresh_started, 1)
        count = len(_organizations(url))
        note = None
        if count < orgs:
            note = (
                f"Only {count} of {orgs} organisations: seeding stopped at the "
                f"{minutes:g}-minute budget; a later run seeds more (the database is reused)."
            )
            if not stopped_early:
                note = f"Only {count} of {orgs} organisations in the database."
        return {
            "organizations": count,
            "seeded_this_run": len(per_org),
            "seed_seconds_this_run": round(seconds, 1),
            "seed_seconds_per_org": summary([s * 1000 for s in per_org]) if per_org else None,
            "first_refresh_seconds": refresh_s,
            "note": note,
        }

    def _seed_one(self, url: str, name: str, number: int) -> None:
        """The picked organisation alone in its own database (rebuilt when it holds another)."""
        if _organizations(url) == [name]:
            return
        self.stdout.write(f"Seeding {name} alone")
        self._create(url, fresh=True)
        self._worker(url, "seed-one", number)
        self._manage(url, "refresh_daily_summaries", stdout=subprocess.DEVNULL)

    # --- Steps inside one database (a process of its own) ------------------------------------

    def _worker_seed_one(self, *, org_number, **_) -> dict:
        result = seed_benchmark_org(
            volume_name=VOLUME, n=org_number, seed=SEED, now=timezone.now(), progress=True
        )
        analyze_tables()
        return {"seconds": result.seconds if result else None}

    def _picked(self, org_number: int) -> tuple[Organization, User]:
        name, email = benchmark_names(VOLUME, SEED, org_number)
        org = Organization.objects.get(name=name)
        user = User.objects.get(email=email, organization=org, role=Role.ADMIN)
        return org, user

    def _worker_measure(self, *, org_number, **_) -> None:
        """Serve page reads of the picked organisation, one per line of stdin (a state's index):
        a cold read then a cached one, each every widget of the executive layout built as its
        admin; answers a JSON line [cold ms, cold queries, cached ms, cached queries]."""
        org, user = self._picked(org_number)
        layout = default_widgets("executive")
        states = common_states(org)

        def page(state) -> tuple[float, int]:
            timer = QueryTimer()
            with connection.execute_wrapper(timer):
                ms = _ms(lambda: [build_widget(w, org, user, state) for w in layout])
            return ms, timer.count

        for state in states:  # connections, imports, PostgreSQL's buffers: not measured
            metric_cache.bump_data_version(org.pk)
            page(state)
            page(state)
        print(json.dumps({"states": len(states)}), flush=True)
        for line in sys.stdin:
            state = states[int(line) % len(states)]
            metric_cache.bump_data_version(org.pk)
            cold = page(state)
            print(json.dumps([*cold, *page(state)]), flush=True)

    def _worker_cycle(self, *, skip_warm, **_) -> dict:
        """One refresh cycle over every organisation, then the 2 AM warm-up of all of them."""
        members = list(Organization.objects.filter(name__startswith=NAME_PREFIX))
        orgs = len(members)
        # The refresh beat's cycle: after a day of writes in every organisation (WRITES_PER_ORG
        # each, made through the ORM as the app makes them), redo their changed days.
        with override_settings(DASHBOARD_REFRESH_ON_WRITE=False):
            for org in tqdm(members, desc="a day of writes"):
                writer = DayOfWrites(org)
                for n in range(WRITES_PER_ORG):
                    writer.write(WRITE_MIX[n % len(WRITE_MIX)])
        cycle: list = []
        refresh_ms = _ms(lambda: cycle.extend(refresh_summaries(incremental=True)))
        rebuild: list = []
        rebuild_ms = _ms(lambda: rebuild.extend(refresh_summaries()))
        out: dict = {
            "organizations": orgs,
            "writes_per_org": WRITES_PER_ORG,
            "refresh_ms": round(refresh_ms, 1),
            "refresh_ms_per_org": round(refresh_ms / max(orgs, 1), 1),
            "refresh_summaries": {
                r["summary"]: {
                    k: r.get(k) for k in ("ms", "organizations", "days", "slowest_step_ms")
                }
                for r in cycle
            },
            "full_rebuild_ms": round(rebuild_ms, 1),
            "full_rebuild_views_ms": {r["summary"]: r.get("ms") for r in rebuild},
        }
        if skip_warm:
            return out
        # At 2 AM every cached value has expired; every organisation was used this week.
        User.objects.filter(organization__name__startswith=NAME_PREFIX, role=Role.ADMIN).update(
            last_login=timezone.now() - dt.timedelta(hours=6)
        )
        due = list(active_organizations())
        for org in due:
            metric_cache.bump_data_version(org.pk)
        redis = cache.client.get_client(write=True)  # type: ignore[attr-defined]
        memory_before = redis.info("memory")["used_memory"]
        per_org: list[float] = []
        entries = 0
        started = time.perf_counter()
        for org in tqdm(due, desc="2 AM warm-up"):
            org_started = time.perf_counter()
            entries += warm_organization(org, widgets=warm_widgets)
            per_org.append((time.perf_counter() - org_started) * 1000)
        out["warm"] = {
            "organizations": len(due),
            "total_s": round(time.perf_counter() - started, 1),
            "per_org": summary(per_org),
            "entries": entries,
            "redis_mb_added": round((redis.info("memory")["used_memory"] - memory_before) / 1e6, 1),
        }
        return out

    # --- Figures -------------------------------------------------------------------------------

    def _results(self, seeding, requested, picked_name, samples, cycles, many_url, one_url) -> dict:
        reads = {}
        for key, got in samples.items():
            reads[key] = {
                "cold": summary(got["cold"]),
                "cached": summary(got["cached"]),
                "cold_queries_max": max(got["cold_queries"]),
                "cached_queries_max": max(got["cached_queries"]),
            }

        def ratio(kind: str, figure: str) -> float:
            return round(reads["many"][kind][figure] / reads["1"][kind][figure], 3)

        count = seeding["organizations"]
        comparison = judged(
            {
                "organizations": count,
                "cold_p95_ratio": ratio("cold", "p95_ms"),
                "cached_p95_ratio": ratio("cached", "p95_ms"),
                "cold_median_ratio": ratio("cold", "median_ms"),
                "cached_median_ratio": ratio("cached", "median_ms"),
                f"{count}_orgs": reads["many"],
                "1_org": reads["1"],
                "what": "every executive widget built as the admin (build_widget), per state",
                "note": seeding["note"],
            },
            at_most={"cold_p95_ratio": RATIO_BUDGET, "cached_p95_ratio": RATIO_BUDGET},
        )
        return {
            "bench_scale": {
                "volume": VOLUME,
                "organizations_requested": requested,
                "organizations": count,
                "note": seeding["note"],
                "databases": {
                    "many": urlsplit(many_url).path[1:],
                    "one": urlsplit(one_url).path[1:],
                },
                "picked": picked_name,
                "seeding": seeding,
                "page_reads": {f"{count}_orgs": reads["many"], "1_org": reads["1"]},
                "refresh_and_warm": {f"{count}_orgs": cycles["many"], "1_org": cycles["1"]},
            },
            "page_reads_100_vs_1_org": comparison,
        }

    def _print(self, results: dict) -> None:
        scale = results["bench_scale"]
        count = scale["organizations"]
        if scale["note"]:
            self.stdout.write(self.style.WARNING(scale["note"]))
        reads = scale["page_reads"]
        self.stdout.write(f"\n{count} organisations at {VOLUME}; picked {scale['picked']}")
        self.stdout.write("| page reads | orgs | median ms | p95 ms | max ms | queries (max) |")
        self.stdout.write("|---|---|---|---|---|---|")
        for label, key in ((f"{count}", f"{count}_orgs"), ("1", "1_org")):
            for kind in ("cold", "cached"):
                row = reads[key][kind]
                self.stdout.write(
                    f"| {kind} | {label} | {row['median_ms']} | {row['p95_ms']} | {row['max_ms']} "
                    f"| {reads[key][f'{kind}_queries_max']} |"
                )
        ratio = results["page_reads_100_vs_1_org"]
        self.stdout.write(
            f"\np95 ratio {count}:1 — cold {ratio['cold_p95_ratio']}×, cached "
            f"{ratio['cached_p95_ratio']}× (budget ≤ {RATIO_BUDGET}×): "
            f"{'yes' if ratio['ok'] else 'NO'}; medians {ratio['cold_median_ratio']}×, "
            f"{ratio['cached_median_ratio']}×"
        )
        self.stdout.write(
            "\n| cycle | orgs | refresh after a day of writes, ms | per org ms | full rebuild ms "
            "| warm total s | warm per org ms (median/p95/max) |"
        )
        self.stdout.write("|---|---|---|---|---|---|---|")
        for key, row in scale["refresh_and_warm"].items():
            warm = row.get("warm")
            warm_cells = (
                f"{warm['total_s']} | {warm['per_org']['median_ms']}/{warm['per_org']['p95_ms']}"
                f"/{warm['per_org']['max_ms']}"
                if warm
                else "skipped | "
            )
            self.stdout.write(
                f"| {key} | {row['organizations']} | {row['refresh_ms']} "
                f"| {row['refresh_ms_per_org']} | {row['full_rebuild_ms']} | {warm_cells} |"
            )
