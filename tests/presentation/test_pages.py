"""The vocabulary on the page: a custom range's dates once, and "as of" in one time format."""

from __future__ import annotations

import html
import re

import pytest

pytestmark = pytest.mark.django_db


def _header(content: str) -> str:
    period = re.search(r'<p class="dash-period">(.*?)</p>', content, re.S)
    assert period is not None
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", period.group(1))).split())


def test_a_custom_range_prints_its_dates_once(client, owner):
    client.force_login(owner)
    content = client.get("/dashboard/?from=2026-09-01&to=2026-10-15&compare=none").content
    header = _header(content.decode())
    assert header == "1 Sep – 15 Oct 2026"


def test_a_preset_prints_its_name_then_its_dates(client, owner):
    client.force_login(owner)
    content = client.get("/dashboard/?range=last_month&compare=previous_year").content.decode()
    header = _header(content)
    assert header.startswith("Last full month ")
    assert header.count("Last full month") == 1
    assert "vs previous year ·" in header


def test_as_of_reads_am_or_pm_never_p_m(client, owner):
    client.force_login(owner)
    content = client.get("/dashboard/?range=this_month").content.decode()
    as_of = re.search(r'<time id="as-of-time">([^<]*)</time>', content)
    assert as_of is not None
    assert re.fullmatch(r"\d{1,2}:\d\d [ap]m AE[SD]T", as_of.group(1))
