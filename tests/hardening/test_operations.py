"""Findings 7 and 8 and bounded work: queue namespace, fast-failing broker, health probes,
the web-only statement timeout, and the audit log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from django.conf import settings
from django.test.utils import override_settings

from infra.env import deployment_namespace


def test_celery_queue_carries_the_deployment_namespace():
    from renoz.celery import app

    assert settings.DEPLOYMENT_NAMESPACE
    assert settings.CELERY_TASK_DEFAULT_QUEUE == f"renoz-{settings.DEPLOYMENT_NAMESPACE}"
    assert app.conf.task_default_queue == settings.CELERY_TASK_DEFAULT_QUEUE


def test_two_databases_get_two_namespaces_and_env_wins():
    one = {"HOST": "db", "PORT": "5432", "NAME": "renoz"}
    assert deployment_namespace(one) == deployment_namespace(dict(one))
    assert deployment_namespace(one) != deployment_namespace({**one, "NAME": "renoz_staging"})
    assert deployment_namespace(one) != deployment_namespace({**one, "HOST": "db2"})
    env = {
        **os.environ,
        "DEPLOYMENT_NAMESPACE": "acme-prod",
        "DJANGO_SETTINGS_MODULE": "renoz.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", "import renoz.settings as s; print(s.CELERY_TASK_DEFAULT_QUEUE)"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "renoz-acme-prod"


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_a_dead_broker_fails_a_publish_at_once_without_retrying(monkeypatch):
    """The bounds that keep a dead broker cheap for a write that queues a refresh: one
    connection attempt with a 0.1 s connect timeout and no publish retries. What it costs is
    measured by `manage.py bench_resilience` (`dead_broker_publish_ms`), not asserted here."""
    from celery import Celery
    from kombu.exceptions import OperationalError

    # Celery reads CELERY_BROKER_URL from the environment before its settings: keep it out.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    app = Celery("probe", set_as_current=False)  # tasks elsewhere keep the real broker
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    assert app.conf.task_publish_retry is False
    assert app.conf.broker_connection_timeout <= 0.1
    options = app.conf.broker_transport_options
    assert options["socket_connect_timeout"] <= 0.1
    assert options["max_retries"] == 0 and options["retry_on_timeout"] is False
    for _ in range(2):  # and again: nothing is left half-connected by the first failure
        with pytest.raises(OperationalError):
            app.send_task("metrics.tasks.refresh_summaries", args=[["daily_sales"]])


@pytest.mark.django_db
def test_liveness_is_public_and_minimal(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "dependencies": {"database": "ok", "redis": "ok"},
    }


@pytest.mark.django_db
def test_readiness_details_only_for_staff_or_token(client, owner, settings):
    anonymous = client.get("/readyz").json()
    assert set(anonymous) == {"status"}
    client.force_login(owner)  # an org admin is not staff
    assert "checks" not in client.get("/readyz").json()
    owner.is_staff = True
    owner.save()
    detailed = client.get("/readyz").json()
    assert detailed["checks"]["database"]["ok"] is True and "cache" in detailed["checks"]
    client.logout()
    settings.HEALTH_TOKEN = "s3cret"
    assert "checks" in client.get("/readyz", headers={"Authorization": "Bearer s3cret"}).json()
    assert "checks" not in client.get("/readyz", headers={"Authorization": "Bearer nope"}).json()


@pytest.mark.django_db
def test_readiness_is_degraded_not_down_without_redis(client):
    dead = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.1, "IGNORE_EXCEPTIONS": True},
        }
    }
    with override_settings(CACHES=dead):
        from django.core.cache import caches

        caches["default"].close()
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert client.get("/healthz").status_code == 200


def _statement_timeout(env: dict) -> str:
    code = (
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); c.execute('SHOW statement_timeout'); print(c.fetchone()[0])"
    )
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "renoz.settings", **env}
    full.pop("RENOZ_PROCESS", None)
    full.update({k: v for k, v in env.items() if v is not None})
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=full,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_statement_timeout_applies_to_the_web_server_only():
    assert (
        _statement_timeout({"RENOZ_PROCESS": "web", "WEB_STATEMENT_TIMEOUT_MS": "1500"}) == "1500ms"
    )
    # Celery workers, beat and management commands: no limit.
    assert _statement_timeout({}) == "0"
    assert _statement_timeout({"RENOZ_PROCESS": "web", "WEB_STATEMENT_TIMEOUT_MS": "0"}) == "0"


def test_wsgi_module_marks_the_process_as_web():
    source = (settings.BASE_DIR / "renoz" / "wsgi.py").read_text()
    assert 'os.environ.setdefault("RENOZ_PROCESS", "web")' in source
    assert source.index("RENOZ_PROCESS") < source.index("get_wsgi_application()")


@pytest.mark.django_db
def test_target_changes_are_audited_with_the_acting_user(client, owner, org):
    from auditlog.models import LogEntry

    from targets.models import Target

    client.force_login(owner)
    response = client.post(
        "/dashboard/targets/new/",
        {
            "metric": "revenue",
            "period_kind": "month",
            "period_start": "2026-07-01",
            "amount": "1000",
        },
    )
    assert response.status_code == 302
    target = Target.objects.get(organization=org)
    response = client.post(
        f"/dashboard/targets/{target.pk}/edit/",
        {
            "metric": "revenue",
            "period_kind": "month",
            "period_start": "2026-07-01",
            "amount": "2500",
        },
    )
    assert response.status_code == 302
    entries = LogEntry.objects.get_for_object(target).order_by("timestamp")
    assert [e.action for e in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert all(e.actor_id == owner.pk for e in entries)
    before, after = entries[1].changes_dict["value"]
    assert float(before) == 100000 and float(after) == 250000


@pytest.mark.django_db
def test_layout_changes_are_audited(client, owner):
    from auditlog.models import LogEntry

    from dashboard.models import DashboardLayout

    client.force_login(owner)
    response = client.post("/dashboard/layout/add/", {"widget": "kpi:revenue"})
    assert response.status_code in (200, 302)
    layout = DashboardLayout.objects.get(user=owner)
    entry = LogEntry.objects.get_for_object(layout).latest("timestamp")
    assert entry.actor_id == owner.pk
    assert "widgets" in entry.changes_dict
