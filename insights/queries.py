"""Reads of insights: the findings for a period and the narrative over them, cached per
organisation, period, scope and data version (metrics.cache), without what a user dismissed.

`get_insights(org, state, user)` is what the API and the widget use; `findings_for` and
`narrative_for` are its two cached halves. Narration spends the organisation's daily budget
of model calls (actions.do_claim_narration_call); once it is spent the computed wording is
shown until the next local day.
"""

from __future__ import annotations

from insights import actions
from insights.findings import Finding, Scope, compute_findings, scope_for
from insights.models import DismissedFinding
from insights.narration import Narrative, computed_narrative, model_configured, narrate
from metrics import cache as metric_cache
from metrics.periods import DashboardState, compare_phrase, range_label
from metrics.scope import scope_word

CACHE_VERSION = 1


def findings_for(organization, state: DashboardState, scope: Scope) -> list[Finding]:
    """The ranked findings for the period in the scope, cached per data version."""
    key = metric_cache.make_key(
        organization.pk, f"insights:v{CACHE_VERSION}:findings", state, None, scope.token()
    )
    return metric_cache.get_or_compute(key, lambda: compute_findings(organization, state, scope))


def narrative_for(
    organization, state: DashboardState, scope: Scope, findings: list[Finding]
) -> Narrative:
    """The narrative over the findings: the model's wording (one call per organisation,
    period, scope and data version, within the daily budget) or the computed one."""
    label = range_label(state)
    if not findings or not model_configured():
        return computed_narrative(findings, label)
    key = metric_cache.make_key(
        organization.pk, f"insights:v{CACHE_VERSION}:narrative", state, None, scope.token()
    )

    def compute() -> Narrative:
        if not actions.do_claim_narration_call(organization, state.now):
            return computed_narrative(findings, label, reason="the daily budget is spent")
        return narrate(findings, label, compare_phrase(state.compare))

    return metric_cache.get_or_compute(key, compute)


def dismissed_ids(user) -> set[str]:
    if user is None:
        return set()
    return set(
        DismissedFinding.objects.for_org(user.organization_id)
        .filter(user=user)
        .values_list("finding_id", flat=True)
    )


def get_insights(organization, state: DashboardState, user=None) -> dict:
    """{"findings": [Finding…], "narrative": Narrative, "scope": Scope} as `user` sees them:
    their scope, without the findings they marked not useful. A narrative citing a dismissed
    finding is replaced by the computed wording of what is left."""
    scope = scope_for(user)
    findings = findings_for(organization, state, scope)
    hidden = dismissed_ids(user)
    visible = [f for f in findings if f.id not in hidden]
    narrative = narrative_for(organization, state, scope, findings)
    if hidden & set(narrative.finding_ids):
        narrative = computed_narrative(visible, range_label(state))
    return {"findings": visible, "narrative": narrative, "scope": scope}


def insights_json(organization, state: DashboardState, user=None) -> dict:
    """The API payload (docs/architecture.md, "JSON API")."""
    result = get_insights(organization, state, user)
    return {
        "findings": [f.as_json() for f in result["findings"]],
        "narrative": result["narrative"].as_json(),
        # Whose rows the findings read (metrics.scope; docs/architecture.md, "The scope rule").
        "scope": scope_word(result["scope"].owner),
    }
