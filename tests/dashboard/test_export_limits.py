"""Exports bounded by cost: running slots per user and organisation (real Redis, and this
process alone when Redis is away), each export's own statement timeout, large exports written
by a worker to storage with a page, a download and a mail, and every role within its scope."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import export_jobs
from dashboard.models import ExportJob
from infra import breaker
from operations.models import Activity
from tests.conftest import make_user
from tests.dashboard.test_export import csv_rows, drill_url, orders  # noqa: F401 - fixture

# 130 orders of 1,234,567 + i cents, i = 0..129: 130 × 1,234,567 + (0 + … + 129) = 160,493,710
# + 8,385 cents.
ORDERS_TOTAL_CENTS = 160_502_095
URL = drill_url("revenue", range="last_30_days", format="csv")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _client(client, user):
    client.force_login(user)
    return client


def test_a_third_running_export_of_one_user_waits_its_turn(client, owner, orders):  # noqa: F811
    held = [export_jobs.take_slot(owner), export_jobs.take_slot(owner)]
    assert all(held)
    refused = _client(client, owner).get(URL)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    held[0].release()
    allowed = client.get(URL)
    assert allowed.status_code == 200
    assert len(csv_rows(allowed)) == 1 + 130  # and its slot is given back after the last row
    assert export_jobs.take_slot(owner) is not None


def test_a_download_never_read_still_gives_its_slot_back(client, owner, orders):  # noqa: F811
    for _ in range(3):  # more than the user's two slots, each closed unread
        response = _client(client, owner).get(URL)
        assert response.status_code == 200
        # Tricky: as Django's test client does, keep the test's connection open on close.
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)
    assert export_jobs.take_slot(owner) is not None


def test_an_organisation_runs_at_most_four_exports_at_once(client, org, owner, orders):  # noqa: F811
    others = [make_user(org, "sales", f"s{i}@renoz.test") for i in range(4)]
    held = [export_jobs.take_slot(user) for user in others]
    assert all(held)
    assert _client(client, owner).get(URL).status_code == 429
    held[2].release()
    assert client.get(URL).status_code == 200


def test_with_redis_away_exports_are_counted_in_this_process(client, owner, orders, settings):  # noqa: F811
    breaker.REDIS.seconds = 600
    breaker.REDIS.trip(OSError("test: Redis away"))
    try:
        held = [export_jobs.take_slot(owner), export_jobs.take_slot(owner)]
        assert all(lease is not None and lease.local for lease in held)
        assert _client(client, owner).get(URL).status_code == 429
        for lease in held:
            lease.release()
        assert client.get(URL).status_code == 200
    finally:
        breaker.REDIS.seconds = 5.0
        breaker.REDIS.reset()


def test_an_export_reads_under_its_own_statement_timeout(client, owner, orders, settings):  # noqa: F811
    settings.EXPORT_STATEMENT_TIMEOUT_MS = 1234
    response = _client(client, owner).get(URL)
    with CaptureQueriesContext(connection) as queries:
        b"".join(response.streaming_content)
    sql = [q["sql"] for q in queries.captured_queries]
    assert sql[1] == "SET LOCAL statement_timeout = 1234"  # after the savepoint, before the rows
    assert "FROM" in sql[2]


def test_a_large_export_is_written_by_a_worker_and_only_its_user_gets_it(
    client,
    org,
    owner,
    outsider,
    orders,  # noqa: F811
    settings,
    media,
    django_capture_on_commit_callbacks,
):
    settings.EXPORT_SYNC_MAX_ROWS = 100  # 130 rows: past the web's bound
    with django_capture_on_commit_callbacks(execute=True):  # the worker runs eagerly
        response = _client(client, owner).get(URL)
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dashboard/exports/{job.pk}/"
    assert (job.rows, job.status, job.user) == (130, "ready", owner)
    assert job.file.name.startswith(f"exports/{org.pk}/{job.pk}/")
    page = client.get(response["Location"]).content.decode()
    assert "Your file of 130 rows is ready." in page
    download = client.get(f"/dashboard/exports/{job.pk}/download/")
    body = b"".join(download.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(body[1:], newline="")))
    assert len(rows) == 1 + 130
    cents = rows[0].index("Total (cents)")
    assert sum(int(r[cents]) for r in rows[1:]) == ORDERS_TOTAL_CENTS
    [message] = mail.outbox
    assert message.to == [owner.email] and f"/dashboard/exports/{job.pk}/" in message.body
    # Nobody else finds the job or its file: a colleague, nor another organisation's admin.
    colleague = make_user(org, "admin", "other-admin@renoz.test")
    for user in (colleague, outsider):
        client.force_login(user)
        assert client.get(f"/dashboard/exports/{job.pk}/").status_code == 404
        assert client.get(f"/dashboard/exports/{job.pk}/download/").status_code == 404


def test_a_large_export_shows_being_prepared_until_the_worker_has_written_it(
    client,
    owner,
    orders,  # noqa: F811
    settings,
    media,
):
    settings.EXPORT_SYNC_MAX_ROWS = 100
    response = _client(client, owner).get(URL)  # queued; no commit, so no worker yet
    job = ExportJob.objects.get()
    page = client.get(response["Location"])
    assert "Your file of 130 rows is being prepared" in page.content.decode()
    assert 'hx-trigger="every 2s"' in page.content.decode()
    assert client.get(f"/dashboard/exports/{job.pk}/download/").status_code == 404
    partial = client.get(response["Location"], headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="export-status"')
    # A third large export while two wait is refused, not queued.
    client.get(URL)
    refused = client.get(URL)
    assert refused.status_code == 429 and ExportJob.objects.count() == 2


def test_a_technician_exports_only_their_own_rows_in_the_background(
    client, org, settings, media, django_capture_on_commit_callbacks
):
    settings.EXPORT_SYNC_MAX_ROWS = 2
    tech = make_user(org, "technician", "tech@renoz.test")
    mate = make_user(org, "technician", "mate@renoz.test")
    now = timezone.now()
    for i in range(5):
        Activity.objects.create(
            organization=org,
            user=tech,
            kind="call",
            subject=f"Mine {i}",
            occurred_at=now - dt.timedelta(hours=i + 1),
        )
    for i in range(3):
        Activity.objects.create(
            organization=org,
            user=mate,
            kind="call",
            subject=f"Theirs {i}",
            occurred_at=now - dt.timedelta(hours=i + 1),
        )
    url = drill_url("activities", range="last_30_days", format="csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(client, tech).get(url)
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.rows == 5
    download = client.get(f"/dashboard/exports/{job.pk}/download/")
    body = b"".join(download.streaming_content).decode("utf-8")
    subjects = sorted(r[-1] for r in csv.reader(io.StringIO(body[1:], newline="")))
    assert len(subjects) == 6 and not any("Theirs" in s for s in subjects)


def test_a_viewer_exports_within_the_same_limits(client, org, orders):  # noqa: F811
    viewer = make_user(org, "viewer", "viewer@renoz.test")
    held = [export_jobs.take_slot(viewer), export_jobs.take_slot(viewer)]
    assert _client(client, viewer).get(URL).status_code == 429
    held[0].release()
    response = client.get(URL)
    assert response.status_code == 200 and len(csv_rows(response)) == 1 + 130


def test_a_written_file_is_deleted_after_its_retention_and_the_page_says_so(
    client,
    owner,
    orders,  # noqa: F811
    settings,
    media,
    django_capture_on_commit_callbacks,
):
    settings.EXPORT_SYNC_MAX_ROWS = 100
    settings.EXPORT_RETENTION_HOURS = 72
    with django_capture_on_commit_callbacks(execute=True):
        _client(client, owner).get(URL)
        _client(client, owner).get(drill_url("revenue", range="last_30_days", format="xlsx"))
    old, recent = ExportJob.objects.order_by("pk")
    path = media / old.file.name
    assert path.exists() and (media / recent.file.name).exists()
    now = timezone.now()
    ExportJob.objects.filter(pk=old.pk).update(finished_at=now - dt.timedelta(hours=73))
    ExportJob.objects.filter(pk=recent.pk).update(finished_at=now - dt.timedelta(hours=71))

    assert export_jobs.purge_expired(now) == 1
    assert not path.exists() and (media / recent.file.name).exists()
    assert export_jobs.purge_expired(now) == 0  # nothing left to delete
    page = client.get(f"/dashboard/exports/{old.pk}/").content.decode()
    assert "This export has expired" in page and "Download" not in page
    assert client.get(f"/dashboard/exports/{old.pk}/download/").status_code == 404
    kept = client.get(f"/dashboard/exports/{recent.pk}/").content.decode()
    assert "is ready. It is kept until" in kept
    assert client.get(f"/dashboard/exports/{recent.pk}/download/").status_code == 200
    assert all("for 72 hours" in m.body for m in mail.outbox) and len(mail.outbox) == 2
