"""A scheduled report can carry the sales-by-category chart: drawn as SVG in the PDF, with the
largest orders (their categories and kWh) as its records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from operations.models import OrderItem, Product
from reports.content import build_content
from reports.render import render_pdf
from tests.reports.conftest import make_report
from tests.reports.test_pdf import pages
from tests.targets.helpers import local, order

pytestmark = pytest.mark.django_db

AT = local(2026, 11, 20, 9)


def test_the_pdf_draws_sales_by_category_and_lists_the_orders(org, owner, tmp_path):
    battery = Product.objects.create(
        organization=org, sku="B", name="Battery", category="battery", unit_price_cents=500_000
    )
    the_order = order(org, AT - dt.timedelta(days=3), 1_000_000)
    OrderItem.objects.create(
        organization=org,
        order=the_order,
        product=battery,
        quantity=2,
        unit_price_cents=500_000,
        kwh=Decimal("20"),
    )
    report = make_report(org, owner, widgets=["sales_by_category"])
    content = build_content(report, AT)
    text = "\n".join(pages(render_pdf(content), tmp_path))
    assert "Sales by category" in text
    assert "Battery" in text
    assert "Largest orders" in text and "$10,000" in text
