"""A report as HTML (the print template, also the browser preview) and as an A4 PDF.

WeasyPrint renders the HTML with no network: the stylesheet is read from our static files and
any other URL is refused, so a render never waits on the outside world.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.text import slugify
from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from reports.content import ReportContent

PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "report_print.css"


class RenderError(RuntimeError):
    """A report could not be rendered; the message says why."""


# Offline: only data: URLs (the charts) are read; http(s) and file URLs are refused.
_FETCHER = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet() -> CSS:
    return CSS(filename=str(PRINT_CSS), font_config=_fonts())


def render_html(content: ReportContent, *, preview: bool = False, extra: dict | None = None) -> str:
    return render_to_string(
        "reports/print.html", {"c": content, "preview": preview, **(extra or {})}
    )


def render_document(content: ReportContent) -> Document:
    """The laid-out report (pages), ready to write as PDF."""
    html = render_html(content)
    try:
        document = HTML(string=html, url_fetcher=_FETCHER, base_url=str(settings.BASE_DIR))
        return document.render(stylesheets=[_stylesheet()], font_config=_fonts())
    except Exception as exc:  # noqa: BLE001 - any WeasyPrint failure is a render error to retry
        raise RenderError(f"PDF rendering failed: {exc}") from exc


def render_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes."""
    document = render_document(content)
    try:
        return document.write_pdf()
    except Exception as exc:  # noqa: BLE001 - any WeasyPrint failure is a render error to retry
        raise RenderError(f"PDF writing failed: {exc}") from exc


def pdf_filename(content: ReportContent) -> str:
    name = slugify(content.report.name) or "report"  # type: ignore[attr-defined]
    return f"{name}-{content.state.range.start:%Y%m%d}-{content.state.range.end:%Y%m%d}.pdf"
