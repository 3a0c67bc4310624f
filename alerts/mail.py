"""The alert e-mail: HTML and text parts, one message per recipient, each with its own signed
snooze link and a Message-ID that is the same on every attempt (alerts.content); and the
digest e-mail, mailed as it was rendered when its slot was settled (alerts.digest)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from alerts.content import Content, message_id
from alerts.models import Digest


def build_message(content: Content, recipient: str) -> EmailMultiAlternatives:
    context = {"c": content, "snooze_url": content.snooze_url(recipient), "recipient": recipient}
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=render_to_string("alerts/email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={
            "Message-ID": message_id(content.event.pk, recipient),
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(render_to_string("alerts/email.html", context), "text/html")
    return message


def build_digest_message(digest: Digest, recipient: str) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=digest.subject,
        body=digest.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={
            "Message-ID": message_id(digest.pk, recipient, kind="digest"),
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(digest.html, "text/html")
    return message
