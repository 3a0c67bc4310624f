"""Following and digests on screen (docs/digests.md): the card's follow control, the user's
settings page (what they follow, their digest's cadence and send time), and a preview of their
next digest (the JSON API is in alerts.api).

Every read and write is the signed-in user's own: a follow is found only among theirs, so
another user's (or another organisation's) id is a 404. Viewers follow too: following is
reading.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from alerts import actions, digest, queries
from alerts.follows import (
    InvalidFollow,
    canonical_filters,
    check_metric,
    check_scope,
    filters_text,
)
from alerts.forms import DigestSettingsForm
from alerts.templatetags.follow import control_html
from infra.validation import next_path
from metrics.definitions import METRICS
from metrics.filters import owner_choices
from presentation.wording import exact_time


def _back(request) -> str:
    """Where the card's form came from (a path on this site), else the dashboard."""
    return next_path(request) or "/dashboard/"


@login_required
@require_POST
def follow_toggle(request):
    """The card's one click: follow the metric with the card's filters, or unfollow it."""
    try:
        metric = check_metric(request.POST.get("metric"))
        filters = check_scope(
            request.user, canonical_filters(request.POST, request.user.organization)
        )
    except InvalidFollow as exc:
        if request.htmx:
            return TemplateResponse(
                request, "alerts/_follow_error.html", {"error": exc}, status=400
            )
        messages.error(request, str(exc))
        return HttpResponseRedirect(_back(request))
    following = actions.do_toggle_follow(request.user, metric, filters)
    label = METRICS[metric].label
    if request.htmx:
        response = HttpResponse(
            control_html(
                request,
                METRICS[metric],
                tuple(filters.items()),
                following=following,
                next_url=_back(request),
            )
        )
        response["HX-Trigger"] = "followChanged"
        return response
    messages.success(
        request,
        f"You follow {label} now: it is in your digest."
        if following
        else f"You no longer follow {label}.",
    )
    return HttpResponseRedirect(_back(request))


def _following_rows(user) -> list[dict]:
    owners = dict(owner_choices(user.organization))
    return [
        {
            "follow": f,
            "label": METRICS[f.metric].label if f.metric in METRICS else f.metric,
            "filters_text": filters_text(f.filters or {}, owners),
        }
        for f in queries.follows_of(user)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """The user's settings: what they follow (each with unfollow), and their digest."""
    row = queries.digest_settings_of(request.user)
    if request.method == "POST":
        form = DigestSettingsForm(request.POST, instance=row)
        if form.is_valid():
            actions.do_update_digest_settings(
                request.user, **{name: form.cleaned_data[name] for name in form.Meta.fields}
            )
            messages.success(request, "Your digest settings are saved.")
            return redirect("alerts-settings")
    else:
        form = DigestSettingsForm(instance=row)
    last = digest.scheduled_slot(row, timezone.now())
    step = dt.timedelta(days=7 if row.cadence == "weekly" else 1)
    upcoming = exact_time(last + step, row.tz(), zone=True) if last else ""
    return TemplateResponse(
        request,
        "alerts/settings.html",
        {
            "form": form,
            "rows": _following_rows(request.user),
            "digest": row,
            "upcoming": upcoming,
        },
    )


@login_required
@require_POST
def unfollow(request, pk):
    follow = queries.follow_of(request.user, pk)
    if follow is None:
        raise Http404("No such follow")
    actions.do_unfollow_metric(request.user, follow.metric, follow.filters)
    label = METRICS[follow.metric].label if follow.metric in METRICS else follow.metric
    messages.success(request, f"You no longer follow {label}.")
    return redirect("alerts-settings")


@login_required
def digest_preview(request):
    """What the user's next digest would say now (nothing is stored or sent)."""
    row = queries.digest_settings_of(request.user)
    now = timezone.now()
    slot = digest.scheduled_slot(row, now) or digest.beat_slot(now)
    body = digest.build(request.user, row, slot, now=now)
    rendered = digest.render(body) if body.changed else None
    return TemplateResponse(
        request,
        "alerts/digest_preview.html",
        {
            **digest.mail_context(body),
            "body": body,
            "rendered": rendered,
            "follows": bool(body.items or body.quiet),
        },
    )
