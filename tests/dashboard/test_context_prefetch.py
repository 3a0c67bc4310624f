"""The dashboard page reads the small values of its request context (layout version, the cards
the user follows, the owner filter's choices, the findings they hid) in one round trip:
infra.contextcache.prefetched. What it read must never outlive a change."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

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
    # The session, the user and their organisation; then one MGET of the page's context and
    # the layout itself (its key carries the version the MGET read).
    assert reads == ["get", "get", "get", "get_many", "get"]
    assert len(context_keys(owner)) == 4


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
