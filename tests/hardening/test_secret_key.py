"""Issue 27 item 3: no forgeable secrets.

Production (DEBUG off) refuses a weak SECRET_KEY or fallback, saying how to make one; so does
`make serve-prod` before it starts anything. Unsubscribe links are signed for that purpose,
name one report and one address, expire, and are refused when signed with any other key,
including the predictable key serve-prod once fell back to. A key being rotated out
(SECRET_KEY_FALLBACKS) still reads links signed with it.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from infra import secret_key
from reports.mail import UNSUBSCRIBE_SALT, unsubscribe_token
from tests.reports.conftest import make_report
from tests.test_settings_env import STRONG_KEY, start_django

REPO = Path(__file__).resolve().parent.parent.parent
OLD_PREDICTABLE_KEY = f"local-serve-prod-{socket.gethostname()}-not-secret"
OTHER_STRONG_KEY = "Zq8Wn3Rt6Yb1Mv5Kc9Xp2Ls7Hd0Gf4Ja_Ue-Io8Pk3Ny6Tb1Qw5Er9Vc2Zx7Ma0Sd"  # noqa: S105


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "it is not set"),
        ("short-but-random-Qx81", "it is 21 characters long"),
        ("ab" * 40, "it has 2 distinct characters"),
        (OLD_PREDICTABLE_KEY + "-" + STRONG_KEY, "published placeholder"),
        ("django-insecure-" + STRONG_KEY, "published placeholder"),
        ("compose-local-only-change-me-0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
    ],
)
def test_production_refuses_a_weak_key_and_says_how_to_make_one(key, reason):
    result = start_django(DEBUG="0", SECRET_KEY=key)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "SECRET_KEY must be set to a strong random key" in last
    assert reason in last
    assert "secrets.token_urlsafe(50)" in last


def test_production_refuses_a_weak_fallback_key():
    result = start_django(DEBUG="0", SECRET_KEY=STRONG_KEY, SECRET_KEY_FALLBACKS="old-weak-key")
    assert result.returncode != 0
    assert "SECRET_KEY_FALLBACKS" in result.stderr.strip().splitlines()[-1]


def test_production_starts_with_a_strong_key_and_strong_fallbacks():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(len(s.SECRET_KEY_FALLBACKS))"
    )
    result = start_django(
        code, DEBUG="0", SECRET_KEY=STRONG_KEY, SECRET_KEY_FALLBACKS=OTHER_STRONG_KEY
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_a_freshly_made_key_is_strong():
    made = subprocess.run(
        [sys.executable, "-c", "import secrets; print(secrets.token_urlsafe(50))"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert secret_key.weakness(made) is None


def _serve_prod(**variables: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SECRET_KEY")}
    # A port nobody listens on: if the check let it through, gunicorn would not be reached
    # within the timeout anyway, and the test fails on the return code.
    environ.update(variables, PORT="8399")
    return subprocess.run(
        ["/bin/bash", "scripts/serve_prod.sh"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("key", [None, OLD_PREDICTABLE_KEY])
def test_serve_prod_refuses_to_start_without_a_strong_key(key):
    result = _serve_prod(**({"SECRET_KEY": key} if key else {}))
    assert result.returncode == 1
    assert "SECRET_KEY must be set to a strong random key" in result.stderr
    assert "python -c 'import secrets; print(secrets.token_urlsafe(50))'" in result.stderr


def test_make_demo_keeps_a_random_local_key_outside_git(tmp_path):
    path = tmp_path / ".secret_key"
    assert secret_key.write_local_key(path) is True
    first = path.read_text().strip()
    assert secret_key.weakness(first) is None
    assert secret_key.write_local_key(path) is False  # kept, so sessions survive restarts
    assert secret_key.local_key(path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "/.secret_key" in (REPO / ".gitignore").read_text().splitlines()


# --- the unsubscribe link -----------------------------------------------------------------


def _post(client, token):
    return client.post(reverse("reports-unsubscribe", args=[token]))


@pytest.mark.django_db
@pytest.mark.parametrize("other_key", [OLD_PREDICTABLE_KEY, OTHER_STRONG_KEY])
def test_a_link_signed_with_another_key_is_refused(client, org, owner, settings, other_key):
    settings.SECRET_KEY = STRONG_KEY
    report = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    forged = signing.dumps(
        {"r": report.pk, "e": "a@client.test"}, key=other_key, salt=UNSUBSCRIBE_SALT
    )
    response = _post(client, forged)
    assert response.status_code == 400
    assert b"This link does not work" in response.content
    report.refresh_from_db()
    assert report.recipients == ["a@client.test", "b@client.test"]


@pytest.mark.django_db
def test_a_token_signed_for_another_purpose_is_refused(client, org, owner):
    report = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    other_purpose = signing.dumps({"r": report.pk, "e": "a@client.test"}, salt="other.purpose")
    assert _post(client, other_purpose).status_code == 400
    report.refresh_from_db()
    assert report.recipients == ["a@client.test", "b@client.test"]


@pytest.mark.django_db
def test_a_link_removes_only_its_own_address_from_its_own_report(client, org, owner, other_org):
    from tests.conftest import make_user

    outsider = make_user(other_org, "admin", email="boss@outsider.test")
    mine = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    theirs = make_report(other_org, outsider, recipients=["a@client.test", "c@client.test"])
    assert _post(client, unsubscribe_token(mine.pk, "a@client.test")).status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.recipients == ["b@client.test"]
    assert theirs.recipients == ["a@client.test", "c@client.test"]


@pytest.mark.django_db
def test_a_link_expires_after_60_days(client, org, owner):
    report = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    signed_at = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(signed_at, tick=False):
        token = unsubscribe_token(report.pk, "a@client.test")
    with time_machine.travel(signed_at + dt.timedelta(days=59), tick=False):
        assert client.get(reverse("reports-unsubscribe", args=[token])).status_code == 200
    with time_machine.travel(signed_at + dt.timedelta(days=60, seconds=1), tick=False):
        response = _post(client, token)
    assert response.status_code == 400
    assert b"This link has expired" in response.content
    report.refresh_from_db()
    assert report.recipients == ["a@client.test", "b@client.test"]


@pytest.mark.django_db
def test_a_link_signed_with_a_fallback_key_still_works_while_rotating(client, org, owner, settings):
    report = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    settings.SECRET_KEY = OTHER_STRONG_KEY
    settings.SECRET_KEY_FALLBACKS = []
    token = unsubscribe_token(report.pk, "a@client.test")  # mailed before the rotation
    settings.SECRET_KEY = STRONG_KEY
    settings.SECRET_KEY_FALLBACKS = [OTHER_STRONG_KEY]
    assert _post(client, token).status_code == 200
    report.refresh_from_db()
    assert report.recipients == ["b@client.test"]
    # Once the old key leaves the fallbacks, its links stop working.
    settings.SECRET_KEY_FALLBACKS = []
    again = unsubscribe_token(report.pk, "b@client.test")
    settings.SECRET_KEY = OTHER_STRONG_KEY
    assert _post(client, again).status_code == 400
