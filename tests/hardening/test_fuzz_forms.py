"""Property-based fuzzing of every form: each POST form the site shows (found by reading the
pages of every GET route, as each role), sent back with hostile values in its fields.

The property: no answer is a 5xx. Unicode digits, control characters (CR, LF, NUL, other C0,
DEL, C1) and oversized values get a form error or a 4xx with a message. Django's admin is
covered apart (tests/hardening/test_input_rules.py); logging out is not fuzzed.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from accounts.models import Role
from targets.models import Target
from tests.conftest import make_user
from tests.hardening.routes import all_routes, fill, make_job, make_report_with_run

HOSTILE = [
    "²",
    "①",
    "⁵",
    "٣",
    "۳",
    "१",
    "１２",
    "𝟙",
    "\r\n",
    "Weekly\r\nBcc: x@evil.test",
    "\n",
    "\t",
    "\x00",
    "\x01",
    "\x1b[2J",
    "\x7f",
    "\x85",
    "\u2028",
    "-1",
    "9" * 19,
    "99999999999999999999",
    "1e309",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "25:61",
    "a" * 10_000,
    "a" * 300 + "@client.test",
    "x@" + "d" * 300 + ".com",
    "",
]
ROLES = [Role.ADMIN.value, Role.TECHNICIAN.value, "anonymous"]
EXAMPLES = 300


class FormFinder(HTMLParser):
    """POST forms of a page: (action, {field name: default value})."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str | None, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._action: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._fields, self._action = {}, a.get("action")
        elif self._fields is not None and tag in ("input", "select", "textarea"):
            name = a.get("name")
            if name and name != "csrfmiddlewaretoken":
                self._fields.setdefault(name, a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form" and self._fields is not None:
            self.forms.append((self._action, self._fields))
            self._fields = None


def discover_forms(
    client, users, values, extra_pages: tuple[str, ...] = ()
) -> list[tuple[str, str, dict[str, str]]]:
    """(role, action path, fields) for every POST form on every GET route, per role, and on
    `extra_pages` (routes whose id is not the report's, e.g. an annotation's edit page)."""
    found: dict[tuple[str, str, tuple[str, ...]], dict[str, str]] = {}
    pages = [
        fill(r.pattern, values)
        for r in all_routes()
        if not r.name.startswith("admin:") and "<path:" not in r.pattern
    ] + ["/dashboard/?edit=1", *extra_pages]  # the layout editor's forms show in edit mode
    for role in ROLES:
        client.logout()
        if role != "anonymous":
            client.force_login(users[role])
        for page in pages:
            response = client.get(page)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            finder = FormFinder()
            finder.feed(response.content.decode())
            for action, fields in finder.forms:
                target = action or page
                if "logout" in target:
                    continue
                found.setdefault((role, target, tuple(sorted(fields))), fields)
    return [(role, target, fields) for (role, target, _), fields in sorted(found.items())]


@pytest.fixture
def world(client, org):
    users = {role: make_user(org, role) for role in ROLES if role != "anonymous"}
    target = Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2026, 7, 1),
        value=100,
    )
    job = make_job(org, users["technician"])
    report, run = make_report_with_run(org, users["admin"])
    from reports.mail import unsubscribe_token

    values = {
        "pk": str(report.pk),
        "job_id": str(job.pk),
        "run_pk": str(run.pk),
        "token": unsubscribe_token(report.pk, "ceo@client.test"),
        "uidb64": "MQ",
        "metric": "revenue",
        "widget_id": "abc",
    }
    # An annotation of each author (its edit and delete forms) and a follow of each user (the
    # settings page's unfollow form, the card's follow-or-unfollow form).
    from alerts.actions import do_follow_metric
    from annotations.actions import do_add_annotation

    edits = []
    for role in ("admin", "technician"):
        note = do_add_annotation(
            org,
            author=users[role],
            title="Storm",
            starts_at=dt.datetime(2026, 7, 3, tzinfo=dt.UTC),
            tags=["weather"],
        )
        edits.append(f"/dashboard/annotations/{note.pk}/edit/")
        do_follow_metric(users[role], "revenue", {"state": "QLD"})
    forms = discover_forms(client, users, values, tuple(edits))
    del target
    return users, forms


@pytest.mark.django_db
def test_the_form_inventory_finds_the_forms_that_take_text(world):
    _users, forms = world
    actions = {(role, action) for role, action, _ in forms}
    for expected in [
        ("admin", "/dashboard/reports/new/"),
        ("admin", "/dashboard/targets/new/"),
        ("admin", "/accounts/password/change/"),
        ("anonymous", "/accounts/password/reset/"),
        ("anonymous", "/accounts/login/"),
    ]:
        assert expected in actions, sorted(actions)
    job_forms = [a for r, a in actions if r == "technician" and a.startswith("/dashboard/jobs/")]
    assert any(a.endswith("/start/") for a in job_forms), job_forms  # start
    assert any(a.count("/") == 4 for a in job_forms), job_forms  # complete posts to the page
    assert any("/layout/" in a for r, a in actions if r == "admin"), sorted(actions)
    # The new screens' forms: following, digest settings, annotations (docs/digests.md,
    # docs/annotations.md).
    for role in ("admin", "technician"):
        assert (role, "/dashboard/follow/") in actions, sorted(actions)
        assert (role, "/dashboard/settings/") in actions, sorted(actions)
        assert (role, "/dashboard/annotations/new/") in actions, sorted(actions)
        assert any(a.endswith("/unfollow/") for r, a in actions if r == role), sorted(actions)
    assert any(
        a.startswith("/dashboard/annotations/") and a.endswith("/edit/")
        for r, a in actions
        if r == "admin"
    ), sorted(actions)


@pytest.mark.django_db
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_form_answers_5xx_to_hostile_values(client, world, data):
    users, forms = world
    role, action, fields = data.draw(st.sampled_from(forms), label="form")
    names = sorted(fields) or ["next"]  # a form of buttons only still takes a stray field
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True), label="fields")
    values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))
    post = dict(fields)
    for name in chosen:
        post[name] = data.draw(values, label=name)
    client.logout()
    if role != "anonymous":
        client.force_login(users[role])
    response = client.post(action, post, REMOTE_ADDR="192.0.2.50")
    assert response.status_code < 500, (role, action, post)
