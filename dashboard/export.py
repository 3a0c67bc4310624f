"""CSV and XLSX export of a drill-down: every row of the filtered set, not just one page.

CSV streams from the database in chunks; XLSX uses openpyxl's write-only workbook, written to a
temporary file and streamed from there, so memory stays flat for any size. Money appears twice,
in AUD and as raw cents: the CSV writes the AUD as text ("$295,337.87"), the XLSX as a number in
dollars with an AUD currency format, so a spreadsheet can add it up. Every text cell that a spreadsheet could read as a formula
gets a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from dashboard.drill import Column, DrillRequest, Summary, format_cell
from metrics.scope import OWN

FORMATS = ("csv", "xlsx")
CHUNK_SIZE = 2000
XLSX_MAX_ROWS = 1_000_000  # Excel stops at 1,048,576 rows
# Tricky: spreadsheets skip leading blanks and line breaks and read the full-width forms
# (＝＋－＠) as their ASCII selves, so " =1+1", "\n=1+1" and "＝1+1" are formulas too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
LEADING_BLANKS = " \t\r\n\u3000\u00a0"


def neutralise(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading apostrophe where it could."""
    if text and (
        text.startswith(FORMULA_PREFIXES)
        or text.lstrip(LEADING_BLANKS).startswith(FORMULA_PREFIXES)
    ):
        return "'" + text
    return text


