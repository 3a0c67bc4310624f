"""What a recipient reads: the PDF's target column and the plain-text mail, worked out by hand.

The report is sent at 8:00 am on Mon 6 Jul 2026 in Sydney for "this month" (1–6 Jul, to date)
against the previous period (1–6 Jun, the same elapsed span). July has one order of $3.00M;
June has two, $1.50M and $1.00M: revenue is up 20.0 % ($3.00M against $2.50M), orders are down
50.0 % (1 against 2). The quarter's revenue target is $9.84M, so progress is
3.00 / 9.84 = 30.49 %, printed "30.5%"; 5 days and 8 hours of the quarter's 92 days expect
$570k by now, so the target is on track.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from decimal import Decimal

import pytest

from reports.content import build_content
from reports.mail import build_message
from reports.render import render_pdf
from targets.models import Target
from tests.reports.conftest import make_report
from tests.targets.helpers import local, order

pytestmark = pytest.mark.django_db
AT = dt.datetime(2026, 7, 5, 22, 0, tzinfo=dt.UTC)  # 8:00 am AEST on Mon 6 Jul 2026


@pytest.fixture
def report(org, owner):
    order(org, local(2026, 7, 2, 10), 300_000_000)
    order(org, local(2026, 6, 2, 10), 150_000_000)
    order(org, local(2026, 6, 3, 10), 100_000_000)
    Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="quarter",
        period_start=dt.date(2026, 7, 1),
        value=Decimal(984_000_000),
    )
    return make_report(org, owner, range_preset="this_month", widgets=["kpi:revenue", "kpi:orders"])


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def test_the_pdf_target_column_prints_progress_and_names_the_period(report, tmp_path):
    content = build_content(report, AT)
    revenue = content.kpis[0]
    assert revenue["value"] == "$3.00M"
    assert revenue["target"]["progress"] == "30.5%"
    assert revenue["target"]["heading"] == "Jul–Sep 2026 target: $9.84M"
    text = _text(render_pdf(content), tmp_path)
    assert "30.5% Jul–Sep 2026 target: $9.84M · On track" in text
    assert " % " not in f" {text} "  # never a bare percent sign without its number


def test_the_plain_text_mail_says_up_or_down(report):
    content = build_content(report, AT)
    body = build_message(content, "ceo@client.test", AT, b"%PDF", "report.pdf").body
    assert "- Revenue: $3.00M (up 20.0%, vs $2.50M previous period)" in body
    assert "- Orders: 1 (down 50.0%, vs 2 previous period)" in body
    # As of when the numbers were computed, in the one time format ("10:34 pm", not "p.m.").
    assert re.search(
        r"Data as of \d{1,2} \w{3} \d{4}, \d{1,2}:\d\d [ap]m \(Australia/Sydney\)", body
    )
