"""Statistics shared by the benchmark commands (`make bench`): one definition of p95."""

from __future__ import annotations

import statistics


def p95(samples: list[float]) -> float:
    """The nearest-rank 95th percentile of the samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def summary(samples_ms: list[float], places: int = 2) -> dict:
    """{n, median_ms, p95_ms, max_ms} of timings in milliseconds."""
    return {
        "n": len(samples_ms),
        "median_ms": round(statistics.median(samples_ms), places),
        "p95_ms": round(p95(samples_ms), places),
        "max_ms": round(max(samples_ms), places),
    }
