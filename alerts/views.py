"""Screens for alert rules (docs/alerts.md, "Screens"): the list with each rule's state, last
value and last check; a rule's history; create and edit with a preview; snooze; and the public
page behind a mailed snooze link (signed with django.core.signing, no login).

Everyone keeps alerts of their own; an administrator sees and edits the organisation's, and its
system alerts. A rule someone may not see is a 404 (alerts.queries.rule_for).
"""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import is_admin
from alerts import actions, queries
from alerts.conditions import line_words, value_words
from alerts.content import read_snooze_token
from alerts.forms import FILTER_PARAMS, RuleForm
from alerts.models import AlertRule, Kind
from alerts.preview import PreviewError, preview_rule
from metrics.definitions import METRICS
from metrics.periods import COMPARISONS, PRESETS
from presentation.wording import exact_time


def _tz(user):
    return zoneinfo.ZoneInfo(user.organization.timezone)


def _when(instant, tz) -> str:
    return exact_time(instant, tz) if instant else "never"


def _value(rule, state) -> str:
    if state is None or (state.value is None and not state.value_text):
        return "—"
    if rule.kind == Kind.SYSTEM:
        return state.value_text or "—"
    return value_words(rule, state.value, state.value_text)


def _row(rule, series, tz, now) -> dict:
    worst = next((s for s in series if s.state == "firing"), series[0] if series else None)
    return {
        "rule": rule,
        "state": worst.state if worst else "ok",
        "state_label": worst.get_state_display() if worst else "Not checked yet",
        "value": _value(rule, worst),
        "checked": _when(worst.last_checked_at if worst else None, tz),
        "snoozed": rule.is_snoozed(now),
        "snoozed_until": _when(rule.snoozed_until, tz) if rule.is_snoozed(now) else "",
        "line": line_words(rule),
        "what": METRICS[rule.metric].label if rule.metric in METRICS else "",
        "checked_yet": worst is not None,
        "series": series,
    }


@login_required
def rule_list(request):
    rules = list(queries.rules_for(request.user))
    states = queries.states_of(rules)
    tz, now = _tz(request.user), timezone.now()
    rows = [_row(r, states.get(r.pk, []), tz, now) for r in rules]
    return TemplateResponse(
        request, "alerts/rule_list.html", {"rows": rows, "is_admin": is_admin(request.user)}
    )


@login_required
def rule_detail(request, pk):
    rule = queries.rule_for(request.user, pk)
    tz, now = _tz(request.user), timezone.now()
    series = queries.states_of([rule]).get(rule.pk, [])
    events = queries.history(rule)
    for event in events:
        event.when = _when(event.at, tz)  # type: ignore[attr-defined]
        event.value_words = (  # type: ignore[attr-defined]
            event.value_text
            if rule.kind == Kind.SYSTEM
            else value_words(rule, event.value, event.value_text)
        )
    return TemplateResponse(
        request,
        "alerts/rule_detail.html",
        {
            "row": _row(rule, series, tz, now),
            "rule": rule,
            "events": events,
            "snooze_choices": actions.SNOOZE_LABELS,
            "series_rows": [
                {"s": s, "value": _value(rule, s), "checked": _when(s.last_checked_at, tz)}
                for s in series
            ],
        },
    )


