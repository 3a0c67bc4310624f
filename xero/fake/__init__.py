"""A fake Xero, written by us, for the tests and the demo (docs/xero.md, "The fake Xero").

`FakeXero` holds sales invoices, credit notes, payments and contacts as Xero's JSON, and serves
them over HTTP (werkzeug) with Xero's paging, If-Modified-Since, client-credentials tokens that
expire, and, when asked, 429s with Retry-After and the remaining-calls headers.
"""

from xero.fake.builders import contact, credit_note, invoice, payment
from xero.fake.server import FakeXero

__all__ = ["FakeXero", "contact", "credit_note", "invoice", "payment"]
