"""Issue 27 item 5, input edges: ids and numbers in ASCII digits only, one-line fields without
control characters, e-mail addresses within RFC 5321's lengths, admin date filters that cannot
overflow. Each is refused with a clear message (or a 404 for an id), never a 500."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Role, User
from dashboard.forms import CompleteJobForm
from infra.numbers import parse_id
from infra.validation import ASCII_DIGITS_MESSAGE, SINGLE_LINE_MESSAGE
from reports.models import ScheduledReport
from targets.forms import AmountField
from tests.conftest import make_user
from tests.reports.test_views import form_data

UNICODE_DIGITS = ["²", "①", "⁵", "٣", "۳", "३", "５", "𝟙"]


@pytest.mark.parametrize("raw", UNICODE_DIGITS + ["", " 1", "1 ", "-1", "+1", "1.0", "1e3"])
def test_only_ascii_digits_are_an_id(raw):
    assert parse_id(raw) is None


def test_ids_read_ascii_digits_up_to_what_a_bigint_holds():
    assert parse_id("0") == 0
    assert parse_id("42") == 42
    assert parse_id("9" * 18) == 999_999_999_999_999_999
    assert parse_id("9" * 19) is None  # may not fit PostgreSQL's bigint
    assert parse_id(None) is None
    assert parse_id(7) == 7


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["²", "①", "⁵", "٣", "9" * 30])
def test_a_unicode_digit_user_id_is_a_404_on_the_page_and_the_api(client, owner, raw):
    client.force_login(owner)
    page = client.get("/dashboard/me/", {"user": raw})
    assert page.status_code == 404
    assert "This page does not exist" in page.content.decode()
    api = client.get("/api/dashboard/me", {"user": raw})
    assert api.status_code == 404
    assert api["Content-Type"] == "application/json"
    assert "error" in json.loads(api.content)


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["٣", "²"])
def test_a_unicode_digit_owner_filter_is_a_400(client, owner, raw):
    client.force_login(owner)
    response = client.get("/api/dashboard/metrics", {"owner": raw})
    assert response.status_code == 400
    assert json.loads(response.content)["error"].startswith("Unknown owner")


@pytest.mark.parametrize("raw", ["٣", "²", "１２"])
def test_number_fields_refuse_other_digits_with_a_clear_message(raw):
    form = CompleteJobForm({"kwh": raw, "labor_hours": "2"})
    assert not form.is_valid()
    assert form.errors["kwh"] == [ASCII_DIGITS_MESSAGE]
    assert AmountField(required=False).clean("$1,500") == 1500
    with pytest.raises(Exception, match="digits 0-9"):
        AmountField(required=False).clean(f"$1,5{raw}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "Weekly\r\nBcc: attacker@evil.test",
        "Weekly\nnumbers",
        "Weekly\rnumbers",
        "Tab\there",
        "Bell\x07",
        "Escape\x1b[31m",
        "Delete\x7f",
        "C1\x85next",
        "Line\u2028separator",
    ],
)
def test_a_report_name_with_control_characters_is_refused(client, owner, name):
    client.force_login(owner)
    response = client.post(reverse("reports-create"), form_data(owner, name=name))
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [SINGLE_LINE_MESSAGE]
    assert "Use one line of text without control characters" in response.content.decode()
    assert not ScheduledReport.objects.exists()


@pytest.mark.django_db
def test_a_report_name_in_any_script_is_fine(client, owner):
    client.force_login(owner)
    response = client.post(reverse("reports-create"), form_data(owner, name="Zahlen – 週報 ²"))
    assert response.status_code == 302
    assert ScheduledReport.objects.get().name == "Zahlen – 週報 ²"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("a" * 64 + "@client.test", True),
        ("a" * 65 + "@client.test", False),
        ("a" * 300 + "@client.test", False),
        ("ceo@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 63 + ".com", True),  # 4+63*3+2+4 = 199
        ("ceo@" + ".".join(["d" * 63] * 4)[:249] + ".com", False),  # 257 characters
    ],
)
def test_recipient_addresses_keep_the_rfc_5321_lengths(client, owner, address, ok):
    client.force_login(owner)
    response = client.post(reverse("reports-create"), form_data(owner, recipients=address))
    if ok:
        assert response.status_code == 302
        assert ScheduledReport.objects.get().recipients == [address]
    else:
        assert response.status_code == 200
        assert "Not a valid e-mail address" in response.content.decode()
        assert not ScheduledReport.objects.exists()


@pytest.fixture
def staff(org) -> User:
    user = make_user(org, Role.ADMIN, email="staff@renoz.test")
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_user", "change_user", "view_user", "view_installationjob"]
        )
    )
    return user


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"scheduled_for__year": "99999999999"},
        {"scheduled_for__year": "0"},
        {"scheduled_for__year": "²"},
        {"scheduled_for__year": "2026", "scheduled_for__month": "13"},
        {"scheduled_for__year": "2026", "scheduled_for__month": "2", "scheduled_for__day": "99"},
        {"created_at__year": "10000"},
    ],
)
def test_admin_date_filters_cannot_overflow(client, staff, params):
    client.force_login(staff)
    response = client.get("/admin/operations/installationjob/", params)
    # Django's admin answers an incorrect lookup by showing the list unfiltered (?e=1).
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_admin_date_filters_in_range_still_filter(client, staff):
    client.force_login(staff)
    response = client.get("/admin/operations/installationjob/", {"scheduled_for__year": "2026"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_admin_user_forms_keep_the_input_rules(client, staff, org):
    client.force_login(staff)
    colleague = make_user(org, Role.SALES, email="sam@renoz.test")
    url = f"/admin/accounts/user/{colleague.pk}/change/"
    response = client.post(
        url,
        {
            "email": "s" * 65 + "@renoz.test",
            "full_name": "Sam\r\nSmith",
            "role": "sales",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["full_name"] == [SINGLE_LINE_MESSAGE]
    assert "The part before the @ has at most 64 characters; this one has 65." in errors["email"]
    colleague.refresh_from_db()
    assert colleague.full_name == "Sales"
