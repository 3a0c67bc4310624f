"""The accounting records synced from Xero, and what matching made of them (docs/xero.md).

Every row keeps Xero's id (unique per organisation, the key every upsert uses) and the raw
JSON Xero sent, so a field we do not model yet is never lost. Money is integer cents; Xero's
`SubTotal` is always ex GST, whatever the invoice's `LineAmountTypes`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from accounts.tenancy import OrgQuerySet


class XeroConnection(models.Model):
    """An organisation's link to its Xero organisation (a custom connection). The access
    token is stored encrypted (xero/crypto.py) and never logged."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="xero_connection"
    )
    tenant_id = models.CharField(max_length=64, blank=True)
    tenant_name = models.CharField(max_length=200, blank=True)
    token_ciphertext = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    connected_at = models.DateTimeField(default=timezone.now)

    objects = OrgQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Xero connection of organisation {self.organization_id}"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class XeroSyncRun(models.Model):
    """One sync of one organisation. A failed run is what the system alert reads
    (docs/xero.md, "When a sync fails")."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    full = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    calls = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-started_at"], name="xero_run_org_started"),
            models.Index(fields=["status", "-started_at"], name="xero_run_status_started"),
        ]

    def __str__(self) -> str:
        return f"Xero sync {self.pk} ({self.status})"


class XeroSyncCursor(models.Model):
    """Where the sync of one endpoint stands: the If-Modified-Since of the pass under way
    and the next page to fetch (so a crashed pass resumes there), and the highest
    `UpdatedDateUTC` seen, which the next pass starts from."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=20)
    high_water = models.DateTimeField(null=True, blank=True)
    pass_since = models.DateTimeField(null=True, blank=True)
    next_page = models.PositiveIntegerField(default=1)  # 1: no pass under way

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "endpoint"], name="xero_cursor_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} since {self.high_water}"


class XeroContact(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    xero_id = models.UUIDField()
    name = models.CharField(max_length=255, blank=True)
    # Kept once a match maps the contact to a customer (docs/xero.md, "Matching").
    customer = models.ForeignKey(
        "operations.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "xero_id"], name="xero_contact_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class XeroInvoice(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    xero_id = models.UUIDField()
    number = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    contact_xero_id = models.UUIDField(null=True, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=10)
    status = models.CharField(max_length=12)
    date = models.DateField()
    dated_at = models.DateTimeField()  # local midnight of `date` in the organisation's zone
    line_amount_types = models.CharField(max_length=12, blank=True)
    sub_total_cents = models.BigIntegerField()
    total_tax_cents = models.BigIntegerField()
    total_cents = models.BigIntegerField()
    line_count = models.PositiveIntegerField(default=1)
    updated_utc = models.DateTimeField()
    counts = models.BooleanField()  # xero.rules.invoice_counts
    raw = models.JSONField()

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "xero_id"], name="xero_invoice_uniq")
        ]
        indexes = [
            models.Index(fields=["organization", "dated_at"], name="xero_invoice_org_dated"),
        ]

    def __str__(self) -> str:
        return self.number or str(self.xero_id)


class XeroCreditNote(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    xero_id = models.UUIDField()
    number = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=12)
    status = models.CharField(max_length=12)
    date = models.DateField()
    dated_at = models.DateTimeField()
    sub_total_cents = models.BigIntegerField()
    total_tax_cents = models.BigIntegerField()
    total_cents = models.BigIntegerField()
    # [{"invoice": xero id, "amount_cents": GST-inclusive amount allocated}]
    allocations = models.JSONField(default=list)
    updated_utc = models.DateTimeField()
    counts = models.BooleanField()  # xero.rules.credit_note_counts
    raw = models.JSONField()

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "xero_id"], name="xero_credit_uniq")
        ]
        indexes = [models.Index(fields=["organization", "dated_at"], name="xero_credit_org_dated")]

    def __str__(self) -> str:
        return self.number or str(self.xero_id)


class XeroPayment(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    xero_id = models.UUIDField()
    invoice_xero_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=12)
    payment_type = models.CharField(max_length=24, blank=True)
    date = models.DateField()
    dated_at = models.DateTimeField()
    amount_cents = models.BigIntegerField()
    updated_utc = models.DateTimeField()
    counts = models.BooleanField()  # xero.rules.payment_counts
    raw = models.JSONField()

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "xero_id"], name="xero_payment_uniq")
        ]
        indexes = [models.Index(fields=["organization", "dated_at"], name="xero_payment_org_dated")]

    def __str__(self) -> str:
        return str(self.xero_id)


class MatchRule(models.TextChoices):
    REFERENCE = "reference", "Order number in the invoice's Reference or InvoiceNumber"
    CUSTOMER_AMOUNT = "customer_amount", "Same customer, amount within tolerance, date in window"


class XeroMatch(models.Model):
    """An order and an invoice that belong together, and the rule that said so. An order with
    several invoices is split; an invoice with several orders is consolidated."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey("operations.Order", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(XeroInvoice, on_delete=models.CASCADE, related_name="matches")
    rule = models.CharField(max_length=20, choices=MatchRule.choices)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "invoice"], name="xero_match_uniq")]
        indexes = [models.Index(fields=["organization", "order"], name="xero_match_org_order")]

    def __str__(self) -> str:
        return f"{self.order_id} ~ {self.invoice_id} ({self.rule})"


class ExceptionKind(models.TextChoices):
    NOT_INVOICED = "not_invoiced", "Not invoiced"
    NO_ORDER = "no_order", "Invoiced with no order"
    AMOUNT_MISMATCH = "amount_mismatch", "Amount mismatch"
    TAX_MISMATCH = "tax_mismatch", "GST mismatch"


class XeroException(models.Model):
    """A difference between the orders and the books, as the last matching found it. `key`
    stays the same across re-matching, so notes stay with their exception."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=ExceptionKind.choices)
    order = models.ForeignKey(
        "operations.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        XeroInvoice, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    since = models.DateTimeField()  # when the difference began: the order's or invoice's date
    order_cents = models.BigIntegerField(default=0)  # ex GST
    invoice_cents = models.BigIntegerField(default=0)  # ex GST, net of credit notes
    tax_cents = models.BigIntegerField(default=0)
    expected_tax_cents = models.BigIntegerField(default=0)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="xero_exception_uniq")
        ]
        indexes = [
            models.Index(fields=["organization", "kind", "since"], name="xero_exc_org_kind_since")
        ]

    def __str__(self) -> str:
        return self.key


class ReconciliationNote(models.Model):
    """An admin's note on an exception (audited, infra/audit)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    exception_key = models.CharField(max_length=80)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrgQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "exception_key"], name="xero_note_org_key")]

    def __str__(self) -> str:
        return self.text[:40]
