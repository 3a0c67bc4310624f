"""Tenancy: every read a request makes starts from the user's organisation.

`OrgQuerySet.for_org()` scopes a queryset, and `get_for_user_or_404()` loads one row the
user may see. An id from another organisation is a 404, never a 403 and never data.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.db import models
from django.http import Http404

M = TypeVar("M", bound=models.Model)


class OrgQuerySet(models.QuerySet):
    def for_org(self, organization) -> Self:
        org_id = getattr(organization, "pk", organization)
        return self.filter(organization_id=org_id)

    def for_user(self, user) -> Self:
        if not getattr(user, "is_authenticated", False) or not getattr(
            user, "organization_id", None
        ):
            return self.none()
        return self.for_org(user.organization_id)


def scoped(model_or_qs: type[models.Model] | models.QuerySet[Any], user) -> models.QuerySet[Any]:
    """The rows of a model (or queryset) that belong to the user's organisation."""
    qs = model_or_qs._default_manager.all() if isinstance(model_or_qs, type) else model_or_qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(organization_id=user.organization_id)


def get_for_user_or_404(model_or_qs, user, **lookup):
    """One row from the user's organisation, or Http404 (also for malformed ids)."""
    try:
        return scoped(model_or_qs, user).get(**lookup)
    except (models.ObjectDoesNotExist, ValueError, TypeError):
        raise Http404("No such record") from None
