"""The dashboard page reads the small values of its request context (layout version, the cards
the user follows, the owner filter's choices, the findings they hid) in one round trip:
infra.contextcache.prefetched. What it read must never outlive a change."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from accounts.backends import ORGANIZATION_SESSION_KEY
from accounts.models import Role, User
from dashboard.layouts import layout_key
from dashboard.views import context_keys
from infra.contextcache import context_cache
from metrics.definitions import METRICS

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    """Every command the request context cache sends to Redis, by name."""
    sent: list[str] = []
    client = cache.client  # type: ignore[attr-defined]
    for name in ("get", "get_many"):
        real = getattr(client, name)
        monkeypatch.setattr(
            client,
            name,
            lambda *a, _real=real, _name=name, **kw: sent.append(_name) or _real(*a, **kw),
        )
    return sent


def test_prefetched_keys_are_read_once_and_a_write_inside_is_read_back(reads):
    context_cache.set("t:a", {"n": 1}, 60)
    context_cache.set("t:b", [2], 60)
    with context_cache.prefetched(["t:a", "t:b", "t:missing"]):
        assert context_cache.get("t:a") == {"n": 1}
        assert context_cache.get("t:b") == [2]
        assert context_cache.get("t:missing", "default") == "default"
        assert reads == ["get_many"]
        context_cache.set("t:a", {"n": 3}, 60)  # what was read is forgotten
        assert context_cache.get("t:a") == {"n": 3}
        context_cache.delete("t:b")
        assert context_cache.get("t:b") is None
        assert reads == ["get_many", "get", "get"]
    assert context_cache.get("t:a") == {"n": 3}  # outside, Redis as always


def test_a_page_reads_its_request_context_in_one_round_trip(client, owner, reads):
    client.force_login(owner)
    client.get("/dashboard/")  # stores the layout, the follows and the owner choices
    reads.clear()
    assert client.get("/dashboard/").status_code == 200
    # The session (which notes the user's organisation at sign-in); then one MGET of the
    # user, their organisation and the page's context, the layout included.
    assert reads == ["get", "get_many"]
    assert len(context_keys(owner)) == 5


def test_a_follow_shows_on_the_next_page(client, owner):
    """The page's one read of the follows is never a stale one."""
    client.force_login(owner)
    page = client.get("/dashboard/").content.decode()
    assert "is-following" not in page
    metric = re.search(r'name="metric" value="([a-z_]+)"', page)[1]
    client.post("/dashboard/follow/", {"metric": metric, "next": "/dashboard/"})
    page = client.get("/dashboard/").content.decode()
    assert page.count("is-following") == 1
    assert f'aria-label="Unfollow {METRICS[metric].label}"' in page


def test_a_session_without_the_organisation_note_reads_the_user_first(client, owner, reads):
    """A session from before the note (or one without it) still works: the user, then the
    organisation and the page's context."""
    client.force_login(owner)
    client.get("/dashboard/")
    session = client.session
    del session[ORGANIZATION_SESSION_KEY]
    session.save()
    reads.clear()
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert owner.organization.name in page.content.decode()
    assert reads == ["get", "get_many", "get_many"]


def test_a_wrong_organisation_note_is_never_used(client, owner, other_org):
    """The note only chooses what to read: the user's own organisation is what counts."""
    client.force_login(owner)
    client.get("/dashboard/")
    session = client.session
    session[ORGANIZATION_SESSION_KEY] = other_org.pk
    session.save()
    page = client.get("/dashboard/").content.decode()
    assert owner.organization.name in page
    assert other_org.name not in page


def test_the_cached_layout_is_not_used_under_another_role(client, owner):
    """The layout's one key per user carries the role it was read for (a role change is a
    queryset update: it drops the user, not the organisation's layout version)."""
    client.force_login(owner)
    assert 'data-metric="revenue"' in client.get("/dashboard/").content.decode()
    assert cache.get(layout_key(owner.pk, owner.organization_id))[1] == Role.ADMIN
    User.objects.filter(pk=owner.pk).update(role=Role.TECHNICIAN)
    page = client.get("/dashboard/").content.decode()
    # A technician's default layout: active installations and kWh deployed, no revenue card.
    assert 'data-metric="revenue"' not in page
    assert 'data-metric="kwh_deployed"' in page
    assert cache.get(layout_key(owner.pk, owner.organization_id))[1] == Role.TECHNICIAN
