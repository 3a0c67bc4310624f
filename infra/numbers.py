"""Reading ids and counts from user input: ASCII digits only (docs/architecture.md, "Errors").

Tricky: `str.isdigit()` is true for "²", "①" and "⁵", which `int()` then rejects (a 500 where a
404 was meant), and `int()` itself accepts Arabic-Indic and other Unicode digits ("٣" → 3)
and 30-digit numbers that overflow PostgreSQL's bigint. Every hand-parsed id or number in a
query string, form value or cursor goes through `parse_id`, so none of that reaches int() or SQL.
"""

from __future__ import annotations

# A PostgreSQL bigint holds 9223372036854775807 (19 digits); 18 digits always fit.
MAX_ID_DIGITS = 18


def is_ascii_digits(raw: str, *, max_digits: int = MAX_ID_DIGITS) -> bool:
    """True when `raw` is 1 to `max_digits` of the ASCII digits 0-9 and nothing else."""
    return 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit()


def parse_id(raw: object, *, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """A non-negative integer written in ASCII digits (at most `max_digits`), else None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw >= 0 and len(str(raw)) <= max_digits else None
    if not isinstance(raw, str) or not is_ascii_digits(raw, max_digits=max_digits):
        return None
    return int(raw)
