"""Reads of insights: the stored findings for a period, the narrative over them, and what a user
dismissed.

Findings are stored, not recomputed on a read (docs/architecture.md, "Insights"). Each of the
engine's two parts (insights.findings.engine) is kept in Redis under the versions of the days
it read (metrics.cache.inputs_key), the period, the user's scope and the filters: the closed
part (unusual days, trend breaks: closed days only) for 36 hours, until a write lands in its
days; the tail part (changes, contributors, concentration, targets, outliers) likewise for a
finished range, and until the next write to its sources for a running one. A read whose parts
are missing computes them once (single-flight, metrics.cache.get_or_compute) and stores them;
the refresh task and the 2 AM warming store them ahead of the readers (insights.tasks).

`findings_for(org, user, state)` is the one read of a user's findings (the widget, the insights
page and the PDF go through it or `get_insights`); `insights_json` is the API's payload.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from django.db import transaction

from annotations.queries import applies, days_of, window_notes
from infra.contextcache import context_cache
from infra.outbox.queue import publish
from insights import actions
from insights.findings import (
    Finding,
    Scope,
    closed_part,
    finish,
    payload_keys,
    scanned,
    scope_for,
    series_window,
    tail_part,
)
from insights.findings.base import escape
from insights.models import DismissedFinding
from insights.narration import Narrative, computed_narrative, model_configured, narrate
from metrics import cache as metric_cache
from metrics.definitions import METRICS, SOURCES
from metrics.filters import FILTERS, describe
from metrics.periods import DashboardState, compare_phrase, range_label
from metrics.scope import scope_word

CACHE_VERSION = 2
ONE_DAY = dt.timedelta(days=1)


def _today(state: DashboardState) -> dt.date:
    return state.now.astimezone(state.tz).date()


def _name(part: str, state: DashboardState, scope: Scope, *extra: object) -> str:
    """The stored part's name: the period exactly as its links spell it (a preset's name is
    in every drill URL), the scope and anything else its findings depend on."""
    words = [state.querystring(), state.cache_token(), state.compare_token(), str(state.to_date)]
    words += [scope.token(), ",".join(sorted(scope.sources)), *map(str, extra)]
    digest = hashlib.sha256("|".join(words).encode()).hexdigest()[:20]
    return f"insights:v{CACHE_VERSION}:{part}:{digest}"


def _sliced(spans: dict, scope: Scope) -> dict:
    """The spans, with the per-dimension parts of the sources the filters slice by a live
    dimension (metrics/cache.py): a write moving only that dimension drops the findings."""
    dims = [FILTERS[param].dimension for param, _ in scope.filters]
    return spans | {
        part: span
        for source, span in spans.items()
        for part in metric_cache.dimension_parts([source], dims)
    }


def _closed_spec(state: DashboardState, scope: Scope) -> tuple:
    first, last, interval, complete_until = series_window(state)
    spans = _sliced({METRICS[k].source: (first, last + ONE_DAY) for k in scanned(scope)}, scope)
    return _name("closed", state, scope, first, last, interval, complete_until), spans, ()


def _closed_key(organization, state: DashboardState, scope: Scope) -> str | None:
    name, spans, parts = _closed_spec(state, scope)
    return metric_cache.inputs_key(organization.pk, name, spans, _today(state), parts)


def _running(state: DashboardState) -> bool:
    return state.range.last_day + ONE_DAY > _today(state)


def _tail_spec(state: DashboardState, scope: Scope) -> tuple:
    # Tricky: state metrics (pipeline, open claims…) sum every day since ever, and targets' pace
    # reads last year's shape, so the tail's inputs start at the beginning of time.
    end = state.range.last_day + ONE_DAY
    spans = _sliced({source: (None, end) for source in scope.sources}, scope)
    # Targets' phase and pace depend on the day; the name carries it.
    name = _name("tail", state, scope, _today(state))
    return name, spans, () if scope.filters else ("targets",)


def _tail_key(organization, state: DashboardState, scope: Scope) -> str | None:
    name, spans, parts = _tail_spec(state, scope)
    return metric_cache.inputs_key(organization.pk, name, spans, _today(state), parts)


def _latest_key(organization, state: DashboardState, scope: Scope) -> str:
    """The last findings stored for the period and scope, whatever data they were computed
    from (what the dashboard shows while fresher ones are stored)."""
    return metric_cache.latest_key(organization.pk, _name("latest", state, scope))


def stored_findings(organization, state: DashboardState, scope: Scope) -> list[Finding]:
    """The ranked findings for the period in the scope, from the store (computed and stored
    once when missing)."""
    if not payload_keys(scope):
        return []
    computed = []

    def compute(part):
        def run():
            computed.append(part)
            return part()

        return run

    series, history = metric_cache.get_or_compute(
        _closed_key(organization, state, scope),
        compute(lambda: closed_part(organization, state, scope)),
        ttl=metric_cache.HISTORY_TTL_SECONDS,
    )
    tail = metric_cache.get_or_compute(
        _tail_key(organization, state, scope),
        compute(lambda: tail_part(organization, state, scope, series)),
        ttl=metric_cache.TTL_SECONDS if _running(state) else metric_cache.HISTORY_TTL_SECONDS,
    )
    findings = finish(history + tail, scope)
    if computed:
        metric_cache.store(
            _latest_key(organization, state, scope), findings, metric_cache.HISTORY_TTL_SECONDS
        )
    return findings


# A page that finds its findings missing queues their store at most once per this many
# seconds (per period and scope).
QUEUE_DEBOUNCE_SECONDS = 30


def _queue_store(organization, state: DashboardState, user, *versions: str | None) -> None:
    """Queue insights.tasks.store_findings_for once per debounce window and data version
    (`versions`: the keys found missing), after the request's transaction commits (the
    outbox's bounded publish: a broker that is down costs nothing, and the next page queues
    it again)."""
    scope = scope_for(user, state.filters)
    name = _name("queued", state, scope, *versions)
    if not metric_cache.claim(organization.pk, name, QUEUE_DEBOUNCE_SECONDS):
        return
    args = [organization.pk, user.pk if user is not None else None, state.params()]
    transaction.on_commit(lambda: publish("insights.tasks.store_findings_for", args))


def _parts_keys(organization, state: DashboardState, scope: Scope) -> list[str | None]:
    """[closed part's key, tail part's key]: one round trip, once per page (kept in the page's
    memo, metrics.cache.computation_memo, for findings_token and ready_findings both)."""
    closed, tail = _closed_spec(state, scope), _tail_spec(state, scope)
    memo = metric_cache.computation_memo()
    memo_key = ("insights-parts", organization.pk, closed[0], tail[0], repr(closed[1:] + tail[1:]))
    if memo is not None and memo_key in memo:
        return memo[memo_key]
    keys = metric_cache.inputs_keys(organization.pk, [closed, tail], _today(state))
    if memo is not None and None not in keys:
        memo[memo_key] = keys
    return keys


def ready_findings(
    organization, state: DashboardState, user, scope: Scope
) -> tuple[list[Finding] | None, bool]:
    """(findings, fresh) without computing anything: the stored findings when both parts are
    stored for the current data (fresh), else the last ones stored for the period and scope
    (None when there are none) with their store queued. Redis down: computed (there is no
    store to read)."""
    if not payload_keys(scope):
        return [], True
    closed_key, tail_key = _parts_keys(organization, state, scope)
    memo = metric_cache.computation_memo()
    peeked = memo.get(("insights-peeked", closed_key, tail_key)) if memo is not None else None
    if peeked is not None:  # stored_or_queued read both in this page
        return finish(peeked[0][1] + peeked[1], scope), True
    found = metric_cache.peek_many([closed_key, tail_key, _latest_key(organization, state, scope)])
    if closed_key is None or tail_key is None or found is None:
        return stored_findings(organization, state, scope), True
    closed, tail, latest = found
    if closed is not None and tail is not None:
        return finish(closed[1] + tail, scope), True
    _queue_store(organization, state, user, closed_key, tail_key)
    return latest, False


def findings_token(organization, state: DashboardState, user) -> str | None:
    """What the user's stored findings for the state are made of, named before they are
    read: both parts' names (the period, the scope, today), the versions of every part their
    keys read (sources, their live dimensions under the filters, targets) and of the
    annotations they cite, and the findings the user hid. A page keys its rendered insights
    by it (dashboard.views), so a cached page reads one key, not the parts. None when there
    is nothing to find or Redis is down.

    Tricky: the versions, not the parts' keys, so no round trip (the page has read them,
    metrics.cache.page_pass). Every write that changes a part's key (a day's counter, a
    source's epoch or version) bumps its source's version too, so this changes whenever
    they do, and also on writes that leave them (one more build of the body then)."""
    scope = scope_for(user, state.filters)
    if not payload_keys(scope):
        return None
    closed_name, closed_spans, _ = _closed_spec(state, scope)
    tail_name, tail_spans, tail_parts = _tail_spec(state, scope)
    parts = sorted({*closed_spans, *tail_spans, *tail_parts, "annotations"})
    version = metric_cache.data_version(organization.pk, parts)
    if version is None:
        return None
    marks = sorted(dismissed_marks(user).items())
    return "|".join([closed_name, tail_name, version, scope.token(), repr(marks)])


def stored_or_queued(organization, state: DashboardState, user) -> bool:
    """Whether both parts of the user's findings are stored for the current data; if not,
    their store is queued as ready_findings does (debounced). For a page that kept the
    body it rendered while they were missing (dashboard.views): it shows that body until
    they are stored."""
    scope = scope_for(user, state.filters)
    closed_key, tail_key = _parts_keys(organization, state, scope)
    found = metric_cache.peek_many([closed_key, tail_key])
    if closed_key is None or tail_key is None or found is None:
        return True  # Redis is failing: let the page build them
    if None not in found:
        memo = metric_cache.computation_memo()
        if memo is not None:  # ready_findings, next, reads them from here
            memo[("insights-peeked", closed_key, tail_key)] = found
        return True
    _queue_store(organization, state, user, closed_key, tail_key)
    return False


def warm_findings(organization, states) -> int:
    """Store the organisation-wide findings (every source, no filter) for each state; the
    refresh task and the 2 AM warming call it. Returns the number of states."""
    scope = scope_for(None)
    for state in states:
        stored_findings(organization, state, scope)
    return len(states)


def dismissed_marks(user) -> dict[str, str]:
    """{finding id: "dismissed" | "not_useful"} of what the user hid, kept in the request
    context cache until they hide or show one again (insights.actions)."""
    if user is None:
        return {}
    key = actions.dismissed_key(user.pk)
    marks = context_cache.get(key)
    if marks is None:
        marks = dict(
            DismissedFinding.objects.for_org(user.organization_id)
            .filter(user=user)
            .values_list("finding_id", "reason")
        )
        context_cache.set(key, marks, actions.DISMISSED_CACHE_SECONDS)
    return marks


def cite_annotations(organization, state: DashboardState, findings: list[Finding]) -> list:
    """Unusual days inside an annotation's span (or on its day) cite it: "… during 'Storm in
    SE QLD'" (docs/annotations.md). Read from the page's one annotations read, so it adds no
    query to a page whose charts read them too; the stored findings are left as they are."""
    if not any(f.kind == "unusual" for f in findings):
        return findings
    notes = window_notes(organization, *days_of(state.range))
    if not notes:
        return findings
    tz = state.tz
    out = []
    for finding in findings:
        cited = None
        if finding.kind == "unusual" and finding.period.get("from"):
            first = dt.date.fromisoformat(finding.period["from"])
            last = dt.date.fromisoformat(finding.period.get("to") or finding.period["from"])
            metric = METRICS[finding.metric]
            for note in notes:
                start = note["starts_at"].astimezone(tz).date()
                end = (note["ends_at"] or note["starts_at"]).astimezone(tz).date()
                if (
                    start <= last
                    and end >= first
                    and applies(note, [finding.metric], [metric.source], state.filters)
                ):
                    cited = note
                    break
        if cited is None:
            out.append(finding)
            continue
        out.append(
            dataclasses.replace(
                finding,
                title_format=finding.title_format + escape(f" during ‘{cited['title']}’"),
                facts={**finding.facts, "annotation": {"id": cited["id"], "title": cited["title"]}},
            )
        )
    return out


def findings_for(organization, user, state: DashboardState, *, hidden: bool = False) -> list:
    """The user's ranked findings for the state (range, comparison and filters, in their
    scope), read from the store, without those they dismissed or marked not useful (only
    those, with `hidden`)."""
    scope = scope_for(user, state.filters)
    findings = cite_annotations(organization, state, stored_findings(organization, state, scope))
    marks = dismissed_marks(user)
    return [f for f in findings if (f.id in marks) == hidden]


# How the findings name a source whose findings a filter leaves out.
SOURCE_WORDS = {
    "sales": "sales",
    "pipeline": "the pipeline",
    "jobs": "installation jobs",
    "warranty": "warranty claims",
    "customers": "customers",
    "activities": "activities",
}


def coverage_note(scope: Scope) -> str:
    """What the findings do not cover under the filters, said plainly ("" when everything)."""
    if not scope.left_out:
        return ""
    left_out = [SOURCE_WORDS.get(s, s) for s in SOURCES if s in scope.left_out]
    cannot = [
        FILTERS[p]
        for p, _ in scope.filters
        if any(not FILTERS[p].applies_to(s) for s in scope.left_out)
    ]
    return (
        f"Findings about {', '.join(left_out)} are left out: they cannot be filtered by "
        f"{describe(cannot)}."
    )


def narrative_for(
    organization, state: DashboardState, scope: Scope, findings: list[Finding], *, ready=False
) -> Narrative:
    """The narrative over the findings: the model's wording (one call per set of findings,
    within the daily budget) or the computed one. `ready`: never call the model, use the
    computed wording until the model's is stored (None then, so the caller queues it)."""
    label = range_label(state)
    if not findings or not model_configured():
        return computed_narrative(findings, label)
    # The same findings get the same wording: keyed by them, not by the data's versions.
    said = "|".join(f"{f.id}={f.title()}" for f in findings)
    key = metric_cache.make_key(
        organization.pk,
        f"insights:v{CACHE_VERSION}:narrative:{hashlib.sha256(said.encode()).hexdigest()[:20]}",
        state,
        ("targets",),
        scope.token(),
    )

    if ready:
        return metric_cache.peek(key) or computed_narrative(findings, label)

    def compute() -> Narrative:
        if not actions.do_claim_narration_call(organization, state.now):
            return computed_narrative(findings, label, reason="the daily budget is spent")
        return narrate(findings, label, compare_phrase(state.compare))

    return metric_cache.get_or_compute(key, compute)


