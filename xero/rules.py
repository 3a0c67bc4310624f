"""What counts in the books, written once (docs/xero.md, "What counts").

The sync stores each row's `counts` from these rules; matching and the ledger's event view
(metrics/sql/events/ledger.sql) read that flag, so no other file spells a Xero status.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SALES_INVOICE = "ACCREC"  # Xero's type of a sales invoice (ACCPAY is a bill)
SALES_CREDIT_NOTE = "ACCRECCREDIT"
# Issued documents. DRAFT and SUBMITTED are not issued yet; VOIDED and DELETED never count.
ISSUED = ("AUTHORISED", "PAID")
PAYMENT_COUNTED = ("AUTHORISED",)  # a DELETED payment was reversed
GST_RATE = Decimal("0.10")

# Matching (docs/xero.md, "Matching").
AMOUNT_TOLERANCE_CENTS = 100  # a customer-and-amount match: within $1 ex GST ...
AMOUNT_TOLERANCE_RATIO = Decimal("0.005")  # ... or 0.5 %, whichever is larger
DATE_WINDOW_DAYS = 45  # invoice dated from 7 days before to 45 days after the order
DATE_WINDOW_BEFORE_DAYS = 7
# A referenced order and its invoices agree when their ex-GST totals differ by at most this.
REFERENCE_TOLERANCE_CENTS = 1


def invoice_counts(invoice_type: str, status: str) -> bool:
    return invoice_type == SALES_INVOICE and status in ISSUED


def credit_note_counts(note_type: str, status: str) -> bool:
    return note_type == SALES_CREDIT_NOTE and status in ISSUED


def payment_counts(status: str, invoice_type: str | None) -> bool:
    return status in PAYMENT_COUNTED and invoice_type in (None, SALES_INVOICE)


def amount_tolerance(cents: int) -> int:
    return max(
        AMOUNT_TOLERANCE_CENTS,
        int((Decimal(abs(cents)) * AMOUNT_TOLERANCE_RATIO).to_integral_value(ROUND_HALF_UP)),
    )


def expected_gst(sub_total_cents: int) -> int:
    return int((Decimal(sub_total_cents) * GST_RATE).to_integral_value(ROUND_HALF_UP))


def gst_agrees(sub_total_cents: int, total_tax_cents: int, line_count: int) -> bool:
    """GST is 10 % of the ex-GST amount; Xero rounds per line, so each line may move it by
    half a cent."""
    allowed = max(1, (line_count + 1) // 2)
    return abs(total_tax_cents - expected_gst(sub_total_cents)) <= allowed
