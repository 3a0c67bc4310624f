"""django-axes' answer to a locked-out login (settings.AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpResponse
from django.template.response import TemplateResponse

from accounts.forms import EmailAuthenticationForm


def axes_lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login: the login page, a 429 and Retry-After."""
    retry = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = math.ceil(retry / 60)
    form = EmailAuthenticationForm(request)
    form.cleaned_data = {}
    form.add_error(
        None,
        f"Too many failed log-in attempts. Try again in {minutes} minutes, "
        "or ask an admin to reset your password.",
    )
    response = TemplateResponse(request, "accounts/login.html", {"form": form}, status=429)
    response["Retry-After"] = str(retry)
    return response.render()
