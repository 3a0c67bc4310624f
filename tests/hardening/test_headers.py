"""Finding 6: CSP, HSTS, SSL redirect, private caching; `check --deploy` is clean."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "production-like-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "dash.example.com",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "1",
}


def _settings_in(env: dict, expression: str) -> str:
    full = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "renoz.settings"}
    full.pop("RENOZ_PROCESS", None)
    out = subprocess.run(
        [sys.executable, "-c", f"import renoz.settings as s; print({expression})"],
        cwd=settings.BASE_DIR,
        env=full,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_https_switches_are_on_when_debug_is_off():
    got = _settings_in(
        PRODUCTION_ENV,
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER",
    )
    assert got == "True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https')"
    off = _settings_in(
        {**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0"},
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS",
    )
    assert off == "False 0"


def test_check_deploy_is_clean_with_production_settings():
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "renoz.settings"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/dashboard/", "/dashboard/targets/", "/dashboard/drill/revenue/"]
)
def test_strict_csp_allows_exactly_our_inline_script(client, owner, path):
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 200
    policy = _csp(response)
    scripts = policy["script-src"]
    assert "'unsafe-eval'" not in scripts and "'unsafe-inline'" not in scripts
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    html = response.content.decode()
    for body in re.findall(
        r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", html, re.S
    ):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts, body
    # No inline event handlers and no htmx trigger filter that needs eval.
    assert not re.search(r"\son[a-z]+=", html)
    assert "[!document.hidden]" not in html
    if "htmx-config" in html:
        assert '"allowEval":false' in html and '"includeIndicatorStyles":false' in html


@pytest.mark.django_db
def test_signed_in_responses_are_private_and_not_stored(client, owner):
    client.force_login(owner)
    for path in (
        "/dashboard/",
        "/api/dashboard/metrics?range=this_month",
        "/dashboard/drill/revenue/?range=this_month&format=csv",
        "/dashboard/targets/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        cache_control = response["Cache-Control"]
        assert "private" in cache_control and "no-store" in cache_control, path


@pytest.mark.django_db
def test_ssl_redirect_spares_health_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/dashboard/").status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
