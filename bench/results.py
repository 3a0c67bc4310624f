"""One results file for the bench commands: each merges its keys into bench-results/bench.json.

Top-level keys of issue 15's budget table (each {measured figures..., "budget": ..., "ok": bool}):
cache_hit_rate, page_cold, page_cached, reader_during_refresh, refresh_after_day_of_writes,
page_reads_100_vs_1_org. A command replaces only the keys it writes, so several commands (and
re-runs of one) add up to one file.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path

DEFAULT_PATH = Path("bench-results/bench.json")


def judged(measured: dict, *, at_most: dict | None = None, at_least: dict | None = None) -> dict:
    """The measured figures with their budget and whether they meet it: every `at_most` figure
    must be ≤ its limit and every `at_least` one ≥ (a missing figure fails)."""
    at_most, at_least = at_most or {}, at_least or {}
    ok = all(
        measured.get(name) is not None and measured[name] <= limit
        for name, limit in at_most.items()
    ) and all(
        measured.get(name) is not None and measured[name] >= limit
        for name, limit in at_least.items()
    )
    budget = {k: v for k, v in (("at_most", at_most), ("at_least", at_least)) if v}
    return {**measured, "budget": budget, "ok": ok}


def read_results(path: Path | str = DEFAULT_PATH) -> dict:
    """The results file's contents; empty when it does not exist yet."""
    path = Path(path)
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def merge_results(results: dict, path: Path | str = DEFAULT_PATH) -> Path:
    """Add (or replace) the top-level keys of `results` in the file, atomically: concurrent
    writers take turns on a lock file, and a reader sees the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = read_results(path)
        except json.JSONDecodeError:
            # Keep the unreadable file for inspection rather than failing a long bench run.
            os.replace(path, path.with_name(path.name + ".invalid"))
            current = {}
        current.update(results)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.chmod(tmp, 0o644)
            with os.fdopen(handle, "w") as out:
                json.dump(current, out, indent=2, default=str)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path