def _prefill(request) -> dict:
    """A new rule from the KPI card's bell: its metric, range, comparison and filters."""
    get = request.GET
    initial: dict = {}
    metric = get.get("metric", "")
    if metric in METRICS:
        initial["metric"] = metric
        initial["name"] = f"{METRICS[metric].label} alert"
    if get.get("range") in PRESETS:
        initial["range_preset"] = get["range"]
    if get.get("compare") in COMPARISONS:
        initial["compare"] = get["compare"]
    for name in FILTER_PARAMS:
        if get.get(name):
            initial[name] = get[name][:40]
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request):
    if request.method == "POST":
        form = RuleForm(request.POST, user=request.user)
        if form.is_valid():
            rule = form.save(commit=False)
            rule.organization = request.user.organization
            rule.owner = request.user
            rule.save()
            messages.success(request, f"Alert “{rule.name}” saved.")
            return redirect("alerts-detail", rule.pk)
    else:
        form = RuleForm(user=request.user, initial=_prefill(request))
    return TemplateResponse(request, "alerts/rule_form.html", {"form": form, "title": "New alert"})


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request, pk):
    rule = queries.rule_for(request.user, pk)
    if rule.kind == Kind.SYSTEM:
        return HttpResponseBadRequest("System alerts are snoozed or paused, not edited")
    form = RuleForm(request.POST or None, instance=rule, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Alert “{rule.name}” saved.")
        return redirect("alerts-detail", rule.pk)
    return TemplateResponse(
        request, "alerts/rule_form.html", {"form": form, "title": f"Edit {rule.name}", "rule": rule}
    )


@login_required
@require_http_methods(["GET", "POST"])
def rule_preview(request):
    """What a rule in the form would have done over the last 90 days (nothing is saved)."""
    data = request.POST if request.method == "POST" else request.GET
    form = RuleForm(data, user=request.user)
    context: dict = {"form": form}
    if form.is_valid():
        rule = form.save(commit=False)
        rule.organization = request.user.organization
        rule.owner = request.user
        try:
            context["preview"] = preview_rule(rule)
        except PreviewError as exc:
            context["preview_error"] = str(exc)
    template = "alerts/_preview.html"
    return TemplateResponse(request, template, context, status=200 if form.is_valid() else 400)


@login_required
@require_POST
def rule_snooze(request, pk):
    rule = queries.rule_for(request.user, pk)
    choice = request.POST.get("for", "")
    if choice == "off":
        actions.do_snooze_rule(rule, None)
        messages.success(request, "Snooze ended.")
    elif choice in actions.SNOOZE_CHOICES:
        until = timezone.now() + actions.SNOOZE_CHOICES[choice]
        actions.do_snooze_rule(rule, until, request.POST.get("reason", ""))
        messages.success(request, f"Snoozed for {actions.SNOOZE_LABELS[choice]}.")
    else:
        return HttpResponseBadRequest("Choose how long to snooze: 1h, 1d, 7d or off")
    return redirect("alerts-detail", rule.pk)


@login_required
@require_POST
def rule_toggle(request, pk):
    rule = actions.do_toggle_rule(queries.rule_for(request.user, pk))
    messages.success(request, "Alert resumed." if rule.active else "Alert paused.")
    return redirect("alerts-detail", rule.pk)


@require_http_methods(["GET", "POST"])
def snooze_link(request, token):
    """The mailed snooze link: a GET shows the choices (link scanners snooze nothing); the
    POST snoozes. Signed for the rule and the recipient, so it needs no login."""
    try:
        rule_id, recipient = read_snooze_token(token)
        rule = AlertRule.objects.get(pk=rule_id)
    except (signing.BadSignature, AlertRule.DoesNotExist):
        return HttpResponseBadRequest("This snooze link is not valid or has expired.")
    done = ""
    if request.method == "POST":
        choice = request.POST.get("for", "")
        if choice not in actions.SNOOZE_CHOICES:
            return HttpResponseBadRequest("Choose how long to snooze: 1h, 1d or 7d")
        until = timezone.now() + actions.SNOOZE_CHOICES[choice]
        reason = request.POST.get("reason", "") or f"Snoozed by {recipient} from the e-mail"
        rule = actions.do_snooze_rule(rule, until, reason)
        done = exact_time(until, zoneinfo.ZoneInfo(rule.organization.timezone))
    return TemplateResponse(
        request,
        "alerts/snooze_link.html",
        {"rule": rule, "recipient": recipient, "choices": actions.SNOOZE_LABELS, "done": done},
    )
