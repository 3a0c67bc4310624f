"""The dashboard page reads, it does not compute (issue 25): its insights are the stored
findings, or the last ones stored while their store is queued; the feed, the findings a user
hid and the owner filter's choices come from the cache until their rows change.

The history (tests/insights/builders.py, as the browser test of the widget has it): ten
$5,000 orders every weekday from May to September 2025, forty on 17 September, and two
$1,000,000 orders from Big Co on 24 September. September's 22 weekdays make $1,100,000, plus
$150,000 on the 17th and $2,000,000 from Big Co: $3,250,000. Its previous period is the 30
days before, 2–31 August: 20 weekdays, $1,000,000. So revenue is up 225.0%.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from dashboard import views
from insights import queries as insight_queries
from insights.models import DismissedFinding
from operations.models import Activity, Order
from tests.conftest import make_user
from tests.dashboard.test_resilience import (  # noqa: F401 - fixtures
    _cache_settings,
    blackhole,
    long_breakers,
)
from tests.insights.builders import SYDNEY, customers, orders_on, weekdays

pytestmark = pytest.mark.django_db
SEPTEMBER = "/dashboard/?from=2025-09-01&to=2025-09-30&compare=previous_period"
UP_225 = "Revenue up 225.0%"
PENDING = "Working out the findings for this period"
UPDATING = "Updating with the latest data"
POLL = 'hx-trigger="every 3s, dashboard:refresh from:body"'


@pytest.fixture
def history(org):
    cycle = itertools.cycle(customers(org, 20))
    for day in weekdays(dt.date(2025, 5, 1), dt.date(2025, 9, 30)):
        orders_on(org, day, [500_000] * (40 if day == dt.date(2025, 9, 17) else 10), cycle)
    big = customers(org, 1, prefix="Big Co")[0]
    orders_on(org, dt.date(2025, 9, 24), [100_000_000] * 2, itertools.repeat(big))
    return big


@pytest.fixture
def computed(monkeypatch):
    """Every computation of a findings part (closed days, or the period's tail)."""
    calls: list[str] = []
    for name in ("closed_part", "tail_part"):
        real = getattr(insight_queries, name)
        monkeypatch.setattr(
            insight_queries,
            name,
            lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw),
        )
    return calls