def get_insights(organization, state: DashboardState, user=None, *, ready=False) -> dict:
    """{"findings": [Finding…], "narrative": Narrative, "scope": Scope, "note": str, "pending":
    bool} as `user` sees them: their scope and the state's filters, without the findings they
    hid. A narrative citing a hidden finding is replaced by the computed wording of what is
    left.

    `ready` (the dashboard page): compute nothing. When the findings are not stored for the
    current data, show the last ones stored for the period and scope (or none yet), say they
    are `pending`, and queue their store (insights.tasks.store_findings_for), so a page never
    waits for a daily series of every source (docs/architecture.md, "Insights")."""
    scope = scope_for(user, state.filters)
    if ready:
        stored, fresh = ready_findings(organization, state, user, scope)
    else:
        stored, fresh = stored_findings(organization, state, scope), True
    findings = cite_annotations(organization, state, stored or [])
    marks = dismissed_marks(user)
    visible = [f for f in findings if f.id not in marks]
    narrative = narrative_for(organization, state, scope, findings, ready=ready)
    if ready and fresh and findings and model_configured() and narrative.source != "llm":
        _queue_store(organization, state, user, "narrative")  # the model's wording is not stored
    if set(marks) & set(narrative.finding_ids):
        narrative = computed_narrative(visible, range_label(state))
    return {
        "findings": visible,
        "hidden": len(findings) - len(visible),
        "narrative": narrative,
        "scope": scope,
        "note": coverage_note(scope),
        "pending": not fresh,
        "none_yet": stored is None,
    }


def insights_json(organization, state: DashboardState, user=None) -> dict:
    """The API payload (docs/architecture.md, "JSON API")."""
    result = get_insights(organization, state, user)
    out = {
        "findings": [f.as_json() for f in result["findings"]],
        "narrative": result["narrative"].as_json(),
        # Whose rows the findings read (metrics.scope; docs/architecture.md, "The scope rule").
        "scope": scope_word(result["scope"].owner),
    }
    if state.filters:
        out["filters"] = dict(state.filters)
        out["not_covered"] = sorted(result["scope"].left_out)
    return out
