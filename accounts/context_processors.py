"""Role rules the base template needs (accounts.permissions decides them)."""

from accounts.permissions import can_manage_reports, can_reconcile


def permissions(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "can_manage_reports": bool(user and can_manage_reports(user)),
        "can_reconcile": bool(user and can_reconcile(user)),
    }
