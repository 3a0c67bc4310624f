"""How findings are ordered: by severity, then by the money at stake (a finding's AUD impact),
then, for findings that are not about money, by the size of the change. So a high-severity
"Revenue is forecast to miss its target by $660,611" comes before a high-severity "Activities
up 112.6 %", and both before any medium finding."""

from __future__ import annotations

from insights.findings.base import KIND_ORDER, MAX_FINDINGS, MIN_SCORE, Finding

SEVERITY_ORDER = ("high", "medium", "low")


def size_of_change(finding: Finding) -> float:
    """How far the finding's number moved, in percent: its change against the comparison, or
    against the usual level (unusual days, outliers); the score when it has neither."""
    if finding.change_pct is not None and finding.kind in ("change", "trend_break"):
        return abs(float(finding.change_pct))
    times = finding.facts.get("times_usual")
    if times is not None:
        return abs(float(times) - 1.0) * 100
    return finding.score


def rank_key(finding: Finding) -> tuple:
    money = finding.at_stake is not None
    return (
        SEVERITY_ORDER.index(finding.severity),
        0 if money else 1,
        -(finding.at_stake or 0) if money else -size_of_change(finding),
        KIND_ORDER.index(finding.kind),
        finding.id,
    )


def rank(findings: list[Finding]) -> list[Finding]:
    """The findings worth showing, most at stake first; weak ones are left out."""
    kept = [f for f in findings if f.score >= MIN_SCORE]
    return sorted(kept, key=rank_key)[:MAX_FINDINGS]
