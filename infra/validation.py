"""Input rules every form shares (docs/architecture.md, "Errors"): ASCII digits in numbers,
one line in one-line text, e-mail addresses within the limits mail servers keep.

Each is a validator or a form field, so a form says it once and the message is the same
wherever the rule applies: a name with CR/LF used to be saved and then failed every delivery
(BadHeaderError), and a 300-character local part was accepted that no mail server takes.
"""

from __future__ import annotations

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.http import url_has_allowed_host_and_scheme

# RFC 5321 §4.5.3.1: a local part holds at most 64 octets, a forward path 256 (254 usable).
MAX_EMAIL_LOCAL_PART = 64
MAX_EMAIL_LENGTH = 254
ASCII_DIGITS_MESSAGE = "Write the number with the digits 0-9, like 150000 or 38.5."
SINGLE_LINE_MESSAGE = (
    "Use one line of text without control characters (no line breaks, tabs or NUL)."
)


def control_characters(value: str) -> list[str]:
    """The control characters in `value` (C0, DEL, C1, and the Unicode line and paragraph
    separators, which mail headers and CSV treat as line breaks)."""
    return [
        ch
        for ch in value
        if unicodedata.category(ch) == "Cc" or ch in ("\u2028", "\u2029", "\u0085")
    ]


def validate_single_line(value: str) -> None:
    if isinstance(value, str) and control_characters(value):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="control_characters")


def validate_email_address(value: str) -> None:
    """Django's address check, plus the lengths of RFC 5321: local part ≤ 64, whole ≤ 254."""
    if isinstance(value, str) and len(value) > MAX_EMAIL_LENGTH:
        raise ValidationError(
            f"An e-mail address has at most {MAX_EMAIL_LENGTH} characters; "
            f"this one has {len(value)}.",
            code="too_long",
        )
    validate_email(value)
    local = value.rpartition("@")[0]
    if len(local) > MAX_EMAIL_LOCAL_PART:
        raise ValidationError(
            f"The part before the @ has at most {MAX_EMAIL_LOCAL_PART} characters; "
            f"this one has {len(local)}.",
            code="local_part_too_long",
        )


class AsciiDigitsMixin:
    """For number form fields: refuse digits other than 0-9 ("²", "٣", "５") with a clear
    message before Python's int()/Decimal() would read or reject them."""

    def to_python(self, value):
        if isinstance(value, str) and not value.isascii():
            raise ValidationError(ASCII_DIGITS_MESSAGE, code="invalid")
        return super().to_python(value)  # type: ignore[misc]


class IntegerField(AsciiDigitsMixin, forms.IntegerField):
    pass


class DecimalField(AsciiDigitsMixin, forms.DecimalField):
    pass


def harden_form_fields(fields: dict[str, forms.Field]) -> None:
    """Add the rules above to a form's fields: one-line text fields (any CharField whose
    widget is not a Textarea) refuse control characters, e-mail fields check the lengths."""
    for field in fields.values():
        if isinstance(field, forms.EmailField):
            field.validators.append(validate_email_address)
        elif isinstance(field, forms.CharField) and not isinstance(
            field.widget, (forms.Textarea, forms.PasswordInput)
        ):
            field.validators.append(validate_single_line)


def next_path(request) -> str:
    """The request's "next" (POST, else GET) when it is a path on this site, else "": never
    another host, a scheme-relative address, or a word redirect() would take for a view name."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""
