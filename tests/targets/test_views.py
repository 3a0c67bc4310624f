"""The targets screens: who may read and change targets, and the forms' clear errors."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from targets.models import Target
from targets.seeding import seed_demo_targets
from tests.conftest import make_user
from tests.targets.helpers import closed_quote, customer, local, order

D = dt.date
NOW = local(2026, 11, 16, 9)
pytestmark = pytest.mark.usefixtures("_frozen_clock")


@pytest.fixture
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def target(org) -> Target:
    return Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=D(2026, 11, 1),
        value=Decimal(10_000_000),
    )


@pytest.fixture
def foreign_target(other_org) -> Target:
    return Target.objects.create(
        organization=other_org,
        metric="revenue",
        period_kind="month",
        period_start=D(2026, 11, 1),
        value=Decimal(5_000_000),
    )


def form_data(**overrides) -> dict:
    data = {
        "metric": "revenue",
        "period_kind": "month",
        "period_start": "2026-12-01",
        "amount": "150,000",
        "user": "",
    }
    data.update(overrides)
    return data


def text(response) -> str:
    """The response's visible text, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").split())


# --- Permissions -----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, target):
    for url in [
        reverse("targets-list"),
        reverse("targets-create"),
        reverse("targets-edit", args=[target.pk]),
        reverse("targets-delete", args=[target.pk]),
        reverse("targets-bulk"),
        reverse("targets-copy"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts-login") + "?next="), url
    assert client.post(reverse("targets-create"), form_data()).status_code == 302
    assert Target.objects.count() == 1


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.ADMIN])
def test_other_roles_read_targets_but_cannot_change_them(client, users_by_role, target, role):
    client.force_login(users_by_role[role])

    page = client.get(reverse("targets-list"))
    assert page.status_code == 200
    assert "Nov 2026" in text(page) and "$100,000" in text(page)
    assert reverse("targets-edit", args=[target.pk]) not in page.content.decode()
    assert "read-only" in text(page)

    edit = reverse("targets-edit", args=[target.pk])
    delete = reverse("targets-delete", args=[target.pk])
    for url in [
        reverse("targets-create"),
        edit,
        delete,
        reverse("targets-bulk"),
        reverse("targets-copy"),
    ]:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("targets-create"), form_data()).status_code == 403
    assert client.post(edit, form_data(amount="1")).status_code == 403
    assert client.post(delete).status_code == 403
    assert client.post(reverse("targets-bulk"), {"metric": "revenue"}).status_code == 403
    assert client.post(reverse("targets-copy"), {"to_fiscal_year": "2026-07-01"}).status_code == 403
    target.refresh_from_db()
    assert target.value == Decimal(10_000_000)
    assert Target.objects.count() == 1


def test_another_organisations_target_is_a_404_for_everyone(client, outsider, other_org, target):
    outsider_sales = make_user(other_org, Role.SALES)
    for user in (outsider, outsider_sales):
        client.force_login(user)
        for url in [
            reverse("targets-edit", args=[target.pk]),
            reverse("targets-delete", args=[target.pk]),
        ]:
            assert client.get(url).status_code == 404
            assert client.post(url, form_data(amount="1")).status_code == 404
    assert Target.objects.get(pk=target.pk).value == Decimal(10_000_000)


def test_the_list_shows_only_the_users_organisation(client, owner, target, foreign_target):
    client.force_login(owner)
    page = client.get(reverse("targets-list"))
    assert f'data-target-id="{target.pk}"' in page.content.decode()
    assert f'data-target-id="{foreign_target.pk}"' not in page.content.decode()
    assert "$50,000" not in text(page)


def test_a_malformed_id_is_a_404(client, owner):
    client.force_login(owner)
    assert client.get("/dashboard/targets/999999/edit/").status_code == 404


# --- The list --------------------------------------------------------------------------------


