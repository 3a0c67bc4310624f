"""Drill-down export: every row as CSV or XLSX, amounts twice, and no formula ever runs."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dashboard.export import AUD_FORMAT, neutralise
from metrics.periods import parse_state
from operations.models import Activity, Customer, InstallationJob, Order

NOW = timezone.now().replace(microsecond=0)
HOSTILE = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tfoo", "\rbar"]


def drill_url(metric: str, **params) -> str:
    return reverse("drill-metric", args=[metric]) + "?" + urlencode(params)


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def xlsx_sheet(response):
    body = b"".join(response.streaming_content)
    workbook = load_workbook(io.BytesIO(body))
    return workbook, [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


@pytest.fixture
def orders(org):
    """130 revenue orders (more than two pages), six with hostile customer names, one draft."""
    plain = Customer.objects.create(
        organization=org, name="Acme Solar", kind="commercial", state="NSW"
    )
    hostile = [
        Customer.objects.create(organization=org, name=name, kind="builder", state="QLD")
        for name in HOSTILE
    ]
    rows = [
        Order(
            organization=org,
            customer=hostile[i] if i < len(hostile) else plain,
            number=f"SO-{i:04d}",
            status="fulfilled",
            ordered_at=NOW - dt.timedelta(hours=3 * i + 1),
            total_cents=1_234_567 + i,
        )
        for i in range(130)
    ]
    Order.objects.bulk_create(rows)
    Order.objects.create(
        organization=org,
        customer=plain,
        number="SO-DRAFT",
        status="draft",
        ordered_at=NOW - dt.timedelta(hours=1),
        total_cents=1,
    )
    return rows


def test_csv_holds_every_row_with_amounts_formatted_and_in_cents(client, owner, org, orders):
    client.force_login(owner)
    response = client.get(
        drill_url("revenue", range="last_30_days", compare="previous_period", format="csv")
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header == [
        "ID",
        "Order",
        "Customer",
        "Status",
        f"Ordered ({org.timezone})",
        "Categories",
        "kWh",
        "Total (AUD)",
        "Total (cents)",
    ]
    assert len(body) == 130
    by_number = {row[1]: row for row in body}
    assert "SO-DRAFT" not in by_number
    first = by_number["SO-0000"]
    assert first[7] == "$12,345.67" and first[8] == "1234567"
    assert first[5] == "" and first[6] == "0"  # no items: no category, no kWh
    assert first[4] == (NOW - dt.timedelta(hours=1)).astimezone(org.tz).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert sum(int(row[8]) for row in body) == sum(o.total_cents for o in orders)


def test_csv_neutralises_every_formula_like_customer_name(client, owner, orders):
    client.force_login(owner)
    response = client.get(drill_url("revenue", range="last_30_days", format="csv", sort="-total"))
    names = {row[2] for row in csv_rows(response)[1:]}
    for name in HOSTILE:
        assert "'" + name in names
        assert name not in names
    assert "Acme Solar" in names


def test_xlsx_holds_every_row_keeps_cents_numeric_and_neutralises_text(client, owner, org, orders):
    client.force_login(owner)
    response = client.get(drill_url("revenue", range="last_30_days", format="xlsx"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook, rows = xlsx_sheet(response)
    header, body = rows[0], rows[1:]
    assert header[-2:] == ["Total (AUD)", "Total (cents)"]
    assert len(body) == 130
    cents = [row[-1] for row in body]
    assert all(isinstance(v, int) for v in cents)
    assert sum(cents) == sum(o.total_cents for o in orders)
    # Money is a number in dollars with the AUD currency format, not the text "$12,345.68".
    assert {row[-2] for row in body if row[1] == "SO-0001"} == {12345.68}
    sheet = workbook.worksheets[0]
    money = [r[-2] for r in sheet.iter_rows(min_row=2)]
    assert {(c.data_type, c.number_format) for c in money} == {("n", AUD_FORMAT)}
    assert sum(c.value for c in money) == pytest.approx(sum(o.total_cents for o in orders) / 100)
    ordered = body[0][4]
    assert isinstance(ordered, dt.datetime) and ordered.tzinfo is None
    # XML parsers read a stored carriage return back as a line feed.
    names = {row[2].replace("\n", "\r") for row in body}
    # Typed as text: shown exactly as written, without a visible apostrophe, never run.
    for name in HOSTILE:
        assert name in names, name
    sheet = workbook.worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    about = dict(workbook["About"].iter_rows(values_only=True))
    assert about["Rows"] == 130
    assert about["Value"] == pytest.approx(sum(o.total_cents for o in orders) / 100)
    assert about["Value (cents)"] == sum(o.total_cents for o in orders)


def test_activity_subjects_and_kwh_export_safely(client, owner, org):
    customer = Customer.objects.create(
        organization=org, name="@Farm", kind="agricultural", state="WA"
    )
    Activity.objects.create(
        organization=org,
        kind="call",
        subject='=cmd|" /C calc"!A0',
        customer=customer,
        occurred_at=NOW - dt.timedelta(hours=2),
    )
    client.force_login(owner)
    rows = csv_rows(client.get(drill_url("activities", range="last_7_days", format="csv")))
    assert rows[1][2] == '\'=cmd|" /C calc"!A0'
    assert rows[1][3] == "'@Farm"

    order = Order.objects.create(
        organization=org,
        customer=customer,
        number="SO-J",
        status="fulfilled",
        ordered_at=NOW - dt.timedelta(days=3),
        total_cents=10,
    )
    InstallationJob.objects.create(
        organization=org,
        order=order,
        customer=customer,
        status="completed",
        scheduled_for=NOW - dt.timedelta(days=2),
        created_at=NOW - dt.timedelta(days=2),
        completed_at=NOW - dt.timedelta(hours=5),
        kwh=Decimal("13.50"),
        labor_hours=Decimal("6.25"),
    )
    _, xrows = xlsx_sheet(client.get(drill_url("kwh_deployed", range="last_7_days", format="xlsx")))
    assert xrows[0][-2:] == ["kWh", "Labour hours"]
    assert xrows[1][-2:] == [13.5, 6.25]
    assert xrows[0][:3] == ["ID", "Customer", "Order"]  # the Job column would repeat the ID
    assert xrows[1][1] == "@Farm"  # typed as text: shown as written, never run


def test_export_filename_names_the_metric_and_the_dates(client, owner, orders):
    client.force_login(owner)
    params = {"from": "2026-07-01", "to": "2026-09-30", "compare": "none"}
    csv_response = client.get(drill_url("revenue", format="csv", **params))
    xlsx_response = client.get(drill_url("average_order_value", format="xlsx", **params))
    assert csv_response["Content-Disposition"] == (
        'attachment; filename="renoz-revenue-2026-07-01-to-2026-09-30.csv"'
    )
    assert (
        'filename="renoz-average-order-value-2026-07-01-to-2026-09-30.xlsx"'
        in (xlsx_response["Content-Disposition"])
    )


def test_export_follows_the_search_and_the_comparison_period(client, owner, org, orders):
    client.force_login(owner)
    searched = csv_rows(
        client.get(drill_url("revenue", range="last_30_days", q="acme", format="csv"))
    )
    assert len(searched) - 1 == 130 - len(HOSTILE)
    params = {"range": "last_7_days", "compare": "previous_period"}
    window = parse_state(params, org).comparison
    previous = csv_rows(
        client.get(drill_url("revenue", period="comparison", format="csv", **params))
    )
    expected = {o.number for o in orders if window.start_at <= o.ordered_at < window.end_at}
    assert expected and {row[1] for row in previous[1:]} == expected


def test_unknown_format_is_a_400(client, owner):
    client.force_login(owner)
    response = client.get(drill_url("revenue", range="last_30_days", format="pdf"))
    assert response.status_code == 400
    assert "Accepted: csv, xlsx" in response.content.decode()


def test_csv_streams_in_chunks_without_loading_everything(
    client, owner, orders, django_assert_max_num_queries
):
    client.force_login(owner)
    response = client.get(drill_url("revenue", range="last_30_days", format="csv"))
    # The rows' one SELECT, plus the export's own bounds: SET LOCAL statement_timeout inside
    # its transaction (a savepoint and its release inside a test's transaction).
    with django_assert_max_num_queries(4):
        chunks = list(response.streaming_content)
    assert len(chunks) == 131  # a header and one line per row, produced lazily


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+61 2 9999 0000", "'+61 2 9999 0000"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tfoo", "'\tfoo"),
        ("\rbar", "'\rbar"),
        (" =1+1", "' =1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("＝1+1", "'＝1+1"),
        ("＠SUM(A1)", "'＠SUM(A1)"),
        ("Acme = good", "Acme = good"),
        ("", ""),
    ],
)
def test_neutralise(text, expected):
    assert neutralise(text) == expected


def test_a_month_to_date_export_says_it_ends_today_not_at_the_month_end(client, owner, org):
    # Two orders this month: $100.00 yesterday or earlier today and $250.50 now (hand-added:
    # $350.50). The month runs to its last day, but the rows end today.
    today = timezone.now().astimezone(org.tz).date()
    buyer = Customer.objects.create(organization=org, name="Acme", kind="commercial", state="NSW")
    start = dt.datetime.combine(today.replace(day=1), dt.time(0, 0, 1), tzinfo=org.tz)
    for number, cents, at in (("SO-1", 10_000, start), ("SO-2", 25_050, NOW)):
        Order.objects.create(
            organization=org,
            customer=buyer,
            number=number,
            status="confirmed",
            ordered_at=at,
            total_cents=cents,
        )
    client.force_login(owner)
    month_start = today.replace(day=1).isoformat()
    xlsx = client.get(drill_url("revenue", range="this_month", format="xlsx"))
    assert xlsx["Content-Disposition"].endswith(
        f'filename="renoz-revenue-{month_start}-to-{today.isoformat()}.xlsx"'
    )
    workbook, rows = xlsx_sheet(xlsx)
    about = dict(workbook["About"].iter_rows(values_only=True))
    assert (about["From"], about["To"]) == (month_start, today.isoformat())
    assert about["Value"] == 350.5
    value_cell = next(r[1] for r in workbook["About"].iter_rows() if r[0].value == "Value")
    assert (value_cell.data_type, value_cell.number_format) == ("n", AUD_FORMAT)
    assert sorted(row[-2] for row in rows[1:]) == [100, 250.5]
    # The CSV is unchanged: the amount as the dashboard prints it, then the cents.
    csv_response = client.get(drill_url("revenue", range="this_month", format="csv"))
    assert f"-to-{today.isoformat()}.csv" in csv_response["Content-Disposition"]
    header, *body = csv_rows(csv_response)
    total = header.index("Total (AUD)")  # then "Total (cents)"
    assert sorted((row[total], row[total + 1]) for row in body) == [
        ("$100.00", "10000"),
        ("$250.50", "25050"),
    ]
