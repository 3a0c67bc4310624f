"""Start and complete from the phone: idempotent for a retried action (the same key twice is one
start or one completion), a job moved meanwhile is a clear conflict, Start comes first, the
completion asks for the actual figures and a confirmation, errors sit beside their fields at the
job's own address, and every role is offered only the links it may follow."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from operations.models import InstallationJob, JobEvent
from tests.conftest import make_user
from tests.dashboard.test_field import _job, _today_start

JSON = {"HTTP_ACCEPT": "application/json"}
KEY = "3f1c2a9e-5b7d-4c1e-9a2f-0d8e6b4c7a11"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def crew(org, other_org):
    return {
        role: make_user(org, role, f"{role}@renoz.test")
        for role in ("technician", "admin", "operations", "viewer", "sales")
    }


@pytest.fixture
def job(org, crew):
    return _job(org, crew["technician"], _today_start(org) + dt.timedelta(hours=9), name="Acme")


def _complete(client, job, key=KEY, **extra):
    data = {"kwh": "18.5", "labor_hours": "5.5", "confirm": "1", "idempotency_key": key}
    return client.post(f"/dashboard/jobs/{job.pk}/complete/", data | extra, **JSON)


def _start(client, job):
    return client.post(
        f"/dashboard/jobs/{job.pk}/start/", {"idempotency_key": "9c2e4f1a-start"}, **JSON
    )


def test_the_same_completion_sent_twice_completes_the_job_once(job, crew):
    client = _client(crew["technician"])
    _start(client, job)
    first = _complete(client, job)
    second = _complete(client, job)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json() == {"status": "completed", "job": job.pk}
    assert JobEvent.objects.filter(job=job, kind="completed").count() == 1
    job.refresh_from_db()
    assert job.status == "completed"


def test_the_same_start_sent_twice_starts_the_job_once_even_after_completion(job, crew):
    client = _client(crew["technician"])
    url = f"/dashboard/jobs/{job.pk}/start/"
    assert client.post(url, {"idempotency_key": KEY}, **JSON).json()["status"] == "in_progress"
    _complete(client, job, key="0b5e7c1d-completion")
    # The start's retry arrives late, after the completion: still the same start, not a conflict.
    late = client.post(url, {"idempotency_key": KEY}, **JSON)
    assert late.status_code == 200
    assert late.json()["status"] == "completed"
    assert JobEvent.objects.filter(job=job, kind="started").count() == 1


def test_a_job_cancelled_meanwhile_is_a_conflict_and_is_not_started(job, crew):
    InstallationJob.objects.filter(pk=job.pk).update(
        status="cancelled", cancelled_at=timezone.now()
    )
    response = _client(crew["technician"]).post(
        f"/dashboard/jobs/{job.pk}/start/", {"idempotency_key": KEY}, **JSON
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": "This job is cancelled; it cannot start",
        "status": "cancelled",
    }
    assert not JobEvent.objects.exists()


def test_a_job_completed_in_the_office_meanwhile_is_a_conflict_not_a_silent_success(job, crew):
    _start(_client(crew["technician"]), job)
    _complete(_client(crew["technician"]), job, key="a-completion-from-another-phone")
    response = _complete(_client(crew["technician"]), job, key=KEY, kwh="99")
    assert response.status_code == 409
    assert "already completed" in response.json()["error"]
    job.refresh_from_db()
    assert str(job.kwh) == "18.50"


def test_a_never_started_job_cannot_be_completed_start_first(job, crew):
    client = _client(crew["technician"])
    response = _complete(client, job)
    assert response.status_code == 409
    assert response.json() == {
        "error": "This job has not been started: start it first, then complete it",
        "status": "scheduled",
    }
    page = client.post(
        f"/dashboard/jobs/{job.pk}/complete/",
        {"kwh": "18.5", "labor_hours": "5.5", "confirm": "1"},
    )
    assert page.status_code == 409
    assert "start it first" in page.content.decode()
    job.refresh_from_db()
    assert (job.status, job.completed_at) == ("scheduled", None)
    assert not JobEvent.objects.filter(job=job).exists()
    # Once started, the same completion (same key) goes through, and its replay answers the same.
    _start(client, job)
    assert _complete(client, job).json() == {"status": "completed", "job": job.pk}
    assert _complete(client, job).json() == {"status": "completed", "job": job.pk}
    assert JobEvent.objects.filter(job=job, kind="completed").count() == 1


def test_a_malformed_key_is_a_400(job, crew):
    response = _client(crew["technician"]).post(
        f"/dashboard/jobs/{job.pk}/start/", {"idempotency_key": "<script>"}, **JSON
    )
    assert response.status_code == 400
    assert "action key" in response.json()["error"]


def test_an_unstarted_job_offers_start_first_and_hides_the_completion(job, crew):
    html = _client(crew["technician"]).get(f"/dashboard/jobs/{job.pk}/").content.decode()
    start = re.search(r'<button type="submit" class="([^"]+)">Start job</button>', html)
    assert start and "btn-primary" in start.group(1)
    form = re.search(r'<form [^>]*id="complete-form"[^>]*>', html).group(0)
    assert " hidden" in form


def test_a_started_job_asks_for_the_actual_figures_not_the_planned_ones(job, crew):
    client = _client(crew["technician"])
    client.post(f"/dashboard/jobs/{job.pk}/start/")
    html = client.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    form = re.search(r'<form [^>]*id="complete-form"[^>]*>', html).group(0)
    assert " hidden" not in form
    assert re.search(r'name="kwh" id="id_kwh" value=""', html)
    assert re.search(r'name="labor_hours" id="id_labor_hours" value=""', html)
    assert "Planned: 20" in html  # the planned figures are a hint, not the default


def test_completing_without_javascript_asks_for_confirmation_first(job, crew):
    client = _client(crew["technician"])
    client.post(f"/dashboard/jobs/{job.pk}/start/")
    url = f"/dashboard/jobs/{job.pk}/"
    review = client.post(url, {"kwh": "18.5", "labor_hours": "5.5", "idempotency_key": KEY})
    assert review.status_code == 200
    html = review.content.decode()
    assert "Confirm the completion" in html
    assert "<strong>18.5 kWh</strong> installed and <strong>5.5 h</strong>" in html
    job.refresh_from_db()
    assert job.status == "in_progress"
    confirmed = client.post(
        url, {"kwh": "18.50", "labor_hours": "5.50", "idempotency_key": KEY, "confirm": "1"}
    )
    assert confirmed.status_code == 302
    assert confirmed["Location"] == f"{url}?done=completed"
    job.refresh_from_db()
    assert (job.status, str(job.kwh)) == ("completed", "18.50")


def test_an_invalid_completion_shows_errors_beside_their_fields_at_the_job_address(job, crew):
    client = _client(crew["technician"])
    client.post(f"/dashboard/jobs/{job.pk}/start/")
    response = client.post(
        f"/dashboard/jobs/{job.pk}/", {"kwh": "-3", "labor_hours": ""}, follow=True
    )
    assert response.status_code == 400
    assert response.request["PATH_INFO"] == f"/dashboard/jobs/{job.pk}/"
    html = response.content.decode()
    assert re.search(
        r'id="id_kwh" value="-3" required aria-invalid="true" aria-describedby="kwh-error">\s*'
        r'<p class="field-error" id="kwh-error">Ensure this value is greater than or equal to 0',
        html,
    )
    assert re.search(
        r'id="id_labor_hours" value="" required aria-invalid="true" '
        r'aria-describedby="hours-error">\s*<p class="field-error" id="hours-error">'
        r"This field is required",
        html,
    )
    assert 'role="alert"' not in html  # no banner far from the fields
    job.refresh_from_db()
    assert job.status == "in_progress"


@pytest.mark.parametrize("role", ["admin", "operations", "viewer", "sales"])
def test_my_numbers_offers_the_field_view_only_to_technicians(job, crew, role):
    html = _client(crew[role]).get("/dashboard/me/").content.decode()
    assert "/dashboard/field/" not in html


def test_a_technicians_my_numbers_links_the_field_view(job, crew):
    client = _client(crew["technician"])
    html = client.get("/dashboard/me/").content.decode()
    assert 'href="/dashboard/field/">Field view</a>' in html
    assert client.get("/dashboard/field/").status_code == 200


@pytest.mark.parametrize("role", ["technician", "admin", "operations", "viewer", "sales"])
def test_the_job_pages_back_link_leads_somewhere_the_role_may_go(job, crew, role):
    client = _client(crew[role])
    html = client.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    back = re.search(r'<p class="back"><a href="([^"]+)">‹ ([^<]+)</a>', html)
    expected = (
        ("/dashboard/field/", "My jobs") if role == "technician" else ("/dashboard/", "Dashboard")
    )
    assert back.group(2) == expected[1]
    assert back.group(1).endswith(expected[0])
    assert client.get(back.group(1)).status_code == 200
