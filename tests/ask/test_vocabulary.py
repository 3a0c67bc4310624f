"""The parser's vocabulary names only what the registry has (docs/ask.md, "The parser's
vocabulary"): synonyms are declared once and checked, the extra words point at presets,
comparisons, filter values and dimensions that exist, and periods follow the organisation's
own financial year."""

from __future__ import annotations

import datetime as dt

import pytest

from ask import vocabulary as v
from ask.parser import Parser
from metrics import definitions
from metrics.definitions import METRICS, SOURCES
from metrics.filters import FILTERS
from metrics.periods import COMPARISONS, PRESETS


def test_every_extra_word_points_at_something_the_registry_has():
    assert set(v.PRESET_WORDS) <= set(PRESETS)
    assert set(v.COMPARE_WORDS) <= set(COMPARISONS)
    for param, value in v.VALUE_WORDS:
        assert value in dict(FILTERS[param].choices), (param, value)
    dims = {d for s in SOURCES.values() for d in s.dims} | {definitions.OWNER}
    assert set(v.DIMENSION_WORDS) <= dims
    assert set(v.DEFAULT_METRIC_BY.values()) <= set(METRICS)


def test_synonyms_are_checked_against_the_registry(monkeypatch):
    monkeypatch.setattr(definitions, "SYNONYMS", {"revenue": ("orders",)})
    with pytest.raises(ValueError, match="names both orders and revenue"):
        definitions._check_synonyms()
    monkeypatch.setattr(definitions, "SYNONYMS", {"profit": ("margin",)})
    with pytest.raises(ValueError, match="unknown metric 'profit'"):
        definitions._check_synonyms()


def test_a_metric_is_known_by_its_key_label_and_synonyms():
    phrases = v.registry_vocabulary().phrases
    for metric in METRICS.values():
        for text in (
            metric.key.replace("_", " "),
            metric.label,
            *definitions.SYNONYMS.get(metric.key, ()),
        ):
            assert ("metric", metric.key) in phrases[v.words(text)], text


@pytest.mark.parametrize(
    ("fiscal_start", "question", "dates"),
    [
        (7, "revenue FY26", ("2025-07-01", "2026-06-30")),
        (7, "revenue Q2 FY26", ("2025-10-01", "2025-12-31")),
        (1, "revenue FY26", ("2026-01-01", "2026-12-31")),
        (1, "revenue Q2 FY25", ("2025-04-01", "2025-06-30")),
        (4, "revenue FY26", ("2025-04-01", "2026-03-31")),
    ],
)
def test_financial_years_follow_the_organisations_fiscal_start(
    fiscal_start, question, dates, ask_org
):
    parser = Parser(v.build(ask_org), dt.date(2026, 12, 7), fiscal_start)
    intent = parser.parse(question).intent
    assert intent is not None
    assert intent.range_dict == {"from": dates[0], "to": dates[1]}


def test_the_words_not_used_are_reported(ask_org):
    parser = Parser(v.build(ask_org), dt.date(2026, 12, 7), 7)
    reading = parser.parse("revenue for the blue widgets in NSW this FY please")
    assert reading.intent is not None
    assert reading.intent.filters == (("state", "NSW"),)
    assert reading.unused == ["blue", "widgets"]