def test_the_page_queues_missing_findings_and_shows_them_once_stored(
    client, owner, history, computed, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks() as queued:
        first = client.get(SEPTEMBER).content.decode()
    # Nothing stored yet: the page says so, polls, and computed nothing; the store is queued
    # once, after the request's transaction commits.
    assert computed == []
    assert PENDING in first and POLL in first and UP_225 not in first
    assert len(queued) == 1
    with django_capture_on_commit_callbacks():
        client.get(SEPTEMBER)  # a second page within the debounce window queues nothing more
    assert len(queued) == 1

    queued[0]()  # the worker (eager here): insights.tasks.store_findings_for
    assert computed == ["closed_part", "tail_part"]

    page = client.get(SEPTEMBER).content.decode()
    assert UP_225 in page
    assert PENDING not in page and UPDATING not in page and POLL not in page
    assert computed == ["closed_part", "tail_part"]  # read, not computed again


def test_a_write_into_the_period_shows_the_last_findings_while_new_ones_are_stored(
    client, owner, history, computed, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(SEPTEMBER)  # queues the store, which runs at the commit
    assert UP_225 in client.get(SEPTEMBER).content.decode()
    # A back-dated $500,000 order on 10 September: September is $3,750,000, up 275.0%.
    with django_capture_on_commit_callbacks(execute=True):
        at = dt.datetime(2025, 9, 10, 10, tzinfo=SYDNEY)
        Order.objects.create(
            organization=owner.organization,
            customer=history,
            number="SO-LATE",
            status="confirmed",
            ordered_at=at,
            created_at=at,
            total_cents=50_000_000,
        )
    computed.clear()
    with django_capture_on_commit_callbacks() as queued:
        stale = client.get(SEPTEMBER).content.decode()
    assert computed == []
    assert UP_225 in stale and UPDATING in stale and POLL in stale
    assert len(queued) == 1

    queued[0]()
    fresh = client.get(SEPTEMBER).content.decode()
    assert "Revenue up 275.0%" in fresh and UP_225 not in fresh and UPDATING not in fresh


def test_the_widgets_poll_computes_the_findings_when_no_worker_stored_them(client, owner, history):
    client.force_login(owner)
    page = client.get(SEPTEMBER).content.decode()  # its queued store never runs here
    (url,) = re.findall(r'hx-get="([^"]+)"[^>]*\s+' + re.escape(POLL), page)
    fragment = client.get(url.replace("&amp;", "&"), HTTP_HX_REQUEST="true").content.decode()
    assert UP_225 in fragment and POLL not in fragment


def test_with_redis_down_the_page_computes_its_findings(
    client,
    owner,
    history,
    blackhole,  # noqa: F811 - the fixture
    long_breakers,  # noqa: F811 - the fixture
):
    with override_settings(CACHES=_cache_settings(blackhole.url)):
        client.force_login(owner)
        page = client.get(SEPTEMBER).content.decode()
    assert UP_225 in page and PENDING not in page and POLL not in page


def test_a_hidden_finding_leaves_the_page_at_once(
    client, owner, history, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(SEPTEMBER)
    page = client.get(SEPTEMBER).content.decode()
    ids = re.findall(r'name="finding" value="([^"]+)"', page)
    assert len(ids) == 3  # the top three findings, each with "Not useful"
    url = re.search(r'action="(/dashboard/widgets/[^"]+/dismiss/[^"]*)"', page)
    assert url is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url[1].replace("&amp;", "&"), {"finding": ids[0]})
    assert response.status_code in (200, 302)
    assert DismissedFinding.objects.filter(user=owner, finding_id=ids[0]).exists()
    again = client.get(SEPTEMBER).content.decode()
    assert ids[0] not in again and "1 hidden" in again


def test_a_cached_page_runs_no_sql_and_follows_new_rows(
    client, owner, history, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(SEPTEMBER)
    client.get(SEPTEMBER)
    with CaptureQueriesContext(connection) as sql:
        page = client.get(SEPTEMBER).content.decode()
    assert [q["sql"] for q in sql.captured_queries] == []
    assert "Tia Nguyen" not in page and "Called about the inverter" not in page

    # A new sales rep is in the owner filter, and a logged call in the feed, on the next page.
    with django_capture_on_commit_callbacks(execute=True):
        rep = make_user(owner.organization, Role.SALES)
        rep.full_name = "Tia Nguyen"
        rep.save()
        Activity.objects.create(
            organization=owner.organization,
            user=rep,
            kind="call",
            subject="Called about the inverter",
            customer=history,
            occurred_at=dt.datetime(2025, 10, 1, 9, tzinfo=SYDNEY),
        )
    page = client.get(SEPTEMBER).content.decode()
    assert f'<option value="{rep.pk}">Tia Nguyen</option>' in page
    assert "Called about the inverter" in page


def logged(user, kind: str, subject: str, at: dt.datetime) -> Activity:
    """An activity of `user` at `at` (Sydney time)."""
    return Activity.objects.create(
        organization=user.organization,
        user=user,
        kind=kind,
        subject=subject,
        occurred_at=at.replace(tzinfo=SYDNEY),
    )


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """The kind of every widget body the page view renders itself (not read from the cache)."""
    kinds: list[str] = []
    real = views.render_to_string
    monkeypatch.setattr(
        views,
        "render_to_string",
        lambda name, context, request=None: (
            kinds.append(context["w"]["kind"]) or real(name, context, request)
        ),
    )
    return kinds


def test_the_feed_body_is_kept_by_its_content_and_reworded_as_time_passes(
    client, owner, time_machine, rendered, django_capture_on_commit_callbacks
):
    """The feed's rendered body is cached under a digest of what it shows (dashboard.views,
    CONTENT_KEYED): the next page reads it instead of rendering it; "when" worded otherwise
    (two hours later) or a new row is another body, rendered once."""
    time_machine.move_to(dt.datetime(2025, 10, 1, 12, tzinfo=SYDNEY), tick=False)
    logged(owner, "call", "Called about the battery", dt.datetime(2025, 10, 1, 11, 50))
    client.force_login(owner)

    def feed_times() -> list[str]:
        page = client.get("/dashboard/").content.decode()
        return re.findall(r'class="feed-time"[^>]*>([^<]+)<', page)

    assert feed_times() == ["10 min ago"]
    assert rendered.count("feed") == 1
    rendered.clear()
    assert feed_times() == ["10 min ago"]
    assert rendered == []  # every body from the cache, the feed's too

    time_machine.move_to(dt.datetime(2025, 10, 1, 14, tzinfo=SYDNEY), tick=False)
    assert feed_times() == ["2 h ago"]
    assert rendered.count("feed") == 1
    rendered.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the write drops the feed's rows
        logged(owner, "email", "Sent the quote", dt.datetime(2025, 10, 1, 13, 59))
    assert feed_times() == ["1 min ago", "2 h ago"]
    assert rendered.count("feed") == 1


def test_a_cached_insights_body_carries_each_readers_own_csrf_token(
    owner, history, rendered, django_capture_on_commit_callbacks
):
    """Two admins see the same findings: the second reads the first's rendered insights from
    the cache (dashboard.views, CONTENT_KEYED), and its "Not useful" forms still post with
    their own CSRF token (a client that enforces CSRF checks, as a browser's session is)."""

    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        first.get(SEPTEMBER)  # queues the store, which runs at the commit
    assert UP_225 in first.get(SEPTEMBER).content.decode()
    assert rendered.count("insights") == 2  # pending, then the stored findings

    colleague = make_user(owner.organization, Role.ADMIN, email="second-admin@renoz.test")
    second.force_login(colleague)
    page = second.get(SEPTEMBER).content.decode()
    assert UP_225 in page
    assert rendered.count("insights") == 2  # the same body, from the cache
    assert views.CSRF_SLOT not in page
    ids = re.findall(r'name="finding" value="([^"]+)"', page)
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))
    url = re.search(r'action="(/dashboard/widgets/[^"]+/dismiss/[^"]*)"', page)
    assert len(ids) == 3 and len(tokens) >= 1 and url is not None
    response = second.post(
        url[1].replace("&amp;", "&"), {"finding": ids[0], "csrfmiddlewaretoken": tokens.pop()}
    )
    assert response.status_code == 302  # not 403: the token is the colleague's own
    assert DismissedFinding.objects.filter(user=colleague, finding_id=ids[0]).exists()
    assert not DismissedFinding.objects.filter(user=owner).exists()
    again = second.get(SEPTEMBER).content.decode()
    assert ids[0] not in again and "1 hidden" in again
    assert "1 hidden" not in first.get(SEPTEMBER).content.decode()


@pytest.fixture
def parts_read(monkeypatch) -> list[list]:
    """Every read of stored findings' parts (insights.queries, through peek_many)."""
    reads: list[list] = []
    real = insight_queries.metric_cache.peek_many
    monkeypatch.setattr(
        insight_queries.metric_cache,
        "peek_many",
        lambda keys: reads.append(keys) or real(keys),
    )
    return reads


def test_a_cached_page_reads_its_insights_body_by_one_key_ahead_of_the_findings(
    client, owner, history, rendered, parts_read, django_capture_on_commit_callbacks
):
    """With the findings stored, the insights body is keyed by what they are made of
    (insights.queries.findings_token) and read in the page's one round trip for per-user
    bodies: the next page reads neither the findings' parts nor renders them."""
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(SEPTEMBER)  # pending: queues the store, which runs at the commit
    assert UP_225 in client.get(SEPTEMBER).content.decode()  # built from the stored parts
    rendered.clear()
    parts_read.clear()
    page = client.get(SEPTEMBER).content.decode()
    assert UP_225 in page and POLL not in page
    assert "insights" not in rendered
    assert parts_read == []


def test_the_insights_body_kept_while_pending_gives_way_to_the_stored_findings(
    client, owner, history, rendered, django_capture_on_commit_callbacks
):
    """The body rendered while the findings were missing is kept under the same key ahead
    (storing the findings changes no version): it is shown only while they are still
    missing, and the page after their store shows them."""
    client.force_login(owner)
    with django_capture_on_commit_callbacks() as queued:
        assert PENDING in client.get(SEPTEMBER).content.decode()
    rendered.clear()
    assert PENDING in client.get(SEPTEMBER).content.decode()
    assert "insights" not in rendered  # the waiting body, from the cache
    queued[0]()  # the worker stores them
    page = client.get(SEPTEMBER).content.decode()
    assert UP_225 in page and PENDING not in page


def test_a_new_annotation_or_a_hidden_finding_is_another_insights_body(
    client, owner, history, django_capture_on_commit_callbacks
):
    """The annotations' version and the findings the user hid are in the key ahead: Big
    Co's $2.05M on Wednesday 24 September (a shown finding) cites the sale spanning it."""
    from annotations.actions import do_add_annotation

    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(SEPTEMBER)
    page = client.get(SEPTEMBER).content.decode()
    assert "during ‘Spring sale’" not in page
    with django_capture_on_commit_callbacks(execute=True):
        do_add_annotation(
            owner.organization,
            title="Spring sale",
            metric="revenue",
            starts_at=dt.datetime(2025, 9, 23, tzinfo=SYDNEY),
            ends_at=dt.datetime(2025, 9, 25, 23, 59, tzinfo=SYDNEY),
        )
    page = client.get(SEPTEMBER).content.decode()
    assert "41.0× the usual $50,000 for a Wednesday during ‘Spring sale’" in page
    ids = re.findall(r'name="finding" value="([^"]+)"', page)
    DismissedFinding.objects.create(
        organization=owner.organization, user=owner, finding_id=ids[0], reason="not_useful"
    )
    insight_queries.actions._forget_dismissed(owner)
    page = client.get(SEPTEMBER).content.decode()
    assert ids[0] not in re.findall(r'name="finding" value="([^"]+)"', page)
    assert "1 hidden" in page


def test_the_period_controls_kept_by_their_content_show_each_pages_own_state(client, owner):
    """dashboard.views keeps the rendered controls by a digest of what they show: another
    period, comparison or filter is another entry, never the last page's."""
    client.force_login(owner)
    for preset, compare in [("last_month", "previous_year"), ("this_month", "previous_period")]:
        for _ in range(2):  # rendered, then kept
            page = client.get(f"/dashboard/?range={preset}&compare={compare}").content.decode()
            selected = re.findall(r'<option value="([a-z_]+)" selected>', page)
            assert selected[:2] == [preset, compare]
    page = client.get("/dashboard/?range=this_month&compare=previous_period&state=NSW")
    assert 'aria-label="Remove filter Customer state: NSW"' in page.content.decode()
    assert views._CONTROLS  # kept in this process


def test_the_worker_renders_the_insights_body_the_next_page_reads(
    client, owner, history, rendered, parts_read, django_capture_on_commit_callbacks
):
    """Once insights.tasks.store_findings_for stored the findings, it renders their body for
    the page's state (dashboard.views.prerender_insights): the next page reads it by its one
    key, and neither reads the findings nor renders them."""
    client.force_login(owner)
    with django_capture_on_commit_callbacks() as queued:
        assert PENDING in client.get(SEPTEMBER).content.decode()
    queued[0]()  # the worker: stores the findings, then renders their body
    assert rendered.count("insights") == 2  # the page's pending body, then the worker's
    rendered.clear()
    parts_read.clear()
    page = client.get(SEPTEMBER).content.decode()
    assert UP_225 in page and PENDING not in page and POLL not in page
    assert "insights" not in rendered
    assert parts_read == []
    assert views.CSRF_SLOT not in page
