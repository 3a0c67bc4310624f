"""The intent: what a question asks for, as the metric layer reads it (docs/ask.md, "The
intent"). `{"metrics", "range", "compare", "filters", "by", "top", "interval"}`; the range is a
preset of `metrics.periods.PRESETS` or inclusive `from`/`to` dates, the filters are the
dashboard's (`metrics.filters`), `by` a dimension or "owner" (with `top`), `interval` one of
`metrics.queries.INTERVALS`.

An intent travels as URL parameters: the dashboard's own (`range` or `from`/`to`, `compare`, the
filters) plus `metrics`, `by`, `top` and `interval`, so a chip that changes one part is a link,
and "open this on the dashboard" is the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from metrics.definitions import OWNER
from metrics.filters import FILTERS
from metrics.periods import DEFAULT_COMPARE, DEFAULT_PRESET

MAX_METRICS = 4
MAX_TOP = 50
# The URL parameters of an intent beyond the dashboard's state.
INTENT_PARAMS = ("metrics", "by", "top", "interval")


@dataclass(frozen=True)
class Intent:
    metrics: tuple[str, ...]
    range: tuple[tuple[str, str], ...] = (("preset", DEFAULT_PRESET),)  # preset, or from/to
    compare: str = DEFAULT_COMPARE
    filters: tuple[tuple[str, str], ...] = ()  # (param, value), in FILTERS order
    by: str | None = None  # a dimension, or "owner"
    top: int | None = None
    interval: str | None = None

    @property
    def range_dict(self) -> dict[str, str]:
        return dict(self.range)

    def as_json(self) -> dict:
        return {
            "metrics": list(self.metrics),
            "range": self.range_dict,
            "compare": self.compare,
            "filters": dict(self.filters),
            "by": self.by,
            "top": self.top,
            "interval": self.interval,
        }

    def state_params(self) -> dict[str, str]:
        """The dashboard's URL state for this intent (range, compare, filters)."""
        rng = self.range_dict
        out = (
            {"range": rng["preset"]} if "preset" in rng else {"from": rng["from"], "to": rng["to"]}
        )
        out["compare"] = self.compare
        out.update(self.filters)
        return out

    def params(self) -> dict[str, str]:
        """URL parameters that reproduce the intent exactly."""
        out = {"metrics": ",".join(self.metrics), **self.state_params()}
        if self.by:
            out["by"] = self.by
        if self.top:
            out["top"] = str(self.top)
        if self.interval:
            out["interval"] = self.interval
        return out

    def changed(self, **changes) -> Intent:
        return replace(self, **changes)

    def without_filter(self, param: str) -> Intent:
        return replace(self, filters=tuple(f for f in self.filters if f[0] != param))

    def with_filter(self, param: str, value: str) -> Intent:
        """The intent with `param` set to `value`, the filters kept in FILTERS order."""
        filters = {**dict(self.filters), param: value}
        return replace(self, filters=tuple((p, filters[p]) for p in FILTERS if p in filters))


def make(
    metrics,
    *,
    range: dict | None = None,  # noqa: A002 - the intent's own word
    compare: str | None = None,
    filters: dict | None = None,
    by: str | None = None,
    top: int | None = None,
    interval: str | None = None,
) -> Intent:
    """An intent from plain values, its filters put in the one order (FILTERS)."""
    filters = filters or {}
    ordered = tuple((p, str(filters[p])) for p in FILTERS if p in filters)
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"Unknown filter {sorted(unknown)[0][:40]!r}")
    rng = range or {"preset": DEFAULT_PRESET}
    return Intent(
        tuple(dict.fromkeys(metrics)),
        tuple(sorted((str(k), str(v)) for k, v in rng.items())),
        compare or DEFAULT_COMPARE,
        ordered,
        "owner" if by == OWNER else by,
        top,
        interval,
    )


@dataclass
class Reading:
    """What the parser made of a question: the intent (None when it cannot answer), the words
    it did not use, and, when it refuses, why and what it could answer instead."""

    intent: Intent | None
    unused: list[str] = field(default_factory=list)
    refusal: str | None = None
    suggestions: list[str] = field(default_factory=list)  # metric keys
    mine: bool = False  # "my …": the asker's own rows