def test_the_list_shows_actual_progress_and_status(client, owner, target):
    order(target.organization, local(2026, 11, 3), 4_000_000)
    client.force_login(owner)
    page = client.get(reverse("targets-list"))
    body = text(page)
    assert page.status_code == 200
    assert "FY2027 targets" in body
    # by 9:00 on 16 Nov, 15.375 of 30 days: expected $51,250, pace 78.0 % → behind
    assert "Revenue Organisation $100,000 $40,000" in body
    assert "40.0%" in body
    assert "$51,250" in body
    assert "pace 78.0%" in body
    assert "Behind" in body
    assert "In progress · 51% of the period elapsed" in body
    assert f'href="{reverse("targets-edit", args=[target.pk])}"' in page.content.decode()


def test_the_list_groups_by_period_in_order(client, owner, org, target):
    for kind, start in [("fiscal_year", D(2026, 7, 1)), ("quarter", D(2026, 10, 1))]:
        Target.objects.create(
            organization=org, metric="revenue", period_kind=kind, period_start=start, value=1
        )
    Target.objects.create(
        organization=org, metric="revenue", period_kind="month", period_start=D(2026, 7, 1), value=1
    )
    client.force_login(owner)
    body = text(client.get(reverse("targets-list")))
    headings = re.findall(
        r"(FY2027|Jul–Sep 2026|Oct–Dec 2026|Jul 2026|Nov 2026) (?:Financial year|Quarter|Month)",
        body,
    )
    assert headings == ["FY2027", "Jul 2026", "Oct–Dec 2026", "Nov 2026"]
    assert "Jul 2026 Month Finished · 1 Jul – 31 Jul 2026 1 missed" in body  # a folded header


def test_another_financial_year_is_one_click_away(client, owner, org, target):
    Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=D(2025, 11, 1),
        value=100,
    )
    client.force_login(owner)
    page = client.get(reverse("targets-list") + "?fy=2025-07-01")
    body = text(page)
    assert "FY2026 targets" in body and "Nov 2025" in body and "Nov 2026" not in body
    assert 'href="/dashboard/targets/?fy=2026-07-01"' in page.content.decode()


