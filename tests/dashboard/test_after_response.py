"""What a page stores goes to Redis after its response is sent (infra.after_response,
metrics.cache.page_pass(defer=...)): the reader never waits for the page's writes."""

from __future__ import annotations

import time

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from accounts.models import Role
from infra import after_response
from metrics import cache as metric_cache
from tests.conftest import make_user


def _raw(key):
    return metric_cache._call(lambda client: client.get(key))


def test_a_deferred_page_stores_and_unlocks_only_when_its_response_is_done():
    metric_cache.reset_breaker()
    key = f"dash:test:deferred:{time.monotonic_ns()}"
    with metric_cache.page_pass(993, defer=after_response.defer):
        assert metric_cache.get_or_compute(key, lambda: {"value": 5}) == {"value": 5}
    # The pass is over, the response not yet sent: nothing stored, the lock still held.
    assert _raw(key) is None and _raw(f"{key}:lock") == b"1"
    after_response.run_pending()
    assert _raw(key) is not None and _raw(f"{key}:lock") is None
    assert metric_cache.get_or_compute(key, lambda: {"value": 6}) == {"value": 5}


def test_a_page_that_fails_stores_and_unlocks_at_once():
    metric_cache.reset_breaker()
    key = f"dash:test:deferred-failed:{time.monotonic_ns()}"
    with pytest.raises(ZeroDivisionError):
        with metric_cache.page_pass(994, defer=after_response.defer):
            metric_cache.get_or_compute(key, lambda: {"value": 8})
            _ = 1 / 0
    assert _raw(key) is not None and _raw(f"{key}:lock") is None


def test_one_deferred_failure_does_not_stop_the_rest(caplog):
    done = []
    after_response.defer(lambda: 1 / 0)
    after_response.defer(lambda: done.append(1))
    after_response.run_pending()
    assert done == [1]
    assert "deferred until after the response failed" in caplog.text
    after_response.run_pending()  # forgotten once run
    assert done == [1]


@pytest.mark.django_db
def test_the_dashboard_sends_its_page_before_it_stores_it(client, org, settings):
    """Served as gunicorn serves it (WSGI): the response comes back with its body while the
    page's values are not in Redis yet; closing the response (the server has written it)
    stores them, and the next page reads them."""
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    metric_cache.reset_breaker()
    client.force_login(make_user(org, Role.ADMIN))
    client.get("/dashboard/")  # the request context, once
    metric_cache.bump_data_version(org.pk)  # every value dropped: the page computes them
    names_before = set(metric_cache._call(lambda c: c.keys("*")))
    environ = RequestFactory()._base_environ(
        PATH_INFO="/dashboard/",
        REQUEST_METHOD="GET",
        HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}",
    )
    handler = WSGIHandler()
    # As the test client does: the test's transaction keeps its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = handler(environ, lambda status, headers: None)
        try:
            assert response.status_code == 200
            assert b'data-metric="revenue"' in response.content
            new = set(metric_cache._call(lambda c: c.keys("*"))) - names_before
            # Only the single-flight locks of what it computed, held until its values are in
            # (and the claim that queued its findings' store, once per debounce window).
            early = [k for k in new if not k.endswith(b":lock") and b":claim:" not in k]
            assert new and not early, early
        finally:
            response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    after = set(metric_cache._call(lambda c: c.keys("*"))) - names_before
    assert not [k for k in after if k.endswith(b":lock")]  # released
    assert len(after) > 10  # the cards, charts, blocks and bodies it computed
