"""Who may do what: the roles and the scope rule (docs/architecture.md, "The scope rule"),
in one place.

|                  | admin | sales | operations | technician       | viewer          |
|------------------|-------|-------|------------|------------------|-----------------|
| org dashboard    | all   | all   | all        | own-jobs focus   | all, read-only  |
| save own layout  | yes   | yes   | yes        | yes              | no              |
| targets, reports | edit  | read  | read       | no               | read            |
| drill-down rows  | all   | all   | all        | own jobs only    | all             |
| Xero, reconciliation | yes | no  | no         | no               | no              |

Views take these predicates as decorators (`require(predicate)`). Whose rows a number or a
list is read in (a technician's own jobs and activities) is the scope rule of metrics.scope,
which reads `sees_own_rows_only` and each source's definition (docs/architecture.md, "The
scope rule").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from accounts.models import Role


def _role(user) -> str | None:
    return getattr(user, "role", None)


def is_admin(user) -> bool:
    return _role(user) == Role.ADMIN


def can_edit_targets(user) -> bool:
    return is_admin(user)


def can_manage_reports(user) -> bool:
    return is_admin(user)


def can_reconcile(user) -> bool:
    """Connect or disconnect Xero, read the reconciliation and note its exceptions."""
    return is_admin(user)


def can_save_layout(user) -> bool:
    return _role(user) is not None and _role(user) != Role.VIEWER


def sees_own_rows_only(user) -> bool:
    """Technicians see their own jobs and activities, not the organisation's."""
    return _role(user) == Role.TECHNICIAN


def uses_field_view(user) -> bool:
    """Technicians work from the phone-first field view of their own jobs."""
    return _role(user) == Role.TECHNICIAN


def may_work_job(user, job) -> bool:
    """Only the job's own technician starts or completes it (in the job's organisation)."""
    return (
        getattr(user, "is_authenticated", False)
        and job.organization_id == user.organization_id
        and job.technician_id == user.pk
    )


def may_view_statistics_of(user, other) -> bool:
    """Everyone sees their own personal numbers; an admin also sees those of anyone in their
    organisation."""
    if other.organization_id != user.organization_id:
        return False
    return other.pk == user.pk or is_admin(user)


def require(predicate: Callable[..., bool], message: str = "Your role cannot do this"):
    """A view decorator: logged in, and `predicate(user)`; otherwise 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not predicate(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = require(is_admin, "Only administrators can do this")
reconciler_required = require(
    can_reconcile, "Only administrators can open the reconciliation with Xero"
)
reports_manager_required = require(
    can_manage_reports, "Only administrators can manage scheduled reports"
)
