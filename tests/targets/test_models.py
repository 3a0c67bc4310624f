"""A Target is one number per organisation (or person), metric and aligned period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from targets.models import Target, aligned_start, period_bounds, period_label

D = dt.date


def make(org, **fields) -> Target:
    values = {
        "organization": org,
        "metric": "revenue",
        "period_kind": "month",
        "period_start": D(2026, 11, 1),
        "value": Decimal(10_000_000),
    }
    values.update(fields)
    return Target(**values)


def errors_of(target: Target) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        target.full_clean()
    return caught.value.message_dict


# --- Validation ------------------------------------------------------------------------------


def test_a_valid_target_saves(org):
    target = make(org)
    target.full_clean()
    target.save()
    assert Target.objects.for_org(org).get() == target
    assert str(target) == "Revenue Nov 2026"


def test_value_must_be_positive(org):
    assert errors_of(make(org, value=Decimal(0)))["value"] == ["Enter a target above zero."]
    assert errors_of(make(org, value=Decimal(-5)))["value"] == ["Enter a target above zero."]


def test_metric_must_be_in_the_registry(org):
    message = errors_of(make(org, metric="profit"))["metric"][0]
    assert message.startswith("Unknown metric 'profit'. Choose one of: revenue, orders,")


def test_rate_targets_are_ratios_at_most_one(org):
    assert errors_of(make(org, metric="quote_win_rate", value=Decimal(38)))["value"] == [
        "A rate target is a ratio between 0 and 1 (100%)."
    ]
    make(org, metric="quote_win_rate", value=Decimal("0.38")).full_clean()


def test_money_and_counts_are_whole(org):
    assert errors_of(make(org, value=Decimal("100.5")))["value"] == [
        "Revenue targets are whole cents."
    ]
    assert errors_of(make(org, metric="new_customers", value=Decimal("2.5")))["value"] == [
        "New customers targets are a whole number."
    ]
    make(org, metric="kwh_deployed", value=Decimal("1250.75")).full_clean()


@pytest.mark.parametrize(
    ("kind", "start", "message"),
    [
        (
            "month",
            D(2026, 11, 15),
            "A monthly target starts on the 1st of a month. Did you mean 1 November 2026?",
        ),
        (
            "quarter",
            D(2026, 2, 1),
            "A quarter starts on 1 January, 1 April, 1 July or 1 October. "
            "Did you mean 1 January 2026?",
        ),
        (
            "fiscal_year",
            D(2026, 1, 1),
            "This organisation's financial year starts on 1 July. Did you mean 1 July 2025?",
        ),
    ],
)
def test_period_start_must_fit_the_kind(org, kind, start, message):
    assert errors_of(make(org, period_kind=kind, period_start=start))["period_start"] == [message]


def test_aligned_starts_are_accepted(org):
    make(org, period_kind="quarter", period_start=D(2026, 10, 1)).full_clean()
    make(org, period_kind="fiscal_year", period_start=D(2026, 7, 1)).full_clean()


def test_financial_year_follows_the_organisations_fiscal_start(org):
    org.fiscal_year_start_month = 4
    org.save()
    errors = errors_of(make(org, period_kind="fiscal_year", period_start=D(2026, 7, 1)))
    assert errors["period_start"] == [
        "This organisation's financial year starts on 1 April. Did you mean 1 April 2026?"
    ]
    make(org, period_kind="fiscal_year", period_start=D(2026, 4, 1)).full_clean()


def test_a_personal_target_belongs_to_someone_in_the_organisation(org, colleague, outsider):
    assert errors_of(make(org, user=outsider))["user"] == [
        "That person is not in this organisation."
    ]
    make(org, user=colleague).full_clean()


def test_only_attributable_metrics_can_be_personal(org, colleague):
    message = errors_of(make(org, metric="new_customers", value=Decimal(5), user=colleague))[
        "user"
    ][0]
    assert message.startswith("New customers cannot be attributed to one person.")


# --- Database constraints --------------------------------------------------------------------


def test_org_wide_targets_are_unique_even_though_user_is_null(org):
    make(org).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        make(org, value=Decimal(5)).save()


def test_full_clean_reports_a_duplicate_clearly(org):
    make(org).save()
    assert errors_of(make(org, value=Decimal(5)))["__all__"] == [
        "The organisation already has a target for this metric and period."
    ]


def test_personal_targets_are_unique_per_person(org, colleague, owner):
    make(org).save()
    make(org, user=colleague).save()  # the org-wide and a personal target coexist
    make(org, user=owner).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        make(org, user=colleague, value=Decimal(1)).save()
    assert Target.objects.for_org(org).count() == 3
    assert Target.objects.for_org(org).org_wide().count() == 1


def test_other_organisations_may_have_the_same_target(org, other_org):
    make(org).save()
    make(other_org).save()
    assert Target.objects.for_org(other_org).count() == 1


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"value": Decimal(0)}, "target_value_positive"),
        ({"period_kind": "week"}, "target_period_kind_valid"),
        ({"period_start": D(2026, 11, 2)}, "target_period_starts_on_first"),
        ({"period_kind": "quarter", "period_start": D(2026, 2, 1)}, "target_quarter_aligned"),
    ],
)
def test_database_checks_back_up_validation(org, fields, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        make(org, **fields).save()


# --- Periods ---------------------------------------------------------------------------------


def test_period_bounds_and_labels():
    assert period_bounds("month", D(2028, 2, 1)) == (D(2028, 2, 1), D(2028, 2, 29))
    assert period_bounds("quarter", D(2026, 10, 1)) == (D(2026, 10, 1), D(2026, 12, 31))
    assert period_bounds("fiscal_year", D(2026, 7, 1)) == (D(2026, 7, 1), D(2027, 6, 30))
    assert period_label("month", D(2026, 7, 1)) == "Jul 2026"
    assert period_label("quarter", D(2026, 7, 1)) == "Jul–Sep 2026"
    assert period_label("fiscal_year", D(2026, 7, 1)) == "FY2027"


def test_aligned_start_for_a_custom_fiscal_year():
    assert aligned_start("fiscal_year", D(2026, 3, 31), 4) == D(2025, 4, 1)
    assert aligned_start("fiscal_year", D(2026, 4, 1), 4) == D(2026, 4, 1)
    assert aligned_start("quarter", D(2026, 8, 20)) == D(2026, 7, 1)
