"""Writes to annotations: the one place that changes them (docs/annotations.md).

Every write bumps the organisation's annotations version once its transaction commits
(metrics.cache, part "annotations"), so every chart, page fragment and cached window read
built from the old set is dropped, and no other cached number is.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.permissions import can_save_layout, is_admin
from annotations.forms import AnnotationForm
from annotations.models import Annotation, Source
from annotations.queries import PART
from metrics.cache import bump_data_version
from metrics.definitions import METRICS
from metrics.formatting import format_value

MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 1_000_000
IMPORT_COLUMNS = ("title", "starts_at", "ends_at", "metric", "dimension", "note", "tags")


def _changed_on_commit(organization_id: int) -> None:
    transaction.on_commit(partial(bump_data_version, organization_id, [PART]))


def may_add(user) -> bool:
    """Anyone signed in to an organisation except viewers (docs/annotations.md, "Who")."""
    return can_save_layout(user)


def may_change(user, annotation: Annotation) -> bool:
    """Only its author and the organisation's admins edit or delete an annotation."""
    if annotation.organization_id != getattr(user, "organization_id", None):
        return False
    return is_admin(user) or (annotation.author_id is not None and annotation.author_id == user.pk)


def do_add_annotation(organization, *, author=None, source: str = Source.MANUAL, **fields):
    """Create one annotation from validated fields (AnnotationForm.fields_for_action)."""
    annotation = Annotation(organization=organization, author=author, source=source, **fields)
    with transaction.atomic():
        annotation.full_clean()
        annotation.save()
        _changed_on_commit(organization.pk)
    return annotation


def do_update_annotation(annotation: Annotation, **fields) -> Annotation:
    for name, value in fields.items():
        setattr(annotation, name, value)
    with transaction.atomic():
        annotation.full_clean()
        annotation.save()
        _changed_on_commit(annotation.organization_id)
    return annotation


def do_delete_annotation(annotation: Annotation) -> None:
    with transaction.atomic():
        org_id = annotation.organization_id
        annotation.delete()
        _changed_on_commit(org_id)


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (CSV line, what is wrong)


def do_import_csv(organization, text: str, *, author=None) -> ImportResult:
    """Import annotations from CSV text with a header naming IMPORT_COLUMNS (title and
    starts_at required). Each row is validated as the form validates it; a bad row is reported
    by its line and skipped, the good rows are created together in one transaction."""
    result = ImportResult()
    if len(text.encode()) > MAX_IMPORT_BYTES:
        result.errors.append((0, f"The file is larger than {MAX_IMPORT_BYTES:,} bytes"))
        return result
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("title", "starts_at") if c not in header]
    if missing:
        result.errors.append(
            (1, f"The header needs {', '.join(missing)}; columns: {', '.join(IMPORT_COLUMNS)}")
        )
        return result
    reader.fieldnames = header
    tz = zoneinfo.ZoneInfo(organization.timezone)
    rows = []
    for n, row in enumerate(reader):
        line = n + 2
        if n >= MAX_IMPORT_ROWS:
            result.errors.append((line, f"Only the first {MAX_IMPORT_ROWS:,} rows are read"))
            break
        data = {k: (v or "").strip() for k, v in row.items() if k in IMPORT_COLUMNS}
        form = AnnotationForm(data, tz=tz)
        if not form.is_valid():
            name, messages = next(iter(form.errors.items()))
            result.errors.append((line, f"{name}: {messages[0]}"))
            continue
        annotation = Annotation(
            organization=organization,
            author=author,
            source=Source.MANUAL,
            **form.fields_for_action(),
        )
        rows.append(annotation)
    if rows:
        with transaction.atomic():
            Annotation.objects.bulk_create(rows)
            _changed_on_commit(organization.pk)
    result.created = len(rows)
    return result


def note_target_change(target, *, created: bool = False, deleted: bool = False) -> None:
    """A target edit adds its own annotation, at the moment of the edit, on its metric (the
    organisation's targets only: a person's own target is theirs, not the charts')."""
    if target.user_id is not None or target.metric not in METRICS:
        return
    metric = METRICS[target.metric]
    value = format_value(target.value, metric.unit)[0]
    verb = "removed" if deleted else "set to" if created else "changed to"
    title = f"{metric.label} target for {target.period_label} {verb}"
    if not deleted:
        title += f" {value}"
    Annotation.objects.create(
        organization_id=target.organization_id,
        starts_at=timezone.now(),
        metric=metric.key,
        title=title[:120],
        tags=["target"],
        source=Source.TARGET,
    )
    _changed_on_commit(target.organization_id)


def note_alert_changes(changes) -> None:
    """Alert state changes add their own annotations: one per (rule, event) that starts or
    ends firing, at the event's time, on the rule's metric. `changes` are (rule, event)
    pairs, written inside the evaluator's transaction."""
    rows = []
    for rule, event in changes:
        if "firing" not in (event.from_state, event.to_state):
            continue
        verb = "firing" if event.to_state == "firing" else "resolved"
        metric = METRICS.get(rule.metric)
        if metric is not None and event.value is not None:
            detail = f", {metric.label.lower()} {format_value(event.value, metric.unit)[0]}"
        else:
            detail = f": {event.value_text}" if event.value_text else ""
        rows.append(
            Annotation(
                organization_id=rule.organization_id,
                starts_at=event.at,
                metric=rule.metric if rule.metric in METRICS else "",
                title=f"Alert {verb}: {rule.name}{detail}"[:120],
                tags=["alert"],
                source=Source.SYSTEM if rule.kind == "system" else Source.ALERT,
            )
        )
    if rows:
        Annotation.objects.bulk_create(rows)
        for org_id in {r.organization_id for r in rows}:
            _changed_on_commit(org_id)
