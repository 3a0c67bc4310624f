"""Print Locust's stats CSV as a table and check the budgets; exit 1 when one is missed."""

from __future__ import annotations

import csv
import sys

P95_BUDGET_MS = 150
P99_BUDGET_MS = 400


def main(path: str) -> int:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    line = "{:<30} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}"
    print(line.format("endpoint", "requests", "fails", "p50", "p95", "p99", "max", "rps"))
    total = None
    for row in rows:
        cells = (
            row["Name"][:30],
            row["Request Count"],
            row["Failure Count"],
            row["50%"],
            row["95%"],
            row["99%"],
            f"{float(row['Max Response Time']):.0f}",
            f"{float(row['Requests/s']):.1f}",
        )
        print(line.format(*cells))
        if row["Name"] == "Aggregated":
            total = row
    if total is None or total["95%"] == "N/A":
        print("no aggregated row: did Locust run?")
        return 1
    fails, p95, p99 = int(total["Failure Count"]), float(total["95%"]), float(total["99%"])
    ok = fails == 0 and p95 <= P95_BUDGET_MS and p99 <= P99_BUDGET_MS
    print(
        f"budget: 0 errors (got {fails}), p95 <= {P95_BUDGET_MS} ms (got {p95:.0f}), "
        f"p99 <= {P99_BUDGET_MS} ms (got {p99:.0f}): {'PASS' if ok else 'MISS'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
