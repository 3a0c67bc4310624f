"""Screens for targets: the progress list, and admin-only forms to set them.

Everyone in the organisation may read targets; only admins change them. Objects are loaded
from the user's organisation before the role check, so an id from another organisation is
a 404 for everyone, never a 403.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import admin_required, can_edit_targets
from accounts.tenancy import get_for_user_or_404
from metrics.definitions import METRICS
from metrics.formatting import short
from metrics.periods import add_months, fiscal_year_label, fiscal_year_start
from targets import actions
from targets.forms import (
    BulkChooserForm,
    BulkMonthsForm,
    CopyYearForm,
    TargetForm,
    fiscal_year_option,
    to_input,
)
from targets.models import (
    FIRST_TARGET_DAY,
    LAST_TARGET_DAY,
    MONTHS_IN,
    PeriodKind,
    Target,
    period_label,
)
from targets.queries import (
    FINISHED,
    UPCOMING,
    fiscal_years_with_targets,
    progress_for_targets,
    status_word,
    targets_in_fiscal_year,
)

# Folded period headers count rows per badge, worst first.
BADGE_CLASSES = {
    "Behind": "behind",
    "Missed": "behind",
    "At risk": "at_risk",
    "On track": "on_track",
    "Met": "on_track",
    "Not started": "upcoming",
}
METRIC_ORDER = {key: i for i, key in enumerate(METRICS)}


def _require_admin(request) -> None:
    if not can_edit_targets(request.user):
        raise PermissionDenied("Only admins can change targets")


def _today(organization) -> dt.date:
    return timezone.now().astimezone(organization.tz).date()


def _fy_param(request, organization) -> dt.date:
    """The financial year asked for in ?fy=YYYY-MM-DD (its start), else the current one."""
    fiscal = organization.fiscal_year_start_month
    try:
        asked = dt.date.fromisoformat(request.GET.get("fy", ""))
    except ValueError:
        asked = None
    if asked is None or not FIRST_TARGET_DAY <= asked <= LAST_TARGET_DAY:
        asked = _today(organization)
    return fiscal_year_start(asked, fiscal)


def _list_url(fy_start: dt.date) -> str:
    return f"{reverse('targets-list')}?fy={fy_start.isoformat()}"


def _row(target: Target, progress: dict | None) -> dict:
    metric = METRICS.get(target.metric)
    unit = metric.unit if metric else None
    row = {
        "target": target,
        "metric_label": target.metric_label,
        "lower_is_better": bool(metric and not metric.up_is_good),
        "scope": str(target.user) if target.user_id else "Organisation",
        "target_display": short(target.value, unit),
        "progress": progress,
    }
    if progress is None:
        return row
    pct = progress["progress_pct"]
    phase = progress["period"]["phase"]
    if phase == UPCOMING:
        badge, badge_class = status_word("", phase), "upcoming"
    elif phase == FINISHED:
        badge = status_word("met" if progress["met"] else "missed")
        badge_class = "on_track" if progress["met"] else "behind"
    else:
        badge, badge_class = status_word(progress["status"]), progress["status"]
    marker = None
    if phase not in (UPCOMING, FINISHED) and progress["expected_to_date"] is not None:
        marker = max(0, min(100, float(progress["expected_to_date"]) / float(target.value) * 100))
    row.update(
        marker_pct=marker,
        actual_display=short(progress["actual"], unit),
        expected_display=short(progress["expected_to_date"], unit),
        forecast_display=short(progress["forecast"], unit),
        progress_pct=pct,
        bar_pct=0 if pct is None else max(0, min(100, pct)),
        pace_pct=progress["pace_pct"],
        pace_basis=progress["pace_basis"],
        badge=badge,
        badge_class=badge_class,
    )
    return row


def _groups(targets: list[Target], progress: dict, *, expand: bool = False) -> list[dict]:
    """Targets by period, in order; running periods open, the rest folded unless `expand`."""
    by_period: dict[tuple, list[Target]] = defaultdict(list)
    for target in targets:
        by_period[(target.period_kind, target.period_start)].append(target)
    groups = []
    # A year first, then each quarter just before its months: chronological and nested.
    for kind, start in sorted(by_period, key=lambda p: (p[1], -MONTHS_IN[p[0]])):
        members = sorted(
            by_period[(kind, start)],
            key=lambda t: (METRIC_ORDER.get(t.metric, 99), t.user_id is not None, str(t.user)),
        )
        rows = [_row(t, progress.get(t.pk)) for t in members]
        period = next((r["progress"]["period"] for r in rows if r["progress"]), None)
        phase = period["phase"] if period else None
        badges = Counter(r["badge"] for r in rows if r["progress"])
        groups.append(
            {
                "kind": kind,
                "kind_label": PeriodKind(kind).label,
                "label": period_label(kind, start),
                "start": start,
                "end": add_months(start, MONTHS_IN[kind]) - dt.timedelta(days=1),
                "phase": phase,
                "elapsed_pct": period["elapsed_pct"] if period else None,
                "rows": rows,
                "open": expand or phase not in (UPCOMING, FINISHED),
                "badges": [
                    (label, BADGE_CLASSES[label], badges[label])
                    for label in BADGE_CLASSES
                    if label in badges
                ],
            }
        )
    return groups


def _summary(progress: dict) -> dict:
    running: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    upcoming = 0
    for item in progress.values():
        phase = item["period"]["phase"]
        if phase == UPCOMING:
            upcoming += 1
        elif phase == FINISHED:
            finished["met" if item["met"] else "missed"] += 1
        else:
            running[item["status"]] += 1
    return {
        "on_track": running["on_track"],
        "at_risk": running["at_risk"],
        "behind": running["behind"],
        "met": finished["met"],
        "missed": finished["missed"],
        "upcoming": upcoming,
        "total": len(progress),
    }


@login_required
def target_list(request):
    """Targets of one financial year, grouped by period, with actual, pace and status."""
    organization = request.user.organization
    fy_start = _fy_param(request, organization)
    this_fy = fiscal_year_start(_today(organization), organization.fiscal_year_start_month)
    metric_filter = request.GET.get("metric") if request.GET.get("metric") in METRICS else None
    expand = request.GET.get("expand") == "1"
    targets = list(targets_in_fiscal_year(organization, fy_start))
    if metric_filter:
        targets = [t for t in targets if t.metric == metric_filter]
    progress = progress_for_targets(organization, targets, timezone.now())
    years = sorted(
        {*fiscal_years_with_targets(organization), this_fy, add_months(this_fy, 12), fy_start},
        reverse=True,
    )
    context = {
        "fy_start": fy_start,
        "fy_label": fiscal_year_label(fy_start),
        "fy_range": fiscal_year_option(fy_start),
        "is_current_fy": fy_start == this_fy,
        "years": [
            {
                "start": y,
                "label": fiscal_year_label(y),
                "url": _list_url(y),
                "current": y == fy_start,
            }
            for y in years
        ],
        "metric_filter": metric_filter,
        "metric_options": [(k, m.label) for k, m in METRICS.items()],
        "groups": _groups(targets, progress, expand=expand),
        "expand": expand,
        "toggle_url": _list_url(fy_start)
        + (f"&metric={metric_filter}" if metric_filter else "")
        + ("" if expand else "&expand=1"),
        "summary": _summary(progress),
        "can_edit": can_edit_targets(request.user),
    }
    template = "targets/target_list.html"
    if request.htmx:
        template += "#page"
    return TemplateResponse(request, template, context)


def _target_fields(data: dict) -> dict:
    """The TargetForm's cleaned data as keyword arguments of the target actions."""
    fields = ("metric", "period_kind", "period_start", "value")
    return {**{name: data[name] for name in fields}, "user": data.get("user")}


