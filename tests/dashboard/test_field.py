"""The technician's field view and job page: their own jobs by when they are due; start and
complete with CSRF, organisation and ownership checks and an audit record; the completion moves
their numbers and the organisation's at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from metrics.periods import local_midnight, parse_state
from metrics.queries import get_metrics
from operations.models import Customer, InstallationJob, JobEvent, Order
from tests.conftest import make_user


def _client(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def crew(org, other_org):
    return {
        "tech": make_user(org, "technician", "tech@renoz.test"),
        "mate": make_user(org, "technician", "mate@renoz.test"),
        "ops": make_user(org, "operations", "ops@renoz.test"),
        "outsider": make_user(other_org, "technician", "tech@outsider.test"),
    }


def _job(org, tech, when, status="scheduled", name="Site"):
    customer = Customer.objects.create(
        organization=org, name=name, kind="commercial", state="NSW", phone="02 9000 1234"
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        number=f"O-{name}",
        status="fulfilled",
        ordered_at=when - dt.timedelta(days=10),
        total_cents=1,
    )
    return InstallationJob.objects.create(
        organization=org,
        order=order,
        customer=customer,
        technician=tech,
        status=status,
        scheduled_for=when,
        started_at=when if status == "in_progress" else None,
        created_at=when - dt.timedelta(days=10),
        kwh=Decimal("20.00"),
        labor_hours=Decimal("6.00"),
        site_address="12 George St, Parramatta NSW 2150",
        notes="Gate code 4321",
    )


def _today_start(org):
    return local_midnight(timezone.now().astimezone(org.tz).date(), org.tz)


def test_the_field_view_groups_a_technicians_own_jobs(org, crew):
    start = _today_start(org)
    _job(org, crew["tech"], start + dt.timedelta(hours=1), name="Today Co")
    _job(org, crew["tech"], start - dt.timedelta(days=2), name="Late Co")
    _job(org, crew["tech"], start + dt.timedelta(days=1, hours=9), name="Tomorrow Co")
    _job(org, crew["tech"], start + dt.timedelta(days=4, hours=9), name="Week Co")
    _job(org, crew["mate"], start + dt.timedelta(hours=2), name="Mates Co")
    response = _client(crew["tech"]).get("/dashboard/field/")
    assert response.status_code == 200
    sections = {s["key"]: [j["customer"] for j in s["jobs"]] for s in response.context["sections"]}
    assert sections == {
        "today": ["Today Co"],
        "overdue": ["Late Co"],
        "tomorrow": ["Tomorrow Co"],
        "week": ["Week Co"],
    }
    html = response.content.decode()
    assert "plotly" not in html
    assert "/static/js/field.js" in html


def test_the_field_view_is_for_technicians(org, crew):
    assert _client(crew["ops"]).get("/dashboard/field/").status_code == 403


def test_the_job_page_shows_what_the_technician_needs(org, crew):
    job = _job(org, crew["tech"], _today_start(org) + dt.timedelta(hours=9), name="Acme")
    html = _client(crew["tech"]).get(f"/dashboard/jobs/{job.pk}/").content.decode()
    assert "Acme" in html
    assert 'href="tel:0290001234"' in html
    assert "https://www.google.com/maps/search/?api=1&amp;query=12+George+St" in html
    assert "Gate code 4321" in html
    assert "Complete job" in html and "Start job" in html


def test_other_technicians_jobs_and_other_organisations_jobs_are_404(org, other_org, crew):
    mine = _job(org, crew["tech"], _today_start(org))
    theirs = _job(org, crew["mate"], _today_start(org), name="Mate")
    abroad = _job(other_org, crew["outsider"], _today_start(org), name="Abroad")
    client = _client(crew["tech"])
    assert client.get(f"/dashboard/jobs/{mine.pk}/").status_code == 200
    assert client.get(f"/dashboard/jobs/{theirs.pk}/").status_code == 404
    assert client.get(f"/dashboard/jobs/{abroad.pk}/").status_code == 404
    assert (
        client.post(
            f"/dashboard/jobs/{theirs.pk}/complete/", {"kwh": 1, "labor_hours": 1}
        ).status_code
        == 404
    )


def test_operations_see_a_job_but_only_its_technician_works_it(org, crew):
    job = _job(org, crew["tech"], _today_start(org))
    client = _client(crew["ops"])
    page = client.get(f"/dashboard/jobs/{job.pk}/")
    assert page.status_code == 200
    assert "Complete job" not in page.content.decode()
    assert client.post(f"/dashboard/jobs/{job.pk}/start/").status_code == 403


def test_posting_without_the_csrf_token_is_refused(org, crew):
    job = _job(org, crew["tech"], _today_start(org))
    client = _client(crew["tech"], enforce_csrf_checks=True)
    response = client.post(f"/dashboard/jobs/{job.pk}/complete/", {"kwh": "1", "labor_hours": "1"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == "scheduled"


def test_completing_a_job_moves_the_technicians_and_the_organisations_numbers(
    org, crew, django_capture_on_commit_callbacks
):
    job = _job(org, crew["tech"], _today_start(org))
    state = parse_state({"range": "today", "compare": "none"}, org)
    mine_before = get_metrics(org, state, ["jobs_completed"], owner=crew["tech"].pk)
    org_before = get_metrics(org, state, ["jobs_completed", "kwh_deployed"])
    assert mine_before["metrics"]["jobs_completed"]["value"] == 0
    client = _client(crew["tech"])
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/dashboard/jobs/{job.pk}/start/")
        assert started.status_code == 302
        done = client.post(
            f"/dashboard/jobs/{job.pk}/complete/",
            {"kwh": "18.50", "labor_hours": "5.5", "confirm": "1"},
        )
    assert done.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.kwh, job.labor_hours) == (
        "completed",
        Decimal("18.50"),
        Decimal("5.50"),
    )
    events = list(
        JobEvent.objects.filter(job=job).order_by("at", "id").values_list("kind", "actor")
    )
    assert events == [("started", crew["tech"].pk), ("completed", crew["tech"].pk)]
    # The same (cached) question asked again now: the write bumped the cache versions.
    state = parse_state({"range": "today", "compare": "none"}, org)
    mine = get_metrics(org, state, ["jobs_completed"], owner=crew["tech"].pk)
    whole = get_metrics(org, state, ["jobs_completed", "kwh_deployed"])
    assert mine["metrics"]["jobs_completed"]["value"] == 1
    assert whole["metrics"]["jobs_completed"]["value"] == (
        org_before["metrics"]["jobs_completed"]["value"] + 1
    )
    assert whole["metrics"]["kwh_deployed"]["value"] == 18.5
    body = client.get("/api/dashboard/me").json()
    assert body["metrics"]["jobs_completed"]["value"] == 1
    assert body["metrics"]["kwh_deployed"]["value"] == 18.5
    history = client.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    assert "Completed by Technician: 18.5 kWh, 5.5 h" in history


def test_bad_completion_input_is_a_400_and_changes_nothing(org, crew):
    job = _job(org, crew["tech"], _today_start(org))
    response = _client(crew["tech"]).post(
        f"/dashboard/jobs/{job.pk}/complete/", {"kwh": "-3", "labor_hours": "lots"}
    )
    assert response.status_code == 400
    job.refresh_from_db()
    assert job.status == "scheduled"
    assert not JobEvent.objects.exists()


def test_a_cancelled_job_cannot_be_completed(org, crew):
    job = _job(org, crew["tech"], _today_start(org))
    job.status, job.cancelled_at = "cancelled", timezone.now()
    job.save()
    response = _client(crew["tech"]).post(
        f"/dashboard/jobs/{job.pk}/complete/", {"kwh": "1", "labor_hours": "1", "confirm": "1"}
    )
    assert response.status_code == 409


def test_the_service_worker_is_served_for_the_dashboard_scope(org, crew):
    response = _client(crew["tech"]).get("/dashboard/sw.js")
    assert response.status_code == 200
    assert response["Service-Worker-Allowed"] == "/dashboard/"
    assert response["Content-Type"].startswith("application/javascript")
    assert b"renoz-field-v1" in response.content


def test_my_jobs_rows_open_the_job_page(org, crew):
    job = _job(org, crew["tech"], _today_start(org) + dt.timedelta(days=1))
    html = _client(crew["tech"]).get("/dashboard/me/").content.decode()
    assert f'href="/dashboard/jobs/{job.pk}/"' in html
