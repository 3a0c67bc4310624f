"""Issue 27 item 7: account recovery, through a real SMTP server (aiosmtpd on a socket).

The mail arrives, its link works once and then fails, an expired link fails, nobody learns
which addresses have accounts, asking is throttled per address and per e-mail, users change
their own password, and admins send a link to a colleague of their own organisation.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Permission

from accounts.models import Role, User
from tests.conftest import PASSWORD, make_user
from tests.reports.smtp import SMTPServer

SITE = "https://dash.renoz.test"
NEW_PASSWORD = "a-brand-new-passphrase-42"  # noqa: S105 - test-only


@pytest.fixture
def smtp(settings):
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 5
        settings.SITE_URL = SITE
        yield server


def reset_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(re.escape(SITE) + r"(/accounts/password/reset/[^/\s]+/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


def ask(client, email, address="192.0.2.10"):
    return client.post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=address)


def choose(client, link, password=NEW_PASSWORD):
    """Open the mailed link as a browser does, then set `password`; the last response."""
    opened = client.get(link, follow=True)
    if not opened.context["validlink"]:
        return opened
    return client.post(
        opened.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
    )


@pytest.mark.django_db
def test_the_mailed_link_works_once_then_fails(client, smtp, owner):
    response = ask(client, owner.email.upper())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == owner.email
    assert mail["Subject"] == "Reset your Renoz Dashboard password"
    link = reset_link(mail)
    assert "within 1 hour" in mail.get_body(("plain",)).get_content()

    done = choose(client, link)
    assert done.status_code == 302
    assert done["Location"] == "/accounts/password/reset/done/"
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)

    again = choose(client, link, password="yet-another-passphrase-7")
    assert again.status_code == 200
    assert "This link does not work" in again.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    # The new password logs in.
    login = client.post("/accounts/login/", {"username": owner.email, "password": NEW_PASSWORD})
    assert login.status_code == 302


@pytest.mark.django_db
def test_an_expired_link_fails(client, smtp, owner, settings):
    asked_at = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(asked_at, tick=False):
        ask(client, owner.email)
    link = reset_link(smtp.messages[0])
    later = asked_at + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    with time_machine.travel(later, tick=False):
        response = choose(client, link)
    assert response.status_code == 200
    assert "This link does not work" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


@pytest.mark.django_db
def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, smtp, owner):
    response = ask(client, "nobody@renoz.test")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert smtp.messages == []


@pytest.mark.django_db
def test_asking_is_throttled_per_e_mail_address(client, smtp, owner, settings):
    assert settings.RATELIMIT_PASSWORD_RESET_EMAIL == "3/h"
    statuses = [ask(client, owner.email, address=f"192.0.2.{i}").status_code for i in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert len(smtp.messages) == 3
    refused = ask(client, owner.email, address="192.0.2.99")
    assert "Too many password reset requests" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0


@pytest.mark.django_db
def test_asking_is_throttled_per_address(client, smtp, owner, settings):
    assert settings.RATELIMIT_PASSWORD_RESET_ADDRESS == "10/h"
    statuses = [ask(client, f"p{i}@guess.test").status_code for i in range(12)]
    assert statuses == [302] * 10 + [429] * 2
    assert ask(client, owner.email, address="192.0.2.10").status_code == 429
    assert ask(client, owner.email, address="198.51.100.3").status_code == 302
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_an_over_long_address_is_refused_with_a_message(client, smtp):
    response = ask(client, "a" * 65 + "@renoz.test")
    assert response.status_code == 200
    assert "at most 64 characters" in response.content.decode()


@pytest.mark.django_db
def test_users_change_their_own_password_from_the_user_menu(client, owner):
    client.force_login(owner)
    home = client.get("/dashboard/me/")
    assert 'href="/accounts/password/change/"' in home.content.decode()
    wrong = client.post(
        "/accounts/password/change/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/done/"
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert client.get("/dashboard/me/").status_code == 200  # still logged in here


@pytest.mark.django_db
def test_changing_a_password_needs_a_login(client):
    response = client.get("/accounts/password/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _staff(org, role, email) -> User:
    user = make_user(org, role, email=email)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    return user


@pytest.mark.django_db
def test_an_admin_sends_a_colleague_a_reset_link_from_the_user_list(
    client, smtp, org, colleague, outsider
):
    admin_user = _staff(org, Role.ADMIN, "boss@renoz.test")
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "send_password_reset", "_selected_action": [colleague.pk, outsider.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert f"Sent a reset link to {colleague.email}." in response.content.decode()
    # Only their own organisation's users are in the list, so the outsider gets nothing.
    assert [m["To"] for m in smtp.messages] == [colleague.email]
    link = reset_link(smtp.messages[0])
    client.logout()
    assert choose(client, link).status_code == 302
    colleague.refresh_from_db()
    assert colleague.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_staff_who_are_not_admins_cannot_send_reset_links(client, smtp, org, colleague):
    viewer_staff = _staff(org, Role.VIEWER, "clerk@renoz.test")
    client.force_login(viewer_staff)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "send_password_reset", "_selected_action": [colleague.pk]},
        follow=True,
    )
    assert "Only administrators can send reset links." in response.content.decode()
    assert smtp.messages == []