def _redirect_to_year(organization, target):
    """Back to the list, on the financial year that holds the target."""
    return redirect(
        _list_url(fiscal_year_start(target.period_start, organization.fiscal_year_start_month))
    )


@admin_required
@require_http_methods(["GET", "POST"])
def target_create(request):
    organization = request.user.organization
    today = _today(organization)
    initial = {
        "period_kind": request.GET.get("period_kind") or PeriodKind.MONTH,
        "period_start": request.GET.get("period_start") or today.replace(day=1),
        "metric": request.GET.get("metric") or "revenue",
    }
    form = TargetForm(request.POST or None, organization=organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        target = actions.do_create_target(organization, **_target_fields(form.cleaned_data))
        messages.success(
            request, f"Added the {target.metric_label} target for {target.period_label}."
        )
        return _redirect_to_year(organization, target)
    return TemplateResponse(
        request, "targets/target_form.html", {"form": form, "target": None, "title": "Add a target"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def target_edit(request, pk: int):
    target = get_for_user_or_404(Target.objects.select_related("user"), request.user, pk=pk)
    _require_admin(request)
    organization = request.user.organization
    title = f"Edit {target.metric_label} · {target.period_label}"  # before the form edits it
    form = TargetForm(request.POST or None, organization=organization, instance=target)
    if request.method == "POST" and form.is_valid():
        actions.do_update_target(target, **_target_fields(form.cleaned_data))
        messages.success(
            request, f"Saved the {target.metric_label} target for {target.period_label}."
        )
        return _redirect_to_year(organization, target)
    return TemplateResponse(
        request,
        "targets/target_form.html",
        {"form": form, "target": target, "title": title},
    )


@login_required
@require_http_methods(["GET", "POST"])
def target_delete(request, pk: int):
    target = get_for_user_or_404(Target.objects.select_related("user"), request.user, pk=pk)
    _require_admin(request)
    organization = request.user.organization
    fy_start = fiscal_year_start(target.period_start, organization.fiscal_year_start_month)
    if request.method == "POST":
        label = f"{target.metric_label} target for {target.period_label}"
        actions.do_delete_target(target)
        messages.success(request, f"Deleted the {label}.")
        return redirect(_list_url(fy_start))
    return TemplateResponse(
        request,
        "targets/target_confirm_delete.html",
        {
            "target": target,
            "value_display": short(target.value, target.unit),
            "cancel_url": _list_url(fy_start),
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def target_bulk(request):
    """A financial year's twelve monthly targets for one metric, in one grid."""
    organization = request.user.organization
    today = _today(organization)
    this_fy = fiscal_year_start(today, organization.fiscal_year_start_month)
    if request.method == "POST":
        chooser = BulkChooserForm(request.POST, organization=organization, today=today)
        chooser.is_valid()
        fy_start = chooser.cleaned_data.get("fy_start") or this_fy
        form = BulkMonthsForm(
            request.POST, organization=organization, today=today, fy_start=fy_start
        )
        if form.is_valid():
            data = form.cleaned_data
            summary = actions.do_save_month_targets(
                organization, metric=data["metric"], values=data["values"], user=data.get("user")
            )
            messages.success(
                request,
                f"Saved {METRICS[data['metric']].label} for {fiscal_year_label(fy_start)}: "
                f"{summary.created} added, {summary.updated} changed, {summary.deleted} removed, "
                f"{summary.unchanged} unchanged.",
            )
            return redirect(_list_url(fy_start))
    else:
        params = request.GET if request.GET.get("metric") else None
        chooser = BulkChooserForm(
            params,
            organization=organization,
            today=today,
            initial={"metric": "revenue", "fiscal_year": this_fy.isoformat()},
        )
        if chooser.is_bound and chooser.is_valid():
            metric, fy_start, user = (
                chooser.cleaned_data["metric"],
                chooser.cleaned_data["fy_start"],
                chooser.cleaned_data.get("user"),
            )
        else:
            metric, fy_start, user = "revenue", this_fy, None
        existing = Target.objects.for_org(organization).filter(
            metric=metric,
            period_kind=PeriodKind.MONTH,
            period_start__gte=fy_start,
            period_start__lt=add_months(fy_start, 12),
            user=user,
        )
        unit = METRICS[metric].unit
        initial = {
            "metric": metric,
            "fiscal_year": fy_start.isoformat(),
            "user": user.pk if user else None,
        }
        for target in existing:
            i = (
                (target.period_start.year - fy_start.year) * 12
                + target.period_start.month
                - fy_start.month
            )
            initial[f"month_{i}"] = to_input(unit, target.value)
        form = BulkMonthsForm(
            organization=organization, today=today, fy_start=fy_start, initial=initial
        )
    return TemplateResponse(
        request,
        "targets/target_bulk.html",
        {"chooser": chooser, "form": form, "fy_start": fy_start, "cancel_url": _list_url(fy_start)},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def target_copy(request):
    """Copy last financial year's targets into this one with an uplift."""
    organization = request.user.organization
    today = _today(organization)
    form = CopyYearForm(request.POST or None, organization=organization, today=today)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        summary = actions.do_copy_fiscal_year_targets(
            organization,
            from_start=data["from_start"],
            to_start=data["to_start"],
            uplift_pct=data["uplift_pct"],
            metrics=data["metrics"] or None,
            overwrite=data["overwrite"],
        )
        parts = [f"{summary.created} added"]
        if summary.updated:
            parts.append(f"{summary.updated} replaced")
        if summary.unchanged:
            parts.append(f"{summary.unchanged} already there and kept")
        if summary.skipped:
            parts.append(f"{summary.skipped} skipped (no longer valid)")
        messages.success(
            request,
            f"Copied {fiscal_year_label(data['from_start'])} into "
            f"{fiscal_year_label(data['to_start'])} with {data['uplift_pct']:+}% uplift: "
            + ", ".join(parts)
            + ".",
        )
        return redirect(_list_url(data["to_start"]))
    this_fy = fiscal_year_start(today, organization.fiscal_year_start_month)
    previous = add_months(this_fy, -12)
    counts = Counter(
        targets_in_fiscal_year(organization, previous).values_list("metric", flat=True)
    )
    return TemplateResponse(
        request,
        "targets/target_copy.html",
        {
            "form": form,
            "source_label": fiscal_year_label(previous),
            "source_counts": [
                (METRICS[k].label if k in METRICS else k, n) for k, n in sorted(counts.items())
            ],
            "cancel_url": _list_url(this_fy),
        },
    )
