"""Every report's PDF lays out like a printed document (issue 26, item 8): no section heading is
left at the foot of a page without what it introduces, and no word of the data is broken
across lines ("Performa/nce", "Approve/d"). Each report is rendered to PNG pages (pdftoppm,
saved to artifacts/report-pages/ to look at) and its text is read back with its positions
(`pdftotext -bbox-layout`)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organization, Role
from metrics.definitions import METRICS
from reports.content import build_content
from reports.models import ScheduledReport
from reports.render import render_pdf
from reports.seeding import seed_demo_reports
from tests.operations.test_seed import purge
from tests.reports.conftest import make_report

PAGES = Path(__file__).resolve().parents[2] / "artifacts" / "report-pages"
NS = "{http://www.w3.org/1999/xhtml}"
# The running footer sits in the bottom margin (18 mm), below every body line.
FOOTER_TOP_PT = 841.89 - 18 * 72 / 25.4


@pytest.fixture(scope="module")
def reports(django_db_setup, django_db_blocker):
    """The demo organisation with its two demo reports, a report of each role's own layout and
    a long one with every printable widget."""
    with django_db_blocker.unblock():
        call_command("seed_demo", "--no-progress", stdout=io.StringIO())
        # As `make demo` does: the seed bulk-loads past the write path, then the summaries.
        call_command("refresh_daily_summaries", stdout=io.StringIO())
        org = Organization.objects.get(name="Renoz Energy")
        seed_demo_reports(org)
        owners = {u.role: u for u in org.users.order_by("pk")}
        for role in (Role.ADMIN, Role.SALES, Role.OPERATIONS, Role.TECHNICIAN):
            make_report(org, owners[role], name=f"{role.label} layout", widgets=[])
        make_report(
            org,
            owners[Role.ADMIN],
            name="Everything, for the board",
            range_preset="last_quarter",
            widgets=[f"kpi:{key}" for key in METRICS]
            + [f"trend:{key}" for key in ("revenue", "kwh_deployed")]
            + ["pipeline_by_stage", "installations", "warranty_claims"],
        )
        yield list(ScheduledReport.objects.filter(organization=org).order_by("pk"))
        ScheduledReport.objects.filter(organization=org).delete()
        purge(org)


def _pages(pdf: bytes, path: Path) -> list[list[dict]]:
    """Each page's text lines, top to bottom: {"text", "words", "top", "bottom"}."""
    path.write_bytes(pdf)
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, check=True
    ).stdout
    root = ET.fromstring(re.sub(rb"<!DOCTYPE[^>]*>", b"", xml))
    pages = []
    for page in root.iter(f"{NS}page"):
        lines = []
        for line in page.iter(f"{NS}line"):
            words = [w.text or "" for w in line.iter(f"{NS}word")]
            lines.append(
                {
                    "text": " ".join(words),
                    "words": words,
                    "top": float(line.get("yMin")),
                    "bottom": float(line.get("yMax")),
                }
            )
        pages.append(sorted(lines, key=lambda line: line["top"]))
    return pages


def _parts(text: str) -> list[str]:
    """The pieces a line may legitimately break between: spaces and hyphens ("Co-op")."""
    return [p for p in re.split(r"[\s\-]+", text) if p]


def test_every_report_keeps_headings_with_their_content_and_words_whole(reports, tmp_path):
    shutil.rmtree(PAGES, ignore_errors=True)  # this test's own folder: only this run's pages
    PAGES.mkdir(parents=True)
    at = timezone.now()
    checked_words = 0
    for report in reports:
        content = build_content(report, at)
        pdf = render_pdf(content)
        slug = re.sub(r"\W+", "-", report.name).strip("-").lower()
        stem = f"{report.pk}-{slug}"
        pages = _pages(pdf, tmp_path / f"{stem}.pdf")
        subprocess.run(
            ["pdftoppm", "-r", "50", "-png", str(tmp_path / f"{stem}.pdf"), str(PAGES / stem)],
            check=True,
        )
        assert len(list(PAGES.glob(f"{stem}-*.png"))) == len(pages)

        # Headings: the KPI table's, each chart's and each record list's.
        headings = (["Key figures"] if content.kpis else []) + [
            item["title"] for item in [*content.charts, *content.records]
        ]
        for heading in headings:
            found = [
                (n, line)
                for n, lines in enumerate(pages)
                for line in lines
                if line["text"] == heading
            ]
            assert found, f"{report.name}: heading {heading!r} not printed"
            n, line = found[0]
            below = [
                other
                for other in pages[n]
                if other["top"] > line["bottom"] and other["bottom"] < FOOTER_TOP_PT
            ]
            assert len(below) >= 2, (
                f"{report.name}: {heading!r} is left at the foot of page {n + 1}"
            )

        # Words: every word of the record tables (cells and headers) and of the KPI table's
        # names is printed whole on some page.
        printed = {
            part.upper()
            for lines in pages
            for line in lines
            for w in line["words"]
            for part in _parts(w)
        }
        data: list[str] = [k["title"] for k in content.kpis]
        for section in content.records:
            data += [c["label"] for c in section["columns"]]
            data += [cell["text"] for row in section["rows"] for cell in row]
        for text in data:
            for part in _parts(text):
                checked_words += 1
                assert part.upper() in printed, (
                    f"{report.name}: {part!r} (from {text!r}) is broken across lines"
                )
    assert checked_words > 500  # the demo data gave the check something to bite on
