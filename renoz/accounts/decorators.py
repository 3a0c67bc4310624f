"""View preconditions about roles."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def role_required(*roles: str):
    """Allow only authenticated users whose role is one of `roles`; others get a 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.user.role not in roles:
                raise PermissionDenied("Your role cannot do this")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = role_required("admin")
