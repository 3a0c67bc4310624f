"""The PDF: A4, page numbers, table headers repeated on every page, nothing cut off."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from metrics.definitions import METRICS
from presentation.svg import nice_ticks, render_figure, tick_label
from reports.content import build_content
from reports.render import render_pdf
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db
AT = dt.datetime(2026, 7, 5, 22, 0, tzinfo=dt.UTC)


def pages(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    count = int(
        next(line for line in info.stdout.splitlines() if line.startswith("Pages:")).split()[1]
    )
    assert "595.276 x 841.89 pts (A4)" in info.stdout
    return [
        subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in range(1, count + 1)
    ]


def test_a_long_report_repeats_table_headers_numbers_pages_and_cuts_nothing(org, owner, tmp_path):
    name = "Quarterly board pack for the directors " * 4
    report = make_report(
        org, owner, name=name.strip(), widgets=[f"kpi:{key}" for key in METRICS] + ["installations"]
    )
    content = build_content(report, AT)
    # A records table far longer than a page.
    content.records = [
        {
            "title": "Largest orders",
            "metric": "Revenue",
            "columns": [
                {"label": "Order", "numeric": False, "width": 30},
                {"label": "Customer", "numeric": False, "width": 50},
                {"label": "Total", "numeric": True, "width": 20},
            ],
            "rows": [
                [
                    {"text": f"SO-{i:05d}", "numeric": False},
                    {
                        "text": f"Customer with a rather long trading name number {i}",
                        "numeric": False,
                    },
                    {"text": f"${1000 + i:,}.00", "numeric": True},
                ]
                for i in range(150)
            ],
        }
    ]
    texts = pages(render_pdf(content), tmp_path)
    total = len(texts)
    assert total >= 5
    for n, text in enumerate(texts, start=1):
        assert f"Page {n} of {total}" in text
    everything = "\n".join(texts)
    for metric in METRICS.values():
        assert metric.label in everything
    for i in range(150):
        assert f"SO-{i:05d}" in everything
    table_pages = [t for t in texts if "SO-00" in t or "SO-001" in t]
    assert len(table_pages) >= 3
    for text in table_pages:
        assert "ORDER" in text and "CUSTOMER" in text and "TOTAL" in text  # header on each
    flat = "".join(texts[0].split())
    assert "".join(name.split()) in flat  # the whole long title, wrapped but not cut


def test_svg_axes_read_like_the_web_charts():
    assert nice_ticks(37) == [0, 10, 20, 30, 40]
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(11, whole=True) == [0, 5, 10, 15]  # never 2.5 jobs
    assert nice_ticks(3, whole=True) == [0, 1, 2, 3]
    assert tick_label(2_500_000, {"tickprefix": "$", "tickformat": "~s"}) == "$2.5M"
    assert tick_label(0.25, {"tickformat": ".0%"}) == "25%"
    assert tick_label(1200, {"ticksuffix": " kWh", "tickformat": ",.0f"}) == "1,200 kWh"


def test_svg_draws_grouped_bars_a_dotted_line_and_a_legend():
    figure = {
        "data": [
            {
                "type": "bar",
                "x": ["Lead", "Won"],
                "y": [3, 5],
                "name": "Now",
                "marker": {"color": "#0b6e4f"},
            },
            {
                "type": "bar",
                "x": ["Lead", "Won"],
                "y": [2, 4],
                "name": "Before",
                "marker": {"color": "#c9d1d9"},
            },
            {
                "type": "scatter",
                "x": ["Lead", "Won"],
                "y": [1, None],
                "name": "Trend <&>",
                "mode": "lines",
                "line": {"color": "#c27c0e", "dash": "dot"},
            },
        ],
        "layout": {"barmode": "group", "yaxis": {"tickformat": ",d"}},
    }
    svg = render_figure(figure, title="Pipeline")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 4 + 2  # four bars, two bar swatches in the legend
    assert ">5</text>" in svg and ">2.5</text>" not in svg
    assert 'stroke-dasharray="2 3"' in svg
    assert "Trend &lt;&amp;&gt;" in svg


def test_long_category_labels_are_cut_to_their_room_not_run_together():
    """Five customers on a 560 px chart (the ask page's): the y labels are one digit, so the
    plot is 560 - 18.2 - 12 = 529.8 px and each band 105.96 px, room for (105.96 - 4) / 6.2
    = 16 characters. A longer name is cut to 15 and "…"; one that fits is whole."""
    names = [
        "O'Brien Foods Pty Ltd",
        "Logan Foods & Co",
        "Chen Plastics",
        "Anderson Office Park Group",
        "Toowoomba Steel Fabrication",
    ]
    figure = {
        "data": [{"type": "bar", "x": names, "y": [5, 4, 3, 2, 1], "name": "Now"}],
        "layout": {"yaxis": {"tickformat": ",d"}},
    }
    svg = render_figure(figure, width=560, height=240, title="Top customers")
    assert ">O'Brien Foods P…</text>" in svg
    assert ">Logan Foods &amp; Co</text>" in svg
    assert ">Chen Plastics</text>" in svg
    assert ">Anderson Office…</text>" in svg
    assert ">Toowoomba Steel…</text>" in svg
    assert "Fabrication" not in svg
