"""The findings engine: what moved in a period, computed from the metric layer, never invented.

Seven kinds of finding (docs/architecture.md, "Insights"), one module each or by kin:

* ``change`` (change.py): the KPIs that moved the most against the comparison, good or bad;
* ``unusual`` (unusual.py): a day (or week) far outside its trailing same-weekday baseline;
* ``trend_break`` (trend.py): a sustained change of slope in the last sixteen complete weeks;
* ``contributors`` (contributors.py): the dimension values and owners that drove a change;
* ``concentration`` and ``outlier_record`` (records.py): one customer with an outsized share,
  one order or claim far beyond the usual size;
* ``target_risk`` (targets.py): a target whose forecast (or final value) misses, with the gap.

Every finding is read in the user's scope and under the dashboard's filters (base.Scope);
ranking.py orders them by severity and money at stake; engine.py computes them in a closed
part and a tail part that insights.queries stores apart. A finding carries its numbers, a
one-line title (names are kept apart as subjects, so narration can replace them with
placeholders), a severity, the AUD at stake, and a drill-down URL to the records behind it.
`value` and `previous` are always the metrics API's numbers for the finding's metric and
`period` (the query parameters of that API call, filters included).
"""

from insights.findings.base import (
    EVERYTHING,
    MAX_FINDINGS,
    Finding,
    Scope,
    Series,
    Subject,
    payload_keys,
    scope_for,
)
from insights.findings.engine import (
    closed_part,
    compute_findings,
    finish,
    scanned,
    series_window,
    tail_part,
)
from insights.findings.ranking import rank

__all__ = [
    "EVERYTHING",
    "MAX_FINDINGS",
    "Finding",
    "Scope",
    "Series",
    "Subject",
    "closed_part",
    "compute_findings",
    "finish",
    "payload_keys",
    "rank",
    "scanned",
    "scope_for",
    "series_window",
    "tail_part",
]
