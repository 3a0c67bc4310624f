"""Logging in and account recovery (docs/architecture.md, "Logging in and account recovery"):
Django's auth views in our templates, the reset request throttled per address and per
e-mail address."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from accounts.forms import ResetByEmailForm
from infra.ratelimit import check_rate

_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset_form.html",
    form_class=ResetByEmailForm,
    success_url=reverse_lazy("accounts-password-reset-done"),
)


def password_reset(request):
    """Ask for a reset link. Each POST counts against the caller's address and against the
    address typed in (whether or not it has an account, so the limit says nothing about who
    has one); past either, the styled 429."""
    if request.method == "POST":
        email = str(request.POST.get("email", "")).strip().lower()[:254]
        refused = check_rate(
            request, "password_reset_address", what="password reset"
        ) or check_rate(
            request, "password_reset_email", what="password reset", key=f"email:{email}"
        )
        if refused is not None:
            return refused
    return _reset(request)


password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("accounts-password-reset-complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change_form.html",
    success_url=reverse_lazy("accounts-password-change-done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="accounts/password_change_done.html"
)
