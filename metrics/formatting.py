"""How numbers read, in one place: cards, charts, drill-downs, targets, insights, exports,
mail and PDFs (docs/architecture.md, section "Presentation vocabulary").

`format_value(value, unit)` gives the short form people scan ("$1.23M", "1,250.5 kWh",
"7.25 h", "38.0%") and the exact form for titles and screen readers ("$1,234,567.89 AUD").
The same revenue reads the same wherever it appears. `format_aud` is the exact amount of a
single record. Rounding is half-up, as people round (2.5 -> 3, never Python's half-to-even),
for every unit. kWh read with one decimal at any size and hours with two, trailing zeros
dropped ("81 kWh" beside "180 kWh", never "81.0 kWh"). This module sits in the metric layer
because targets and insights, below the screens, word their numbers with it too. Template
filters: presentation.templatetags.vocabulary.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NO_DATA = "—"


def round_half_up(number, places: int = 0) -> Decimal:
    """Half-up rounding (Python's default rounds half to even): 2.5 -> 3, 0.125 -> 0.13."""
    return Decimal(str(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _group(number: Decimal | int | float, places: int = 0) -> str:
    return f"{round_half_up(number, places):,.{places}f}"


def _trimmed(number, places: int) -> str:
    """Grouped, half-up to `places`, without trailing zeros: 81.0 -> '81', 7.250 -> '7.25'."""
    text = _group(number, places)
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_aud(cents) -> str:
    """The exact amount of AUD cents: 123456789 -> '$1,234,567.89'."""
    if cents is None:
        return NO_DATA
    dollars = Decimal(int(round_half_up(cents))) / 100
    return f"{'-' if dollars < 0 else ''}${_group(abs(dollars), 2)}"


def format_value(value, unit: str) -> tuple[str, str]:
    """(short, exact) text for a metric value: ("$1.23M", "$1,234,567.89 AUD")."""
    if value is None:
        return NO_DATA, "No data"
    if unit == "aud_cents":
        dollars = Decimal(int(round_half_up(value))) / 100
        size = abs(dollars)
        sign = "-" if dollars < 0 else ""
        if size >= 1_000_000_000:
            short = f"{sign}${round_half_up(size / 1_000_000_000, 2)}B"
        elif size >= 1_000_000:
            short = f"{sign}${round_half_up(size / 1_000_000, 2)}M"
        else:
            short = f"{sign}${_group(size)}"
        return short, f"{format_aud(value)} AUD"
    if unit == "kwh":
        kwh = Decimal(str(value))
        if abs(kwh) >= 1_000_000:
            short = f"{round_half_up(kwh / 1_000_000, 2)} GWh"
        else:
            short = f"{_trimmed(kwh, 1)} kWh"
        return short, f"{_group(kwh, 2)} kWh"
    if unit == "ratio":
        pct = Decimal(str(value)) * 100
        return f"{round_half_up(pct, 1)}%", f"{round_half_up(pct, 2)}%"
    if unit == "hours":
        hours = Decimal(str(value))
        return f"{_trimmed(hours, 2)} h", f"{_group(hours, 2)} hours"
    if unit == "percent":
        return f"{round_half_up(value, 1)}%", f"{round_half_up(value, 2)}%"
    number = Decimal(str(value))
    places = 0 if number == number.to_integral_value() else 1
    return _group(number, places), _group(number, 2 if places else 0)


def short(value, unit: str | None) -> str:
    return format_value(value, unit or "count")[0]


def exact(value, unit: str | None) -> str:
    return format_value(value, unit or "count")[1]


def format_change(entry: dict, unit: str) -> str | None:
    """The size of a change: percent, or percentage points for ratios, or the amount."""
    change = entry.get("change")
    if change is None:
        return None
    if unit == "ratio":
        return f"{round_half_up(abs(Decimal(str(change)) * 100), 1)} pts"
    if entry.get("change_pct") is not None:
        pct = Decimal(str(entry["change_pct"]))
        if entry.get("previous"):
            # From the exact change, not the payload's percent (already at two places):
            # rounding twice makes 14 vs 17 (-17.647%) -17.65, then "17.7%".
            pct = Decimal(str(change)) / abs(Decimal(str(entry["previous"]))) * 100
        return f"{round_half_up(abs(pct), 1)}%"
    return short(abs(change), unit)


def format_cell(kind: str, value) -> str:
    """A record's field for a table cell or an export (datetimes are formatted by the caller)."""
    if value is None or value == "":
        return ""
    if kind == "aud_cents":
        return format_aud(value)
    if kind in {"kwh", "hours"}:
        return _group(Decimal(str(value)), 2)
    if kind == "percent":
        return f"{value}%"
    if kind == "int":
        return f"{value:,}"
    return str(value)
