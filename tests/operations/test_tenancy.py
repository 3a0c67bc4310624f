"""An outsider's rows are never reachable: not through the tenancy helpers, not through the admin.

Each test has an owner (staff in the admin tests), and an outsider from another organisation
whose rows carry the word "Quokka"; the owner's carry "Kookaburra". Seeing "Quokka" anywhere in
the owner's responses is a leak.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django.urls import reverse

from accounts.models import Organization, User
from accounts.tenancy import get_for_user_or_404, scoped
from operations.models import (
    Activity,
    Customer,
    InstallationJob,
    Opportunity,
    Order,
    OrderItem,
    Product,
    WarrantyClaim,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
OPERATIONS_MODELS = [
    Customer,
    Product,
    Opportunity,
    Order,
    OrderItem,
    Activity,
    InstallationJob,
    WarrantyClaim,
]
OWN, FOREIGN = "Kookaburra", "Quokka"


def make_records(org: Organization, user: User, word: str) -> SimpleNamespace:
    """One row of every operational model in `org`, each findable by `word`."""
    customer = Customer.objects.create(
        organization=org, name=f"{word} Cold Storage", kind="industrial", state="NSW"
    )
    product = Product.objects.create(
        organization=org,
        sku=f"SKU-{word.upper()}",
        name=f"{word} LFP 10 kWh",
        category="battery",
        capacity_kwh=Decimal("10.00"),
        unit_price_cents=850_000,
    )
    opportunity = Opportunity.objects.create(
        organization=org,
        customer=customer,
        owner=user,
        name=f"{word} backup power",
        stage="quoted",
        value_cents=4_000_000,
        probability=60,
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        opportunity=opportunity,
        number=f"SO-{word.upper()}",
        status="confirmed",
        ordered_at=T0,
        total_cents=1_700_000,
    )
    item = OrderItem.objects.create(
        organization=org, order=order, product=product, quantity=2, unit_price_cents=850_000
    )
    activity = Activity.objects.create(
        organization=org,
        user=user,
        kind="call",
        customer=customer,
        subject=f"{word} intro call",
        occurred_at=T0,
    )
    job = InstallationJob.objects.create(
        organization=org, order=order, customer=customer, technician=user, scheduled_for=T0
    )
    claim = WarrantyClaim.objects.create(
        organization=org,
        customer=customer,
        order=order,
        product=product,
        kind="defect",
        opened_at=T0,
    )
    return SimpleNamespace(
        customer=customer,
        product=product,
        opportunity=opportunity,
        order=order,
        item=item,
        activity=activity,
        job=job,
        claim=claim,
    )


def row_of(records: SimpleNamespace, model) -> object:
    return next(r for r in vars(records).values() if type(r) is model)


@pytest.fixture
def own(org, owner):
    return make_records(org, owner, OWN)


@pytest.fixture
def foreign(other_org, outsider):
    return make_records(other_org, outsider, FOREIGN)


# --- tenancy helpers --------------------------------------------------------------------


@pytest.mark.parametrize("model", OPERATIONS_MODELS, ids=lambda m: m.__name__)
def test_for_org_returns_only_that_organisations_rows(model, org, other_org, own, foreign):
    assert list(model.objects.for_org(org)) == [row_of(own, model)]
    assert list(model.objects.for_org(other_org.pk)) == [row_of(foreign, model)]


@pytest.mark.parametrize("model", OPERATIONS_MODELS, ids=lambda m: m.__name__)
def test_for_user_and_scoped_return_only_the_users_rows(model, owner, outsider, own, foreign):
    assert list(model.objects.for_user(owner)) == [row_of(own, model)]
    assert list(scoped(model, owner)) == [row_of(own, model)]
    assert list(scoped(model.objects.all(), outsider)) == [row_of(foreign, model)]


@pytest.mark.parametrize("model", OPERATIONS_MODELS, ids=lambda m: m.__name__)
def test_anonymous_user_sees_nothing(model, own, foreign):
    anonymous = AnonymousUser()
    assert not model.objects.for_user(anonymous).exists()
    assert not scoped(model, anonymous).exists()
    with pytest.raises(Http404):
        get_for_user_or_404(model, anonymous, pk=row_of(own, model).pk)


@pytest.mark.parametrize("model", OPERATIONS_MODELS, ids=lambda m: m.__name__)
def test_get_for_user_or_404_loads_own_row(model, owner, own, foreign):
    row = row_of(own, model)
    assert get_for_user_or_404(model, owner, pk=row.pk) == row
    assert get_for_user_or_404(model, owner, pk=str(row.pk)) == row


@pytest.mark.parametrize("model", OPERATIONS_MODELS, ids=lambda m: m.__name__)
def test_get_for_user_or_404_hides_another_organisations_row(model, owner, own, foreign):
    with pytest.raises(Http404):
        get_for_user_or_404(model, owner, pk=row_of(foreign, model).pk)


def test_get_for_user_or_404_scopes_a_given_queryset(owner, own, foreign):
    everything = Customer.objects.all()
    assert get_for_user_or_404(everything, owner, pk=own.customer.pk) == own.customer
    with pytest.raises(Http404):
        get_for_user_or_404(everything, owner, pk=foreign.customer.pk)
    with pytest.raises(Http404):
        get_for_user_or_404(everything, owner, name=foreign.customer.name)


@pytest.mark.parametrize(
    "bad_id", ["abc", "1;DROP TABLE operations_customer", "1 OR 1=1", "", "-1", "9" * 30, None]
)
def test_get_for_user_or_404_treats_a_malformed_id_as_missing(owner, own, foreign, bad_id):
    with pytest.raises(Http404):
        get_for_user_or_404(Customer, owner, pk=bad_id)
    assert Customer.objects.count() == 2


# --- Django admin -----------------------------------------------------------------------

ADMIN_MODELS = [Customer, Product, Opportunity, Order, Activity, InstallationJob, WarrantyClaim]


@pytest.fixture
def staff_client(client, owner):
    """The owner as plain staff (not superuser) with every permission on the operations models."""
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    content_types = ContentType.objects.filter(app_label="operations")
    owner.user_permissions.set(
        Permission.objects.filter(
            content_type__in=content_types, codename__regex=r"^(view|add|change|delete)_"
        )
    )
    client.force_login(owner)
    return client


def admin_url(model, action: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_staff_owner_is_not_superuser(staff_client, owner):
    owner.refresh_from_db()
    assert owner.is_staff and not owner.is_superuser
    assert owner.has_perm("operations.change_customer")


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_admin_changelist_lists_only_own_rows(staff_client, model, own, foreign):
    response = staff_client.get(admin_url(model, "changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    # Job and claim rows show their customer; every other model shows its own name or number.
    assert OWN in html
    assert FOREIGN not in html
    assert response.context["cl"].result_count == 1
    assert list(response.context["cl"].result_list) == [row_of(own, model)]


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_admin_search_does_not_reach_another_organisation(staff_client, model, own, foreign):
    response = staff_client.get(admin_url(model, "changelist"), {"q": FOREIGN})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    html = response.content.decode()
    # The search box echoes "Quokka" back, so look for the rows' full strings instead.
    for text in (f"{FOREIGN} Cold Storage", f"SKU-{FOREIGN.upper()}", f"{FOREIGN} intro call"):
        assert text not in html


@pytest.mark.parametrize("action", ["change", "delete", "history"])
@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_admin_pages_of_another_organisations_row_are_missing(
    staff_client, model, action, own, foreign
):
    row = row_of(foreign, model)
    response = staff_client.get(admin_url(model, action, row.pk), follow=True)
    html = response.content.decode()
    assert response.redirect_chain, "expected a redirect to the admin index, not the page"
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert "doesn’t exist" in html
    assert FOREIGN not in html
    assert model.objects.filter(pk=row.pk).exists()


def test_admin_cannot_change_another_organisations_row_by_post(staff_client, own, foreign):
    url = admin_url(Customer, "change", foreign.customer.pk)
    response = staff_client.post(url, {"name": "Hijacked", "kind": "commercial", "state": "VIC"})
    assert response.status_code == 302
    foreign.customer.refresh_from_db()
    assert foreign.customer.name == f"{FOREIGN} Cold Storage"


def test_admin_own_change_page_shows_the_row(staff_client, own, foreign):
    response = staff_client.get(admin_url(Order, "change", own.order.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert own.order.number in html
    assert FOREIGN not in html


def test_admin_add_form_organisation_dropdown_lists_only_own_organisation(
    staff_client, org, own, foreign
):
    response = staff_client.get(admin_url(Customer, "add"))
    field = response.context["adminform"].form.fields["organization"]
    assert list(field.queryset) == [org]
    assert "Outsider Pty Ltd" not in response.content.decode()


@pytest.mark.parametrize(
    ("model", "fk"),
    [
        (Opportunity, "customer"),
        (Order, "customer"),
        (Order, "opportunity"),
        (Activity, "customer"),
        (InstallationJob, "customer"),
        (InstallationJob, "order"),
        (WarrantyClaim, "customer"),
        (WarrantyClaim, "product"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_admin_add_form_foreign_keys_offer_only_own_rows(staff_client, model, fk, own, foreign):
    response = staff_client.get(admin_url(model, "add"))
    field = response.context["adminform"].form.fields[fk]
    target = field.queryset.model
    assert list(field.queryset) == [row_of(own, target)]
    assert FOREIGN not in response.content.decode()


def test_admin_add_refuses_another_organisations_customer(staff_client, org, own, foreign):
    response = staff_client.post(
        admin_url(Opportunity, "add"),
        {
            "organization": org.pk,
            "customer": foreign.customer.pk,
            "name": "Smuggled deal",
            "stage": "lead",
            "value_cents": 100,
            "probability": 10,
            "created_at_0": "2026-03-02",
            "created_at_1": "09:00:00",
        },
    )
    assert response.status_code == 200
    assert "customer" in response.context["adminform"].form.errors
    assert not Opportunity.objects.filter(name="Smuggled deal").exists()


def test_admin_add_saves_into_own_organisation(staff_client, org, other_org, own, foreign):
    response = staff_client.post(
        admin_url(Customer, "add"),
        {
            "organization": org.pk,
            "name": "Brand New Pty Ltd",
            "kind": "commercial",
            "state": "QLD",
            "created_at_0": "2026-03-02",
            "created_at_1": "09:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Customer.objects.get(name="Brand New Pty Ltd").organization == org


def test_admin_order_item_inline_organisation_dropdown_lists_only_own_organisation(
    staff_client, org, own, foreign
):
    response = staff_client.get(admin_url(Order, "change", own.order.pk))
    formset = response.context["inline_admin_formsets"][0].formset
    assert "organization" not in formset.forms[0].fields  # items take their order's organisation
    assert "Outsider Pty Ltd" not in response.content.decode()


def test_admin_order_item_inline_offers_only_own_products(staff_client, own, foreign):
    response = staff_client.get(admin_url(Order, "change", own.order.pk))
    formset = response.context["inline_admin_formsets"][0].formset
    assert list(formset.forms[0].fields["product"].queryset) == [own.product]


def test_admin_staff_cannot_make_itself_superuser(client, org, owner, foreign):
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    owner.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_user", "change_user"]
        )
    )
    client.force_login(owner)
    client.post(
        admin_url(User, "change", owner.pk),
        {
            "email": owner.email,
            "full_name": owner.full_name,
            "organization": org.pk,
            "role": owner.role,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )
    owner.refresh_from_db()
    assert not owner.is_superuser
    assert FOREIGN not in client.get(admin_url(Customer, "changelist")).content.decode()
