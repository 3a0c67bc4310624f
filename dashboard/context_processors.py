"""What every page's navigation needs to know about the user (rules: accounts.permissions)."""

from accounts.permissions import uses_field_view


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    return {"nav_field": bool(user is not None and uses_field_view(user))}
