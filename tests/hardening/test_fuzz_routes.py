"""Property-based fuzzing: every GET route, hostile query strings and headers, every role.

Routes come from the URL resolver (tests/hardening/routes.py), so a new route is fuzzed without
being listed. The property: no response is a 5xx, and a streamed 200 (an export) streams to its
end. Django's admin is left to Django's own tests.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from accounts.models import Role
from dashboard import layouts
from targets.models import Target
from tests.conftest import make_user
from tests.hardening.routes import all_routes, fill, make_alert, make_job

HOSTILE = [
    "",
    " ",
    "²",
    "①",
    "٣",
    "\x00",
    "%00",
    "\u202e",
    "𝟙",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "2026-07-01T00:00:00",
    "../../etc/passwd",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    '=HYPERLINK("x")',
    "a" * 2000,
    "revenue,nonsense",
    "csv",
    "xlsx",
    "custom",
    "comparison",
    # Issue 27: Unicode digits (isdigit() is true, int() refuses or misreads them), control
    # characters and oversized values.
    "⁵",
    "۳",
    "１２",
    "\r\nBcc: x@evil.test",
    "\n",
    "\t",
    "\x01",
    "\x1b[2J",
    "\x7f",
    "\u2028",
    "9" * 19,
    "a" * 10_000,
]
PARAMS = [
    "range",
    "from",
    "to",
    "compare",
    "metrics",
    "metric",
    "interval",
    "q",
    "sort",
    "page",
    "format",
    "bucket",
    "period",
    "stage",
    "kind",
    "status",
    "state",
    "category",
    "owner",
    "fy",
    "expand",
    "edit",
    "before",
    "after",
    "next",
    "date",
    "user",
    "e",
    # The ask intent (docs/ask.md), the annotations list and add form (docs/annotations.md).
    "by",
    "top",
    "tag",
    "starts_at",
    "ends_at",
    "customer_kind",
]
HEADERS = [
    "HX-Request",
    "HX-Current-URL",
    "HX-Target",
    "HX-Trigger",
    "HX-History-Restore-Request",
    "Accept-Language",
    "Referer",
]
ROLES = ["anonymous", *[r.value for r in Role]]
EXAMPLES = 400

hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
query = st.dictionaries(st.sampled_from(PARAMS), hostile_text, max_size=6)
headers = st.dictionaries(
    st.sampled_from(HEADERS),
    st.one_of(
        st.sampled_from(["true", "http://[", "::::", "drill-results"]),
        st.sampled_from(HOSTILE).filter(lambda v: "\x00" not in v and len(v) < 200),
    ),
    max_size=4,
)

GET_ROUTES = [
    r
    for r in all_routes()
    if not r.name.startswith("admin:")
    and r.name not in {"accounts-logout"}
    and "layout" not in r.name  # POST-only routes answer GET with 405 before reading anything
]
counter = {"requests": 0}


@pytest.fixture
def world(org, other_org):
    users = {role: make_user(org, role) for role in ROLES if role != "anonymous"}
    make_user(other_org, "admin", email="admin@outsider.test")
    target = Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2026, 7, 1),
        value=100,
    )
    job = make_job(org, users["technician"])
    alert = make_alert(org, users["admin"])
    return users, target, job, alert


@pytest.mark.django_db
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route_index=st.integers(min_value=0, max_value=len(GET_ROUTES) - 1),
    role=st.sampled_from(ROLES),
    params=query,
    extra_headers=headers,
    path_value=st.one_of(
        st.none(), hostile_text.filter(lambda v: "/" not in v and v not in ("", ".", ".."))
    ),
)
def test_no_route_answers_5xx_to_hostile_input(
    client, world, route_index, role, params, extra_headers, path_value
):
    users, target, job, alert = world
    route = GET_ROUTES[route_index]
    client.logout()
    user = users.get(role)
    if user is not None:
        client.force_login(user)
    real = {
        "pk": str(alert.pk if route.name.startswith(("alerts-", "api-alert")) else target.pk),
        "job_id": str(job.pk),
        "run_pk": "1",
        "token": "not-a-signed-token",
        "uidb64": "MQ",
        "metric": "jobs_completed" if role == "technician" else "revenue",
        "widget_id": layouts.get_layout(user)[0][0]["id"] if user else "abc",
    }
    values = {k: (path_value if path_value is not None else v) for k, v in real.items()}
    if "<int:" in route.pattern and path_value is not None and not path_value.isdecimal():
        values["pk"] = real["pk"]
        values["job_id"] = str(job.pk)
    path = fill(route.pattern, values)
    response = client.get(path, params, headers=extra_headers)
    counter["requests"] += 1
    assert response.status_code < 500, (route.name, path, params, extra_headers)
    if response.streaming and response.status_code == 200:
        body = b"".join(response.streaming_content)  # raises if the stream breaks off
        assert body.endswith(b"\r\n") or body.endswith(b"\n"), "export ended early"
        response.close()


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["²", "①"])
def test_drill_search_unicode_digits(client, owner, q):
    client.force_login(owner)
    assert (
        client.get("/dashboard/drill/revenue/", {"range": "this_month", "q": q}).status_code < 500
    )


@pytest.mark.django_db
def test_nul_bytes_anywhere_are_a_400(client, owner):
    client.force_login(owner)
    for path in (
        "/dashboard/",
        "/dashboard/drill/revenue/",
        "/api/dashboard/metrics",
        "/dashboard/activity/",
    ):
        response = client.get(path, {"q": "a\x00b", "range": "\x00"})
        assert response.status_code == 400, path
    response = client.post("/accounts/login/", {"username": "a\x00@b.c", "password": "x"})
    assert response.status_code < 500


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=hostile_text, text=hostile_text, qs=hostile_text, htmx=st.booleans())
def test_reconciliation_notes_refuse_hostile_posts(client, owner, key, text, qs, htmx):
    """A note on an exception that is not the organisation's is a 404; bad text a 4xx or the
    page again; never a 5xx."""
    client.force_login(owner)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(
        "/dashboard/reconciliation/notes/", {"key": key, "text": text, "qs": qs}, headers=headers
    )
    assert response.status_code in (302, 400, 404), (key, text)
