"""Role rules the base template needs (renoz.accounts.permissions decides them)."""

from renoz.accounts.permissions import can_manage_reports


def permissions(request) -> dict:
    user = getattr(request, "user", None)
    return {"can_manage_reports": bool(user and can_manage_reports(user))}
