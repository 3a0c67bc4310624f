"""Xero's JSON for the fake's records, with the fields and statuses Xero documents
(Accounting API: Invoices, CreditNotes, Payments, Contacts)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal


def ms_date(value: dt.date | dt.datetime) -> str:
    """Xero's JSON date, `/Date(<ms since the epoch>+0000)/`."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return f"/Date({int(value.timestamp() * 1000)}+0000)/"


def money(cents: int) -> float:
    return float(Decimal(cents) / 100)


def new_id() -> str:
    return str(uuid.uuid4())


def contact(name: str, contact_id: str | None = None) -> dict:
    return {
        "ContactID": contact_id or new_id(),
        "Name": name,
        "ContactStatus": "ACTIVE",
        "IsCustomer": True,
        "IsSupplier": False,
    }


def _lines(lines: list[tuple[int, int]]) -> list[dict]:
    return [
        {
            "LineItemID": new_id(),
            "Description": f"Line {n}",
            "Quantity": 1.0,
            "UnitAmount": money(ex),
            "LineAmount": money(ex),
            "TaxType": "OUTPUT",
            "TaxAmount": money(tax),
            "AccountCode": "200",
        }
        for n, (ex, tax) in enumerate(lines, 1)
    ]


def invoice(
    *,
    number: str,
    contact_json: dict,
    date: dt.date,
    lines: list[tuple[int, int]],  # (ex-GST cents, GST cents) per line
    reference: str = "",
    status: str = "AUTHORISED",
    invoice_type: str = "ACCREC",
    amount_paid_cents: int = 0,
    invoice_id: str | None = None,
) -> dict:
    sub_total = sum(ex for ex, _ in lines)
    tax = sum(t for _, t in lines)
    return {
        "Type": invoice_type,
        "InvoiceID": invoice_id or new_id(),
        "InvoiceNumber": number,
        "Reference": reference,
        "Contact": {"ContactID": contact_json["ContactID"], "Name": contact_json["Name"]},
        "Date": ms_date(date),
        "DateString": f"{date.isoformat()}T00:00:00",
        "DueDate": ms_date(date + dt.timedelta(days=30)),
        "Status": status,
        "LineAmountTypes": "Exclusive",
        "LineItems": _lines(lines),
        "SubTotal": money(sub_total),
        "TotalTax": money(tax),
        "Total": money(sub_total + tax),
        "AmountDue": money(sub_total + tax - amount_paid_cents),
        "AmountPaid": money(amount_paid_cents),
        "AmountCredited": 0.0,
        "CurrencyCode": "AUD",
        "CurrencyRate": 1.0,
    }


def credit_note(
    *,
    number: str,
    contact_json: dict,
    date: dt.date,
    lines: list[tuple[int, int]],
    allocations: tuple[tuple[dict, int], ...] = (),  # (invoice JSON, GST-inclusive cents)
    status: str = "AUTHORISED",
) -> dict:
    sub_total = sum(ex for ex, _ in lines)
    tax = sum(t for _, t in lines)
    return {
        "Type": "ACCRECCREDIT",
        "CreditNoteID": new_id(),
        "CreditNoteNumber": number,
        "Contact": {"ContactID": contact_json["ContactID"], "Name": contact_json["Name"]},
        "Date": ms_date(date),
        "Status": status,
        "LineAmountTypes": "Exclusive",
        "LineItems": _lines(lines),
        "SubTotal": money(sub_total),
        "TotalTax": money(tax),
        "Total": money(sub_total + tax),
        "RemainingCredit": money(sub_total + tax - sum(c for _, c in allocations)),
        "CurrencyCode": "AUD",
        "Allocations": [
            {
                "Amount": money(cents),
                "Date": ms_date(date),
                "Invoice": {"InvoiceID": inv["InvoiceID"], "InvoiceNumber": inv["InvoiceNumber"]},
            }
            for inv, cents in allocations
        ],
    }


def payment(
    *, invoice_json: dict, date: dt.date, amount_cents: int, status: str = "AUTHORISED"
) -> dict:
    return {
        "PaymentID": new_id(),
        "Date": ms_date(date),
        "Amount": money(amount_cents),
        "Reference": "",
        "Status": status,
        "PaymentType": "ACCRECPAYMENT",
        "Invoice": {
            "InvoiceID": invoice_json["InvoiceID"],
            "InvoiceNumber": invoice_json["InvoiceNumber"],
            "Type": invoice_json["Type"],
            "Contact": invoice_json["Contact"],
        },
    }
