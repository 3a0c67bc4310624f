"""Login throttling with django-axes (docs/architecture.md, "Logging in and account recovery").

Two lockouts, set in settings.AXES_LOCKOUT_PARAMETERS: per (username, address) after
AXES_FAILURE_LIMIT failures, and per address alone, across every username tried from it,
after AXES_ADDRESS_FAILURE_LIMIT (higher, because an office shares one address). axes compares
one count against one limit; `AddressAwareHandler` scales the address-alone count so each
group meets its own limit, and a successful log-in clears only that person's failures, never
the address's (or one known account would wipe the count of a guessing run).
"""

from __future__ import annotations

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse
from django.template.response import TemplateResponse

from accounts.forms import EmailAuthenticationForm

ADDRESS_ALONE = ("ip_address",)


def _is_address_alone(parameter) -> bool:
    return tuple([parameter] if isinstance(parameter, str) else parameter) == ADDRESS_ALONE


class AddressAwareHandler(AxesDatabaseHandler):
    """axes' database handler, with its own failure limit for the address-alone group."""

    def get_failures(self, request, credentials=None) -> int:
        limit = get_failure_limit(request, credentials)
        address_limit = settings.AXES_ADDRESS_FAILURE_LIMIT
        parameters = get_lockout_parameters(request, credentials)
        worst = 0
        for parameter, attempts in zip(
            parameters, self.get_user_attempts(request, credentials), strict=True
        ):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            if _is_address_alone(parameter):
                # Tricky: floor(failures × limit / address_limit) reaches `limit` exactly when
                # failures reach address_limit, so axes' one comparison applies both limits.
                failures = failures * limit // address_limit
            worst = max(worst, failures)
        return worst

    def reset_user_attempts(self, request, credentials=None) -> int:
        parameters = get_lockout_parameters(request, credentials)
        count = 0
        for parameter, attempts in zip(
            parameters, self.filter_user_attempts(request, credentials), strict=True
        ):
            if not _is_address_alone(parameter):
                count += attempts.delete()[0]
        return count


def axes_lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login: the login page, a 429 and Retry-After."""
    retry = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = math.ceil(retry / 60)
    form = EmailAuthenticationForm(request)
    form.cleaned_data = {}
    form.add_error(
        None,
        f"Too many failed log-in attempts. Try again in {minutes} minutes, "
        "or reset your password by e-mail.",
    )
    response = TemplateResponse(request, "accounts/login.html", {"form": form}, status=429)
    response["Retry-After"] = str(retry)
    return response.render()
