"""Every URL pattern has an authorisation decision: anonymous, each role, another organisation.

A new route without a row in MATRIX fails the build. Each row says what a GET (or the route's
method) answers, as a status code, for: anonymous callers, each role of the organisation, and a
user of another organisation given this organisation's ids ("other_org"). Write "login" for a
redirect to the login page. Admin routes are decided as a family (Django's admin checks staff
and per-model permissions; accounts.admin scopes rows to the organisation).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile

from accounts.models import Role
from alerts.actions import do_follow_metric
from annotations.models import Annotation
from dashboard import layouts
from dashboard.models import ExportJob
from targets.models import Target
from tests.conftest import make_user
from tests.hardening.routes import all_routes, fill, make_alert, make_job, make_report_with_run

ROLES = [r.value for r in Role]
EDITORS = ["admin", "sales", "operations", "technician"]


def everyone(code, anonymous="login", **overrides):
    row = {"anonymous": anonymous, **dict.fromkeys(ROLES, code), "other_org": code}
    row.update(overrides)
    return row


def only(allowed: list[str], code=200, denied=403, anonymous="login", other_org=404):
    row = {"anonymous": anonymous, "other_org": other_org}
    row.update({r: code if r in allowed else denied for r in ROLES})
    return row


# name → (method, {kwarg: value key}, expectations). Value keys are filled per test below.
MATRIX: dict[str, tuple[str, dict[str, str], dict]] = {
    "": ("GET", {}, everyone(302, anonymous=302)),  # / redirects to /dashboard/
    "accounts-login": ("GET", {}, everyone(302, anonymous=200)),
    "accounts-logout": ("GET", {}, everyone(405, anonymous=405)),
    # Account recovery: anyone may ask for a link; a link that was never mailed says so (200).
    "accounts-password-reset": ("GET", {}, everyone(200, anonymous=200)),
    "accounts-password-reset-done": ("GET", {}, everyone(200, anonymous=200)),
    "accounts-password-reset-confirm": (
        "GET",
        {"uidb64": "uid", "token": "token"},
        everyone(200, anonymous=200),
    ),
    "accounts-password-reset-complete": ("GET", {}, everyone(200, anonymous=200)),
    # Changing one's own password needs a login.
    "accounts-password-change": ("GET", {}, everyone(200)),
    "accounts-password-change-done": ("GET", {}, everyone(200)),
    "healthz": ("GET", {}, everyone(200, anonymous=200)),
    "readyz": ("GET", {}, everyone(200, anonymous=200)),
    "favicon.ico": ("GET", {}, everyone(301, anonymous=301)),
    "api-metrics": ("GET", {}, everyone(200, anonymous=401)),
    "api-timeseries": ("GET", {}, everyone(200, anonymous=401)),
    "targets-list": ("GET", {}, everyone(200)),
    # other_org is an admin of their own organisation: these pages are theirs to use.
    "targets-create": ("GET", {}, only(["admin"], other_org=200)),
    "targets-edit": ("GET", {"pk": "target"}, only(["admin"])),
    "targets-delete": ("GET", {"pk": "target"}, only(["admin"])),
    "targets-bulk": ("GET", {}, only(["admin"], other_org=200)),
    "targets-copy": ("GET", {}, only(["admin"], other_org=200)),
    # Technicians drill into job metrics only; revenue is not one.
    "drill-metric": ("GET", {"metric": "metric"}, everyone(200, technician=403)),
    "dashboard-home": ("GET", {}, everyone(200)),
    # A widget id from someone else's layout is not on yours: 404.
    "dashboard-widget": ("GET", {"widget_id": "widget"}, everyone(200, other_org=404)),
    "dashboard-activity": ("GET", {}, everyone(200)),
    # Every KPI card of the caller's own layout (technicians: their own numbers).
    "dashboard-kpis": ("GET", {}, everyone(200)),
    # Layout edits: viewers are refused (403); the rest may POST (GET is a 405).
    "dashboard-layout-add": ("GET", {}, only(EDITORS, code=405, other_org=405)),
    "dashboard-layout-reorder": ("GET", {}, only(EDITORS, code=405, other_org=405)),
    "dashboard-layout-reset": ("GET", {}, only(EDITORS, code=405, other_org=405)),
    "dashboard-layout-remove": (
        "POST",
        {"widget_id": "widget"},
        only(EDITORS, code=302, other_org=404),  # back to the page; htmx gets the grid
    ),
    "dashboard-layout-move": (
        "POST",
        {"widget_id": "widget"},
        only(EDITORS, code=400, other_org=400),
    ),
    "dashboard-layout-resize": (
        "POST",
        {"widget_id": "widget"},
        only(EDITORS, code=400, other_org=400),
    ),
    # Everyone has their own numbers; the API answers anonymous callers with JSON.
    "dashboard-me": ("GET", {}, everyone(200)),
    # Edits of one's own "My numbers": as the dashboard's (viewers 403, GET 405); a dashboard
    # widget id is not on the personal page (404), a move without a direction a 400.
    "dashboard-me-add": ("GET", {}, only(EDITORS, code=405, other_org=405)),
    "dashboard-me-reset": ("GET", {}, only(EDITORS, code=405, other_org=405)),
    "dashboard-me-remove": (
        "POST",
        {"widget_id": "widget"},
        only(EDITORS, code=404, other_org=404),
    ),
    "dashboard-me-move": ("POST", {"widget_id": "widget"}, only(EDITORS, code=400, other_org=400)),
    "api-me": ("GET", {}, everyone(200, anonymous=401)),
    # The technician's field view, and the service worker that keeps it readable offline.
    "dashboard-field": ("GET", {}, only(["technician"], other_org=403)),
    "dashboard-sw": ("GET", {}, everyone(200, anonymous=200)),
    # A job: its technician works it; everyone else in the organisation may read it (as they
    # may read every drill-down row); another organisation's user never finds it.
    "dashboard-job": ("GET", {"job_id": "job"}, everyone(200, other_org=404)),
    "dashboard-job-start": ("POST", {"job_id": "job"}, only(["technician"], code=302)),
    "dashboard-job-complete": ("POST", {"job_id": "job"}, only(["technician"], code=400)),
    "api-insights": ("GET", {}, everyone(200, anonymous=401)),
    # "Not useful" on a finding is a POST; a GET is refused before anything is read.
    "dashboard-insight-dismiss": ("GET", {"widget_id": "widget"}, everyone(405)),
    # The insights page: everyone, in their own scope. Hiding and showing a finding again are
    # POSTs that name the finding: without one, a 400 (a finding id that is not among the
    # caller's findings is a 404: tests/insights/test_page.py).
    "dashboard-insights": ("GET", {}, everyone(200)),
    # Questions in plain words: everyone, each in their own scope (docs/ask.md).
    "api-ask": ("GET", {}, everyone(200, anonymous=401)),
    "dashboard-ask": ("GET", {}, everyone(200)),
    "dashboard-insights-hide": ("POST", {}, everyone(400)),
    "dashboard-insights-show": ("POST", {}, everyone(400)),
    # Scheduled reports: admins only; another organisation's report is a 404.
    "reports-list": ("GET", {}, only(["admin"], other_org=200)),
    "reports-create": ("GET", {}, only(["admin"], other_org=200)),
    "reports-next-sends": ("GET", {}, only(["admin"], other_org=200)),
    "reports-detail": ("GET", {"pk": "report"}, only(["admin"])),
    "reports-edit": ("GET", {"pk": "report"}, only(["admin"])),
    "reports-preview": ("GET", {"pk": "report"}, only(["admin"])),
    "reports-preview-pdf": ("GET", {"pk": "report"}, only(["admin"])),
    "reports-run-pdf": ("GET", {"pk": "report", "run_pk": "run"}, only(["admin"])),
    "reports-send-now": ("POST", {"pk": "report"}, only(["admin"], code=302)),
    "reports-toggle": ("POST", {"pk": "report"}, only(["admin"], code=302)),
    # A large export's page and download: only the user who asked (here the admin) finds them;
    # everyone else in the organisation, and any other organisation, gets a 404.
    "dashboard-export": ("GET", {"pk": "export"}, only(["admin"], denied=404)),
    "dashboard-export-download": ("GET", {"pk": "export"}, only(["admin"], denied=404)),
    # Reconciliation with Xero: admins only (other_org is an admin of their own organisation,
    # who sees their own books). A note without text, and connect without Xero settings, go
    # back to the page.
    "dashboard-reconciliation": ("GET", {}, only(["admin"], other_org=200)),
    "api-reconciliation": ("GET", {}, only(["admin"], anonymous=401, other_org=200)),
    "dashboard-reconciliation-note": ("POST", {}, only(["admin"], code=302, other_org=302)),
    "dashboard-reconciliation-connect": ("POST", {}, only(["admin"], code=302, other_org=302)),
    "dashboard-reconciliation-disconnect": (
        "POST",
        {},
        only(["admin"], code=302, other_org=302),
    ),
    # One-click unsubscribe needs no login; a token that was never signed is refused.
    "reports-unsubscribe": ("GET", {"token": "token"}, everyone(400, anonymous=400)),
    # Alerts: everyone keeps their own; an admin sees the organisation's. A rule someone may
    # not see (a colleague's, another organisation's) is a 404.
    "alerts-list": ("GET", {}, everyone(200)),
    "alerts-create": ("GET", {}, everyone(200)),
    "alerts-preview": ("GET", {}, everyone(400)),  # an empty rule: the form's errors
    "alerts-detail": ("GET", {"pk": "alert"}, only(["admin"], denied=404)),
    "alerts-edit": ("GET", {"pk": "alert"}, only(["admin"], denied=404)),
    "alerts-snooze": ("POST", {"pk": "alert"}, only(["admin"], code=400, denied=404)),
    "alerts-toggle": ("POST", {"pk": "alert"}, only(["admin"], code=302, denied=404)),
    "alerts-snooze-link": ("GET", {"token": "token"}, everyone(400, anonymous=400)),
    "api-alerts": ("GET", {}, everyone(200, anonymous=401)),
    # Annotations (docs/annotations.md, "Who"): everyone reads, every role but the viewer adds,
    # only the author (here the admin) and admins change; another organisation's is a 404.
    "annotations-list": ("GET", {}, everyone(200)),
    "annotations-create": ("GET", {}, only(EDITORS, other_org=200)),
    "annotations-import": ("POST", {}, only(EDITORS, code=302, other_org=302)),  # no file
    "annotations-edit": ("GET", {"pk": "annotation"}, only(["admin"])),
    "annotations-delete": ("POST", {"pk": "annotation"}, only(["admin"], code=302)),
    "api-annotations": ("GET", {}, everyone(200, anonymous=401)),
    "api-alert-events": ("GET", {"pk": "alert"}, only(["admin"], denied=404, anonymous=401)),
    # Following and digests (docs/digests.md): every follow is the user's own.
    "alerts-follow": ("POST", {}, everyone(302)),  # no metric: a message and back
    "alerts-settings": ("GET", {}, everyone(200)),
    "alerts-digest-preview": ("GET", {}, everyone(200)),
    "api-follows": ("GET", {}, everyone(200, anonymous=401)),
    "api-follow": ("GET", {"pk": "follow"}, only(["admin"], denied=404, anonymous=401)),
    # Last of the follow routes: the admin's unfollow removes the follow the others read.
    "alerts-unfollow": ("POST", {"pk": "follow"}, only(["admin"], code=302, denied=404)),
}
# Django's admin: non-staff are sent to the admin login; anonymous too.
ADMIN_FAMILY = everyone(302, anonymous=302)
VALUES = {"metric": "revenue"}
QUERY = {"api-timeseries": "?metric=revenue", "api-ask": "?q=kWh+deployed+this+month"}


def _decided(name: str) -> bool:
    return name in MATRIX or name.startswith("admin:")


def test_every_route_has_an_authorisation_decision():
    missing = sorted({r.name for r in all_routes() if not _decided(r.name)})
    assert not missing, f"Add these routes to MATRIX in {__file__}: {missing}"
    stale = sorted(set(MATRIX) - {r.name for r in all_routes()})
    assert not stale, f"MATRIX names routes that no longer exist: {stale}"


def _expected_status(code, response) -> bool:
    if code == "login":
        return response.status_code == 302 and "/accounts/login/" in response["Location"]
    return response.status_code == code


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", *ROLES, "other_org"])
def test_each_route_answers_each_caller_as_decided(client, org, other_org, who):
    users = {role: make_user(org, role) for role in ROLES}
    outsider = make_user(other_org, "admin", email="admin@outsider.test")
    target = Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2026, 7, 1),
        value=100,
    )
    # A widget of the admin's own saved layout: its id exists nowhere else.
    _layout, private_widget = layouts.do_add_widget(
        users["admin"], "kpi", {"metric": "revenue"}, None
    )
    job = make_job(org, users["technician"])
    report, run = make_report_with_run(org, users["admin"])
    export_job = ExportJob.objects.create(
        organization=org,
        user=users["admin"],
        metric="revenue",
        params="range=last_30_days",
        fmt="csv",
        rows=1,
        status="ready",
        file=ContentFile(b"ID\r\n1\r\n", name="renoz-revenue.csv"),
        filename="renoz-revenue.csv",
    )
    alert = make_alert(org, users["admin"])
    annotation = Annotation.objects.create(
        organization=org, author=users["admin"], title="Storm", starts_at=dt.datetime.now(dt.UTC)
    )
    follow, _new = do_follow_metric(users["admin"], "revenue", {})
    routes = {r.name: r for r in all_routes()}
    failures = []
    for name, (method, kwargs, expected) in MATRIX.items():
        user = outsider if who == "other_org" else users.get(who)
        client.logout()
        if user is not None:
            client.force_login(user)
        # Ids always belong to the organisation under test (or, for other_org, not to theirs).
        owner = users.get(who, users["admin"])
        layout, _own = layouts.get_layout(owner)
        values = {
            "target": str(target.pk),
            "metric": VALUES["metric"],
            "job": str(job.pk),
            "report": str(report.pk),
            "run": str(run.pk),
            "export": str(export_job.pk),
            "alert": str(alert.pk),
            "annotation": str(annotation.pk),
            "follow": str(follow.pk),
            "token": "not-a-signed-token",
            "uid": "MQ",
            "widget": private_widget["id"] if who in ("other_org", "admin") else layout[0]["id"],
        }
        path = fill(routes[name].pattern, {k: values[v] for k, v in kwargs.items()})
        path += QUERY.get(name, "")
        response = client.get(path) if method == "GET" else client.post(path, {})
        if not _expected_status(expected[who], response):
            failures.append(
                f"{method} {path} as {who}: {response.status_code}, expected {expected[who]}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_admin_family_sends_non_staff_to_the_admin_login(client, org):
    user = make_user(org, "admin")
    for who in ("anonymous", "admin"):
        client.logout()
        if who == "admin":
            client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code == ADMIN_FAMILY[who]
        assert "/admin/login/" in response["Location"]
