"""The annotations screens: the list (filter by tag and metric, CSV import), the add form
(also opened from a chart with its moment or span filled in) and edit/delete for the author
and admins (docs/annotations.md, "Screens")."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import require
from accounts.tenancy import get_for_user_or_404
from annotations import queries
from annotations.actions import (
    MAX_IMPORT_BYTES,
    do_add_annotation,
    do_delete_annotation,
    do_import_csv,
    do_update_annotation,
    may_add,
    may_change,
)
from annotations.forms import AnnotationForm, initial_for
from annotations.models import Annotation
from infra.validation import next_path
from metrics.definitions import METRICS

add_required = require(may_add, "Viewers can read annotations but not add them")


def _get_rw_annotation(request, pk: int) -> Annotation:
    """The annotation from the user's organisation (else 404) that the user may change (else
    403)."""
    annotation = get_for_user_or_404(Annotation, request.user, pk=pk)
    if not may_change(request.user, annotation):
        raise PermissionDenied("Only its author and administrators can change an annotation")
    return annotation


@login_required
@require_http_methods(["GET"])
def annotation_list(request):
    organization = request.user.organization
    tag = (request.GET.get("tag") or "").strip()[:40]
    metric = request.GET.get("metric") or ""
    if metric not in METRICS:
        metric = ""
    tz = organization.tz
    rows = []
    for a in queries.list_for(organization, tag=tag, metric=metric)[:500]:
        note = queries.as_note(a)
        rows.append(
            {
                "a": a,
                "when": queries.when_words(note, tz),
                "scope": queries.scope_words(note),
                "can_change": may_change(request.user, a),
            }
        )
    return TemplateResponse(
        request,
        "annotations/annotation_list.html",
        {
            "rows": rows,
            "tags": queries.tags_of(organization),
            "metrics": [(m.key, m.label) for m in METRICS.values()],
            "tag": tag,
            "metric": metric,
            "can_add": may_add(request.user),
            "max_bytes": MAX_IMPORT_BYTES,
        },
    )


@add_required
@require_http_methods(["GET", "POST"])
def annotation_create(request):
    organization = request.user.organization
    if request.method == "POST":
        form = AnnotationForm(request.POST, tz=organization.tz)
        if form.is_valid():
            do_add_annotation(organization, author=request.user, **form.fields_for_action())
            messages.success(request, "Annotation added: it shows on every chart it touches.")
            return redirect(_next(request) or "annotations-list")
    else:
        # From a chart: its moment or span, and its metric.
        initial = {k: request.GET.get(k, "")[:40] for k in ("starts_at", "ends_at", "metric")}
        form = AnnotationForm(initial=initial, tz=organization.tz)
    return TemplateResponse(
        request,
        "annotations/annotation_form.html",
        {"form": form, "editing": None, "next": _next(request)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def annotation_edit(request, pk: int):
    annotation = _get_rw_annotation(request, pk)
    tz = request.user.organization.tz
    if request.method == "POST":
        form = AnnotationForm(request.POST, tz=tz)
        if form.is_valid():
            do_update_annotation(annotation, **form.fields_for_action())
            messages.success(request, "Annotation saved.")
            return redirect("annotations-list")
    else:
        form = AnnotationForm(initial=initial_for(annotation, tz), tz=tz)
    return TemplateResponse(
        request,
        "annotations/annotation_form.html",
        {"form": form, "editing": annotation, "next": ""},
    )


@login_required
@require_POST
def annotation_delete(request, pk: int):
    annotation = _get_rw_annotation(request, pk)
    do_delete_annotation(annotation)
    messages.success(request, f"Annotation “{annotation.title}” deleted.")
    return redirect("annotations-list")


@add_required
@require_POST
def annotation_import(request):
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a CSV file to import.")
        return redirect("annotations-list")
    if upload.size and upload.size > MAX_IMPORT_BYTES:
        messages.error(request, f"The file is larger than {MAX_IMPORT_BYTES:,} bytes.")
        return redirect("annotations-list")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        messages.error(request, "The file is not UTF-8 text; save it as CSV UTF-8.")
        return redirect("annotations-list")
    result = do_import_csv(request.user.organization, text, author=request.user)
    return TemplateResponse(request, "annotations/import_result.html", {"result": result})


def _next(request) -> str:
    """A same-site path to return to (the chart the annotation was added from)."""
    return next_path(request)[:2000]