def test_an_htmx_request_gets_just_the_page_fragment(client, owner, target):
    client.force_login(owner)
    response = client.get(
        reverse("targets-list") + "?fy=2026-07-01", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div class="tg-page" id="targets-page">')
    assert "<html" not in html and "Nov 2026" in html


def test_an_empty_year_invites_admins_to_set_targets(client, owner):
    client.force_login(owner)
    body = text(client.get(reverse("targets-list")))
    assert "No targets for FY2027 yet" in body
    assert "Enter 12 months" in body


# --- Create, edit, delete --------------------------------------------------------------------


def test_an_admin_adds_a_target_in_dollars(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("targets-create"), form_data(amount="$150,000"))
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/targets/?fy=2026-07-01"
    target = Target.objects.for_org(org).get()
    assert (target.metric, target.period_kind, target.period_start) == (
        "revenue",
        "month",
        D(2026, 12, 1),
    )
    assert target.value == Decimal(15_000_000)  # stored in cents
    assert target.user is None
    assert "Added the Revenue target for Dec 2026." in text(client.get(response["Location"]))


def test_a_rate_is_typed_as_a_percentage(client, owner, org):
    client.force_login(owner)
    client.post(reverse("targets-create"), form_data(metric="quote_win_rate", amount="38.5%"))
    assert Target.objects.for_org(org).get().value == Decimal("0.385")


def test_an_admin_sets_a_personal_target(client, owner, colleague, org):
    client.force_login(owner)
    client.post(
        reverse("targets-create"), form_data(metric="quotes_won", amount="12", user=colleague.pk)
    )
    target = Target.objects.for_org(org).get()
    assert (target.user, target.value) == (colleague, Decimal(12))


def test_the_edit_form_shows_dollars_and_saves_changes(client, owner, target):
    client.force_login(owner)
    form = client.get(reverse("targets-edit", args=[target.pk]))
    assert 'value="100000"' in form.content.decode()
    response = client.post(
        reverse("targets-edit", args=[target.pk]),
        form_data(period_start="2026-11-01", amount="120000"),
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.value == Decimal(12_000_000)


def test_an_admin_deletes_a_target_after_confirming(client, owner, target):
    client.force_login(owner)
    confirm = client.get(reverse("targets-delete", args=[target.pk]))
    assert "Delete this target?" in text(confirm) and "$100,000" in text(confirm)
    response = client.post(reverse("targets-delete", args=[target.pk]))
    assert response.status_code == 302
    assert not Target.objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "0"}, "amount", "Enter a target above zero."),
        ({"amount": "-500"}, "amount", "Enter a target above zero."),
        ({"amount": "lots"}, "amount", "Enter a number, like 150000 or 38.5."),
        ({"amount": "12.345"}, "amount", "Enter dollars and cents with at most 2 decimal places."),
        (
            {"metric": "quote_win_rate", "amount": "140"},
            "amount",
            "A rate is a percentage between 0 and 100.",
        ),
        (
            {"metric": "new_customers", "amount": "2.5"},
            "amount",
            "New customers targets are whole numbers.",
        ),
        (
            {"metric": "profit"},
            "metric",
            "Select a valid choice. profit is not one of the available choices.",
        ),
        (
            {"period_start": "2026-12-15"},
            "period_start",
            "A monthly target starts on the 1st of a month. Did you mean 1 December 2026?",
        ),
        (
            {"period_kind": "quarter", "period_start": "2026-11-01"},
            "period_start",
            "A quarter starts on 1 January, 1 April, 1 July or 1 October. Did you mean 1 October 2026?",
        ),
        (
            {"period_kind": "fiscal_year", "period_start": "2027-01-01"},
            "period_start",
            "This organisation's financial year starts on 1 July. Did you mean 1 July 2026?",
        ),
        (
            {"period_start": "2026-13-01"},
            "period_start",
            "Enter a date as YYYY-MM-DD, like 2026-07-01.",
        ),
        (
            {"metric": "new_customers", "amount": "4", "user": "COLLEAGUE"},
            "user",
            "New customers cannot be attributed to one person.",
        ),
    ],
)
def test_the_form_explains_what_is_wrong(client, owner, colleague, org, overrides, field, message):
    if overrides.get("user") == "COLLEAGUE":
        overrides["user"] = colleague.pk
    client.force_login(owner)
    response = client.post(reverse("targets-create"), form_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(e.startswith(message) for e in errors), errors
    assert message in text(response).replace("&#x27;", "'")
    assert Target.objects.for_org(org).count() == 0


def test_a_duplicate_points_at_the_existing_target(client, owner, target):
    client.force_login(owner)
    response = client.post(
        reverse("targets-create"), form_data(period_start="2026-11-01", amount="90000")
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "There is already an organisation-wide Revenue target for Nov 2026 ($100,000). "
        "Edit that one instead of adding another."
    ]
    assert f'href="{reverse("targets-edit", args=[target.pk])}"' in response.content.decode()
    assert Target.objects.count() == 1


def test_a_person_may_have_their_own_target_beside_the_organisations(
    client, owner, colleague, target
):
    client.force_login(owner)
    response = client.post(
        reverse("targets-create"),
        form_data(period_start="2026-11-01", amount="20000", user=colleague.pk),
    )
    assert response.status_code == 302
    assert Target.objects.count() == 2


def test_the_edit_form_does_not_count_the_target_as_its_own_duplicate(client, owner, target):
    client.force_login(owner)
    response = client.post(
        reverse("targets-edit", args=[target.pk]), form_data(period_start="2026-11-01")
    )
    assert response.status_code == 302


# --- Twelve months at once -------------------------------------------------------------------


def test_an_admin_enters_a_year_of_months_in_one_grid(client, owner, org):
    client.force_login(owner)
    page = client.get(reverse("targets-bulk") + "?metric=revenue&fiscal_year=2026-07-01")
    assert "Jul 2026" in text(page) and "Jun 2027" in text(page)
    months = {f"month_{i}": str(100_000 + i * 1000) for i in range(12)}
    months["month_11"] = ""
    response = client.post(
        reverse("targets-bulk"),
        {"metric": "revenue", "fiscal_year": "2026-07-01", "user": "", **months},
    )
    assert response.status_code == 302
    saved = dict(Target.objects.for_org(org).values_list("period_start", "value"))
    assert len(saved) == 11
    assert saved[D(2026, 7, 1)] == Decimal(10_000_000)
    assert saved[D(2027, 5, 1)] == Decimal(11_000_000)
    assert "Saved Revenue for FY2027: 11 added, 0 changed, 0 removed, 0 unchanged." in text(
        client.get(response["Location"])
    )

    page = client.get(reverse("targets-bulk") + "?metric=revenue&fiscal_year=2026-07-01")
    assert 'name="month_0" value="100000"' in page.content.decode()

    months.update(month_0="", month_1="99000")
    client.post(
        reverse("targets-bulk"),
        {"metric": "revenue", "fiscal_year": "2026-07-01", "user": "", **months},
    )
    saved = dict(Target.objects.for_org(org).values_list("period_start", "value"))
    assert D(2026, 7, 1) not in saved
    assert saved[D(2026, 8, 1)] == Decimal(9_900_000)


def test_the_grid_marks_the_bad_months(client, owner, org):
    client.force_login(owner)
    response = client.post(
        reverse("targets-bulk"),
        {
            "metric": "new_customers",
            "fiscal_year": "2026-07-01",
            "user": "",
            "month_0": "4",
            "month_3": "-2",
            "month_5": "2.5",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["month_3"] == ["Enter a target above zero."]
    assert form.errors["month_5"] == ["New customers targets are whole numbers."]
    assert "Please fix the 2 problems below." in text(response)
    assert Target.objects.for_org(org).count() == 0


def test_the_grid_refuses_an_unknown_financial_year(client, owner, org):
    client.force_login(owner)
    response = client.post(
        reverse("targets-bulk"), {"metric": "revenue", "fiscal_year": "1999-07-01", "month_0": "5"}
    )
    assert response.status_code == 200
    assert "fiscal_year" in response.context["form"].errors
    assert Target.objects.count() == 0


# --- Copying last year -----------------------------------------------------------------------


def test_an_admin_copies_last_year_with_an_uplift(client, owner, colleague, org):
    def make(metric, kind, start, value, **kw):
        return Target.objects.create(
            organization=org,
            metric=metric,
            period_kind=kind,
            period_start=start,
            value=Decimal(value),
            **kw,
        )

    make("revenue", "month", D(2025, 7, 1), 12_345_600)  # $123,456 → +10 % → $135,802
    make("revenue", "fiscal_year", D(2025, 7, 1), 150_000_000)
    make("new_customers", "quarter", D(2025, 10, 1), 7)  # 7.7 → 8
    make("quote_win_rate", "month", D(2025, 8, 1), "0.95")  # 1.045 → capped at 1
    make("quotes_won", "month", D(2025, 9, 1), 3, user=colleague)
    make("revenue", "month", D(2026, 7, 1), 1)  # already there: kept
    client.force_login(owner)
    response = client.post(
        reverse("targets-copy"), {"to_fiscal_year": "2026-07-01", "uplift_pct": "10"}
    )
    assert response.status_code == 302
    copied = {
        (t.metric, t.period_kind, t.period_start, t.user_id): t.value
        for t in Target.objects.for_org(org).starting_between(D(2026, 7, 1), D(2027, 6, 30))
    }
    assert copied == {
        ("revenue", "month", D(2026, 7, 1), None): Decimal(1),
        ("revenue", "fiscal_year", D(2026, 7, 1), None): Decimal(165_000_000),
        ("new_customers", "quarter", D(2026, 10, 1), None): Decimal(8),
        ("quote_win_rate", "month", D(2026, 8, 1), None): Decimal(1),
        ("quotes_won", "month", D(2026, 9, 1), colleague.pk): Decimal(3),
    }
    assert "Copied FY2026 into FY2027 with +10% uplift: 4 added, 1 already there and kept." in text(
        client.get(response["Location"])
    )

    client.post(
        reverse("targets-copy"),
        {
            "to_fiscal_year": "2026-07-01",
            "uplift_pct": "10",
            "overwrite": "on",
            "metrics": ["revenue"],
        },
    )
    assert Target.objects.get(
        organization=org, metric="revenue", period_kind="month", period_start=D(2026, 7, 1)
    ).value == Decimal(13_580_200)


def test_copying_an_empty_year_says_so(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("targets-copy"), {"to_fiscal_year": "2026-07-01", "uplift_pct": "5"}
    )
    assert response.status_code == 200
    assert "FY2026 has no targets to copy." in text(response)


# --- Django admin ----------------------------------------------------------------------------


def test_targets_are_in_the_django_admin_scoped_to_the_organisation(
    client, owner, target, foreign_target
):
    owner.is_staff = True
    owner.save()
    from django.contrib.auth.models import Permission

    owner.user_permissions.add(*Permission.objects.filter(content_type__app_label="targets"))
    client.force_login(owner)
    page = client.get("/admin/targets/target/")
    assert page.status_code == 200
    assert f"/admin/targets/target/{target.pk}/change/" in page.content.decode()
    assert f"/admin/targets/target/{foreign_target.pk}/change/" not in page.content.decode()
    assert client.get(f"/admin/targets/target/{foreign_target.pk}/change/").status_code == 302


# --- Demo seeding ----------------------------------------------------------------------------


def test_demo_targets_follow_the_actuals_and_are_idempotent(org):
    buyer = customer(org)
    for month in range(1, 13):
        for year in (2025, 2026):
            if dt.date(year, month, 1) < dt.date(2026, 11, 1):
                order(org, local(year, month, 10), 5_000_000 + month * 100_000, buyer=buyer)
    closed_quote(org, local(2026, 9, 3), "won")

    created = seed_demo_targets(org)
    assert created == 24 + 24  # revenue and the win rate; no customers or kWh to base others on
    assert seed_demo_targets(org) == 0  # idempotent
    months = Target.objects.for_org(org).filter(period_kind="month")
    revenue = dict(months.filter(metric="revenue").values_list("period_start", "value"))
    assert len(revenue) == 24  # July 2025 to June 2027
    assert all(v % 100_000 == 0 for v in revenue.values())  # whole thousands of dollars
    # September 2026 did $5,900,000 × multiplier; every finished month sits within 0.9–1.15 of it
    assert Decimal(5_900_000 * 0.9) <= revenue[D(2026, 9, 1)] <= Decimal(5_900_000 * 1.15)
    assert set(months.filter(metric="quote_win_rate").values_list("value", flat=True)) == {
        Decimal("0.3800")
    }
    finished = [m for m in revenue if m < D(2026, 11, 1)]
    actual = {m: 5_000_000 + m.month * 100_000 for m in finished}
    met = [m for m in finished if actual[m] >= revenue[m]]
    assert 0 < len(met) < len(finished)  # some met, some missed


def test_the_seed_command_targets_renoz_energy(org, capsys):
    order(org, local(2026, 9, 10), 5_000_000)
    call_command("seed_demo_targets")
    assert "Renoz Energy: created" in capsys.readouterr().out
    assert Target.objects.for_org(org).filter(metric="revenue", period_start=D(2026, 9, 1)).exists()
