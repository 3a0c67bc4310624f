"""What annotations cost a page (docs/annotations.md, "Cost"): one statement for every chart
of the page when there are some to read, none when the organisation has none, none when the
page's read is cached; and a new annotation drops the cached charts at once."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.actions import do_add_annotation
from metrics import cache as metric_cache
from metrics.refresh import refresh_summaries
from tests.conftest import make_user
from tests.dashboard.factories import build_history
from tests.targets.helpers import local

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 20, 12)


@pytest.fixture
def admin(org, time_machine):
    time_machine.move_to(NOW, tick=False)
    user = make_user(org, "admin")
    build_history(
        org,
        now=NOW,
        days=60,
        n_orders=60,
        n_opps=30,
        n_jobs=20,
        n_claims=10,
        n_customers=10,
        n_activities=10,
    )
    refresh_summaries()
    return user


def visit(client, query="range=this_month") -> tuple[list[str], str]:
    with CaptureQueriesContext(connection) as sql:
        page = client.get(f"/dashboard/?{query}")
    assert page.status_code == 200
    return [q["sql"] for q in sql.captured_queries], page.content.decode()


def reads(statements: list[str]) -> int:
    return sum('"annotations_annotation"' in s for s in statements)


def test_a_page_without_annotations_reads_none(client, org, admin):
    client.force_login(admin)
    first, _ = visit(client)
    assert reads(first) == 1  # nothing known yet: one read learns there are none
    metric_cache.bump_data_version(org.pk)  # every number recomputed
    cold, page = visit(client)
    assert reads(cold) == 0
    assert 'class="annotation-label"' not in page
    # Another range, never read before: still none, the organisation is known to have none.
    other, _ = visit(client, "range=last_90_days")
    assert reads(other) == 0


def test_a_page_with_annotations_reads_them_once_for_every_chart(
    client, org, admin, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    visit(client)
    metric_cache.bump_data_version(org.pk)
    without, _ = visit(client)
    with django_capture_on_commit_callbacks(execute=True):
        do_add_annotation(
            org,
            author=admin,
            title="Storm",
            starts_at=local(2026, 11, 3),
            ends_at=local(2026, 11, 5),
        )
        do_add_annotation(
            org, author=admin, title="Price rise", starts_at=local(2026, 11, 12), metric="revenue"
        )
    metric_cache.bump_data_version(org.pk)  # the same cold page as `without`
    with_notes, page = visit(client)
    # Five charts, one read; the rest of the page costs what it cost without annotations.
    assert page.count('aria-label="Annotations in this range"') == 5
    assert reads(with_notes) == 1
    assert len(with_notes) == len(without) + 1
    # Cached: the charts' fragments carry them, no read at all; and a cold page after a data
    # change reads them from Redis.
    cached, page = visit(client)
    assert reads(cached) == 0 and page.count(">Storm</text>") == 4
    metric_cache.bump_data_version(org.pk)
    cold, _ = visit(client)
    assert reads(cold) == 0


def test_a_new_annotation_shows_on_the_cached_page_at_once(
    client, org, admin, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    visit(client)
    cached, page = visit(client)
    assert "Outage" not in page
    with django_capture_on_commit_callbacks(execute=True):
        do_add_annotation(org, author=admin, title="Outage", starts_at=local(2026, 11, 18, 14))
    after, page = visit(client)
    assert page.count(">Outage</text>") == 4 and reads(after) == 1


def test_without_redis_the_page_still_shows_them(client, org, admin, monkeypatch):
    do_add_annotation(org, author=admin, title="Storm", starts_at=local(2026, 11, 3))
    client.force_login(admin)
    cache.clear()
    monkeypatch.setattr(metric_cache, "_client", lambda: (_ for _ in ()).throw(OSError("down")))
    metric_cache.reset_breaker()
    statements, page = visit(client)
    assert page.count(">Storm</text>") == 4
    assert reads(statements) == 1  # still one read for the whole page (the page's memo)
