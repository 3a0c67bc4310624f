from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from infra import validation


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class ResetByEmailForm(PasswordResetForm):
    """Django's reset form: the address keeps the input rules, and the mailed link starts
    with SITE_URL, never with the Host header of whoever asked (docs/architecture.md,
    "Logging in and account recovery")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autofocus": True})
        validation.harden_form_fields(self.fields)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def save(self, **kwargs):
        # Ours, whatever the view passes (Django's view passes its registration/ defaults).
        kwargs["subject_template_name"] = "accounts/password_reset_subject.txt"
        kwargs["email_template_name"] = "accounts/password_reset_email.txt"
        kwargs["extra_email_context"] = {
            **(kwargs.get("extra_email_context") or {}),
            "site_url": settings.SITE_URL,
            "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        }
        return super().save(**kwargs)
