"""Finding 1: served like production. gunicorn, WhiteNoise with hashed, compressed, long-cached
static files; plotly.js only where charts are drawn."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

ROOT = Path(settings.BASE_DIR)
JS_BUDGET_GZIP = 450 * 1024


def test_docker_and_compose_run_gunicorn_not_runserver():
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"]' in dockerfile
    assert "runserver" not in dockerfile
    assert "exec gunicorn -c gunicorn.conf.py" in compose
    assert "runserver" not in compose
    assert 'DEBUG: "1"' not in compose
    makefile = (ROOT / "Makefile").read_text()
    assert "serve-prod:" in makefile and "load:" in makefile


def test_gunicorn_settings_come_from_the_environment():
    env = {**os.environ, "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "2", "GUNICORN_TIMEOUT": "9"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
            "print(c['workers'], c['threads'], c['timeout'], c['worker_class'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["3", "2", "9", "gthread"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """collectstatic as the Docker image runs it: hashed names, gzip and brotli copies."""
    root = tmp_path_factory.mktemp("static")
    env = {
        **os.environ,
        "STATIC_MANIFEST": "1",
        "STATIC_ROOT": str(root),
        "DJANGO_SETTINGS_MODULE": "renoz.settings",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return root


def _whitenoise(root: Path):
    from whitenoise.middleware import WhiteNoiseMiddleware

    return WhiteNoiseMiddleware(lambda request: HttpResponse(status=404))


def test_static_files_are_hashed_compressed_and_cached_for_a_year(collected):
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=collected, STORAGES=storages, DEBUG=False):
        from django.contrib.staticfiles.storage import staticfiles_storage

        url = staticfiles_storage.url("vendor/htmx.min.js")
        assert url != "/static/vendor/htmx.min.js"  # content-hashed
        middleware = _whitenoise(collected)
        request = RequestFactory().get(url, headers={"Accept-Encoding": "gzip"})
        response = middleware(request)
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    cache_control = response["Cache-Control"]
    assert "max-age=315360000" in cache_control and "immutable" in cache_control
    raw = (ROOT / "static" / "vendor" / "htmx.min.js").stat().st_size
    assert int(response["Content-Length"]) < raw / 2


def test_executive_first_visit_javascript_fits_the_budget():
    """htmx + plotly + dashboard.js, gzipped: what the executive layout downloads first."""
    files = ["vendor/htmx.min.js", "vendor/plotly-basic.min.js", "js/dashboard.js"]
    total = sum(
        len(gzip.compress((ROOT / "static" / f).read_bytes(), compresslevel=9)) for f in files
    )
    assert total <= JS_BUDGET_GZIP, f"{total / 1024:.0f} KB"


@pytest.mark.django_db
def test_plotly_is_loaded_only_where_charts_are_drawn(client, users_by_role):
    from dashboard.views import TEMPLATE  # noqa: F401 - the page under test

    # No page carries plotly.js: charts first paint as the server's SVG, and dashboard.js
    # loads plotly (from our static files) on interaction or when a desktop is idle.
    for role in ("admin", "technician"):
        client.force_login(users_by_role[role])
        page = client.get("/dashboard/").content
        assert b'id="plotly-js"' not in page
        assert b'data-plotly-src="/static/vendor/plotly-basic' in page


def test_pages_are_gzipped_at_the_fastest_level_with_a_random_file_name():
    """infra.middleware.FastGZipMiddleware: what the browser inflates is the page; the gzip
    header names a file of random length (BREACH), as Django's does; no Accept-Encoding, no
    compression."""
    from infra.middleware import FastGZipMiddleware

    body = b"<p>The same line of a dashboard page.</p>\n" * 2000  # 86,000 bytes
    middleware = FastGZipMiddleware(lambda request: HttpResponse(body))
    response = middleware(RequestFactory().get("/", headers={"Accept-Encoding": "gzip, br"}))
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert gzip.decompress(response.content) == body
    assert response.content[3] & gzip.FNAME
    assert int(response["Content-Length"]) == len(response.content) < len(body) // 20
    plain = middleware(RequestFactory().get("/"))
    assert plain.content == body and not plain.has_header("Content-Encoding")