def max_rows(fmt: str) -> int:
    """How many rows one export may hold (settings.EXPORT_MAX_ROWS, XLSX half of it)."""
    from django.conf import settings

    cap = settings.EXPORT_MAX_ROWS
    return min(XLSX_MAX_ROWS, cap // 2) if fmt == "xlsx" else cap


def _columns(request: DrillRequest) -> list[Column]:
    """The set's columns, less any that only repeat the ID."""
    return [c for c in request.drill_set.columns if c.attr != "pk"]


def _header(request: DrillRequest) -> list[str]:
    tz = request.state.tz
    out = ["ID"]
    for column in _columns(request):
        if column.kind == "aud_cents":
            out += [f"{column.label} (AUD)", f"{column.label} (cents)"]
        elif column.kind == "datetime":
            out.append(f"{column.label} ({tz})")
        elif column.kind == "percent":
            out.append(f"{column.label} (%)")
        else:
            out.append(column.label)
    return out


def _cells(column: Column, value, tz) -> list:
    """The export values of one column: numbers stay numbers, everything else is safe text."""
    if column.kind == "aud_cents":
        if value is None:
            return ["", None]
        raw = value if isinstance(value, int) else Decimal(value).normalize()
        if isinstance(raw, Decimal) and raw == raw.to_integral_value():
            raw = int(raw)
        return [Money(format_cell(column, value, tz), Decimal(raw) / 100), raw]
    if value is None:
        return [None if column.numeric else ""]
    if column.kind in {"kwh", "hours"}:
        return [Decimal(value)]
    if column.kind in {"percent", "int"}:
        return [int(value)]
    if column.kind == "datetime":
        return [value.astimezone(tz).replace(tzinfo=None, microsecond=0)]
    if column.kind == "list":
        return [Text(format_cell(column, value, tz))]
    return [Text(value)]


class Text(str):
    """A text cell: CSV writes it neutralised, XLSX stores it typed as text (never a formula)."""


@dataclass(frozen=True)
class Money:
    """An AUD amount: CSV writes `text` as the dashboard prints it, XLSX the number `dollars`
    with the AUD currency format."""

    text: str
    dollars: Decimal


# Excel's currency format for Australian dollars (locale C09, en-AU), negatives with a minus.
AUD_FORMAT = "[$$-C09]#,##0.00;-[$$-C09]#,##0.00"


def _rows(request: DrillRequest, qs) -> Iterator[list]:
    tz = request.state.tz
    columns = _columns(request)
    for obj in qs.iterator(chunk_size=CHUNK_SIZE):
        row: list = [obj.pk]
        for column in columns:
            row += _cells(column, column.value(obj), tz)
        yield row


def filename(request: DrillRequest, fmt: str) -> str:
    """renoz-revenue-2026-07-01-to-2026-09-30.csv"""
    metric = request.metric.key.replace("_", "-")
    return f"renoz-{metric}-{request.first_day}-to-{request.last_day}.{fmt}"


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        return neutralise(str(value))
    if isinstance(value, Money):
        return value.text
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def csv_lines(request: DrillRequest, qs) -> Iterator[str]:
    """The CSV file, line by line."""
    writer = csv.writer(_Echo())
    # Tricky: the byte-order mark makes Excel read the file as UTF-8 (customer names).
    yield "\ufeff" + writer.writerow(_header(request))
    for row in _rows(request, qs):
        yield writer.writerow([_csv_value(v) for v in row])


def csv_response(request: DrillRequest, lines: Iterable[str]) -> StreamingHttpResponse:
    """Stream `lines` (csv_lines, possibly wrapped by the caller's bounds) as a download."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(request, "csv")}"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(request: DrillRequest, spool) -> FileResponse:
    """Send a workbook written by write_xlsx (its file rewound)."""
    return FileResponse(
        spool, as_attachment=True, filename=filename(request, "xlsx"), content_type=XLSX_TYPE
    )


def write_xlsx(request: DrillRequest, qs, summary: Summary, target) -> None:
    """Write the workbook (the rows, then an About sheet) to the binary file `target`."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(request.metric.label[:31])
    bold = Font(bold=True)
    header = []
    for label in _header(request):
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in _rows(request, qs):
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    about = workbook.create_sheet("About")
    for line in _about(request, summary):
        about.append([_xlsx_cell(about, v) for v in line])
    workbook.save(target)


XLSX_FORMATS = {dt.datetime: "yyyy-mm-dd hh:mm:ss", Decimal: "#,##0.00"}


def _xlsx_cell(sheet, value):
    """One value as an XLSX cell: text typed as text, money as dollars in AUD, dates and
    decimals with their number formats, anything else as it is."""
    if isinstance(value, str):
        return _text_cell(sheet, value)
    if isinstance(value, Money):
        cell = WriteOnlyCell(sheet, value=value.dollars)
        cell.number_format = AUD_FORMAT
        return cell
    fmt = XLSX_FORMATS.get(type(value))
    if fmt:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = fmt
        return cell
    return value


def _text_cell(sheet, text: str) -> WriteOnlyCell:
    """A cell typed as text: Excel shows it as written and never evaluates it."""
    cell = WriteOnlyCell(sheet, value=str(text))
    cell.data_type = "s"
    return cell


def _about(request: DrillRequest, summary: Summary) -> list[list]:
    state = request.state
    lines: list[list] = [
        ["Metric", request.metric.label],
        ["Definition", request.metric.description],
        ["From", request.first_day.isoformat()],
        ["To", request.last_day.isoformat()],
        ["Timezone", str(state.tz)],
        ["Period", "comparison" if request.period == "comparison" else "current"],
        ["Rows", summary.count],
        [
            "Value",
            Money(summary.display, Decimal(summary.value) / 100)
            if request.metric.unit == "aud_cents" and summary.value is not None
            else summary.display,
        ],
        ["Scope", "Yours" if summary.scope == OWN else "Organisation"],
    ]
    if request.metric.unit == "aud_cents" and summary.value is not None:
        lines.append(["Value (cents)", summary.value])
    for name, value in request.narrowing.items():
        lines.append([name.title(), value])
    if request.q:
        lines.append(["Search", request.q])
    return lines


def write_file(request: DrillRequest, qs, summary: Summary, fmt: str, out) -> None:
    """Write the whole export to the binary file `out` (the background job's path)."""
    if fmt == "csv":
        for line in csv_lines(request, qs):
            out.write(line.encode())
    else:
        write_xlsx(request, qs, summary, out)
