"""Account writes: the one place that sends a password-reset link on someone's behalf."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied

from accounts.forms import ResetByEmailForm
from accounts.models import User
from accounts.permissions import is_admin

log = logging.getLogger("renoz.accounts")


def do_send_password_reset(user: User, *, acting_user: User, request) -> bool:
    """Mail `user` a one-time reset link, as an admin of their organisation asked. False when
    no mail goes (the account is inactive or has no usable password to reset)."""
    if not (acting_user.is_superuser or is_admin(acting_user)) or (
        not acting_user.is_superuser and user.organization_id != acting_user.organization_id
    ):
        raise PermissionDenied("Only administrators of the user's organisation can do this")
    form = ResetByEmailForm({"email": user.email})
    if not form.is_valid() or not any(
        u.pk == user.pk for u in form.get_users(form.cleaned_data["email"])
    ):
        return False
    form.save(request=request)
    log.info("Password reset link sent to user %s by user %s", user.pk, acting_user.pk)
    return True
