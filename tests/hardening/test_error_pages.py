"""Issue 27 item 5 and issue 26 item 5: clean errors.

A statement or lock timeout, under a real lock held by a second connection, is a 503 with
Retry-After (JSON on the API, the styled page otherwise). 403, 404, 429, 500 and 503 are
styled pages extending base.html, with the navigation for a signed-in user and a way back;
the API gets JSON. 500.html renders with no request, context processors or database.
"""

from __future__ import annotations

import contextlib
import json

import psycopg
import pytest
from django.db import connection
from django.template import loader
from django.test import RequestFactory

from infra import errors
from tests.hardening.routes import make_job


@contextlib.contextmanager
def locked(table: str):
    """ACCESS EXCLUSIVE on `table`, held by a second connection until the block ends (and
    never longer than 20 s, so a test that goes wrong cannot hang)."""
    params = connection.get_connection_params()
    other = psycopg.connect(
        dbname=params["dbname"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        options="-c idle_in_transaction_session_timeout=20000",
    )
    try:
        other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # our own table name
        yield
    finally:
        other.rollback()
        other.close()


@contextlib.contextmanager
def session_setting(name: str, value: str):
    """A setting on the connection the test client's requests use, reset afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET {name} = %s", [value])  # name is one of ours, value a parameter
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"RESET {name}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("setting", "value"), [("statement_timeout", "300ms"), ("lock_timeout", "200ms")]
)
def test_a_database_timeout_on_the_api_is_a_json_503_with_retry_after(
    client, owner, setting, value
):
    client.force_login(owner)
    with locked("operations_order"), session_setting(setting, value):
        response = client.get(
            "/api/dashboard/metrics", {"metrics": "revenue", "range": "last_30_days"}
        )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert json.loads(response.content) == {
        "error": "The database is busy and this request waited too long. Try again in 30 seconds."
    }
    # Nothing is broken: with the lock gone, the same request works.
    assert client.get("/api/dashboard/metrics", {"metrics": "revenue"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_database_timeout_on_a_page_is_the_styled_503(client, owner):
    client.force_login(owner)
    with locked("operations_order"), session_setting("statement_timeout", "300ms"):
        response = client.get("/dashboard/drill/revenue/", {"range": "last_30_days"})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert [t.name for t in response.templates][:3] == ["503.html", "error.html", "base.html"]
    body = response.content.decode()
    assert "The dashboard is busy right now" in body
    assert 'href="/dashboard/me/"' in body  # the signed-in navigation is there
    assert "Try again in 30 seconds." in body


def test_only_timeouts_count_as_timeouts():
    from django.db import OperationalError

    def wrapped(cause: Exception) -> OperationalError:
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    assert errors.is_database_timeout(wrapped(psycopg.errors.QueryCanceled("x")))
    assert errors.is_database_timeout(wrapped(psycopg.errors.LockNotAvailable("x")))
    assert not errors.is_database_timeout(wrapped(psycopg.errors.DeadlockDetected("x")))
    assert not errors.is_database_timeout(OperationalError("connection refused"))


@pytest.mark.django_db
def test_a_viewer_following_my_jobs_gets_the_styled_403_with_a_way_back(client, users_by_role):
    client.force_login(users_by_role["viewer"])
    response = client.get("/dashboard/field/", headers={"Referer": "http://testserver/dashboard/"})
    assert response.status_code == 403
    assert [t.name for t in response.templates][:3] == ["403.html", "error.html", "base.html"]
    body = response.content.decode()
    assert "You cannot open this page" in body
    assert "The field view is for technicians" in body  # the reason it was refused
    assert 'href="/dashboard/me/"' in body  # navigation
    assert (
        '<a class="btn" href="http://testserver/dashboard/">‹ Back to the previous page</a>' in body
    )
    assert '<a class="btn btn-primary" href="/dashboard/">Go to the dashboard</a>' in body


@pytest.mark.django_db
def test_a_back_link_never_points_off_site(client, users_by_role):
    client.force_login(users_by_role["viewer"])
    response = client.get("/dashboard/field/", headers={"Referer": "https://evil.example/x"})
    assert response.status_code == 403
    assert "evil.example" not in response.content.decode()
    assert "Back to the previous page" not in response.content.decode()


@pytest.mark.django_db
def test_a_missing_page_is_the_styled_404_for_people_and_json_for_the_api(client, owner, other_org):
    from tests.conftest import make_user

    client.force_login(owner)
    theirs = make_job(other_org, make_user(other_org, "technician", email="t@outsider.test"))
    response = client.get(f"/dashboard/jobs/{theirs.pk}/")
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "error.html"]
    assert "This page does not exist" in response.content.decode()
    assert 'href="/dashboard/me/"' in response.content.decode()
    api = client.get("/api/dashboard/nothing-here")
    assert api.status_code == 404
    assert api["Content-Type"] == "application/json"
    assert json.loads(api.content) == {
        "error": "There is nothing here, or it belongs to another organisation."
    }


@pytest.mark.django_db
def test_an_anonymous_404_has_no_navigation_but_a_way_home(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "This page does not exist" in body
    assert 'aria-label="Main"' not in body
    assert 'href="/dashboard/"' in body


@pytest.mark.django_db
def test_a_rate_limited_page_is_the_styled_429_and_the_api_gets_json(client, owner, settings):
    settings.RATELIMIT_EXPORT = "1/m"
    client.force_login(owner)
    url = "/dashboard/drill/activities/?range=this_month&format=csv"
    first = client.get(url)
    b"".join(first.streaming_content)
    limited = client.get(url)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert [t.name for t in limited.templates][:2] == ["429.html", "error.html"]
    body = limited.content.decode()
    assert "Please wait a moment" in body
    assert "Too many export requests; try again in" in body
    request = RequestFactory().get("/api/dashboard/insights")
    api = errors.error_response(request, 429, "Too many heavy requests", retry_after=7)
    assert api["Retry-After"] == "7"
    assert json.loads(api.content) == {"error": "Too many heavy requests"}


def test_403_on_the_api_is_json():
    from django.core.exceptions import PermissionDenied

    request = RequestFactory().get("/api/dashboard/metrics")
    response = errors.permission_denied(request, PermissionDenied("Only admins"))
    assert response.status_code == 403
    assert json.loads(response.content) == {"error": "Only admins"}


def test_the_500_page_renders_without_request_context_or_database():
    # No database access is allowed in this test (no django_db mark): rendering must not try.
    page = loader.get_template("500.html").render({"message": "Broken"})
    assert "Something went wrong" in page
    assert "Broken" in page
    assert 'href="/dashboard/"' in page
    assert 'aria-label="Main"' not in page
    response = errors.server_error(RequestFactory().get("/dashboard/"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    api = errors.server_error(RequestFactory().get("/api/dashboard/metrics"))
    assert json.loads(api.content)["error"].startswith("Something went wrong on our side")


@pytest.mark.django_db
def test_a_post_without_its_csrf_token_is_a_403_saying_so_json_on_the_api(owner):
    """The new JSON APIs (annotations, follows) take session cookies, so a cross-site POST
    is refused; the API client is told why in JSON, a person on the styled page."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    for url, body in (
        ("/api/annotations", {"title": "Storm", "starts_at": "2026-07-03"}),
        ("/api/follows", {"metric": "revenue"}),
    ):
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 403, url
        assert response["Content-Type"] == "application/json", url
        assert "CSRF token" in json.loads(response.content)["error"], url
    page = client.post("/dashboard/follow/", {"metric": "revenue"})
    assert page.status_code == 403
    assert [t.name for t in page.templates][:2] == ["403.html", "error.html"]
    assert "no valid CSRF token" in page.content.decode()
