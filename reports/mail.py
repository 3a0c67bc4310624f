"""The report e-mail: HTML and text parts, the PDF attached, one message per recipient.

Each recipient gets their own message, so their List-Unsubscribe link (RFC 8058 one-click,
signed with django.core.signing) removes only them, and nobody sees the other addresses. The
Message-ID is deterministic per (report, slot, recipient): a resend after a crash carries the
same id, which lets a receiving server drop the duplicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from reports.content import ReportContent

# The link's purpose is its salt: a token signed for anything else (a session, a password
# reset) never reads as an unsubscribe. It names one report and one address, and it expires:
# every report e-mail carries a fresh one (docs/architecture.md, "Secrets and signed links").
UNSUBSCRIBE_SALT = "reports.unsubscribe"
UNSUBSCRIBE_MAX_AGE = dt.timedelta(days=60)


def message_id(report_id: int, slot: dt.datetime, recipient: str) -> str:
    """<report-7.20260310T2100Z.ab12cd34ef@renoz.example>: the same for every attempt."""
    stamp = slot.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ").replace(".000000Z", "Z")
    who = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:10]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "renoz.example"
    return f"<report-{report_id}.{stamp}.{who}@{domain}>"


def unsubscribe_token(report_id: int, recipient: str) -> str:
    return signing.dumps({"r": report_id, "e": recipient.strip().lower()}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(report id, address); raises signing.BadSignature for a forged or mangled token (one
    signed with any key but SECRET_KEY or SECRET_KEY_FALLBACKS), SignatureExpired (a
    BadSignature) past UNSUBSCRIBE_MAX_AGE."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        raise signing.BadSignature("Malformed unsubscribe token")
    return data["r"], str(data.get("e", ""))


def unsubscribe_url(report_id: int, recipient: str) -> str:
    token = unsubscribe_token(report_id, recipient)
    return settings.SITE_URL + reverse("reports-unsubscribe", args=[token])


def build_message(
    content: ReportContent, recipient: str, slot: dt.datetime, pdf: bytes, filename: str
) -> EmailMultiAlternatives:
    report = content.report
    unsubscribe = unsubscribe_url(report.pk, recipient)  # type: ignore[attr-defined]
    context = {"c": content, "unsubscribe_url": unsubscribe, "recipient": recipient}
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=render_to_string("reports/email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={
            "Message-ID": message_id(report.pk, slot, recipient),  # type: ignore[attr-defined]
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(render_to_string("reports/email.html", context), "text/html")
    message.attach(filename, pdf, "application/pdf")
    return message
