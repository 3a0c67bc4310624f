"""The words the question parser knows (docs/ask.md, "The parser's vocabulary"), built from the
one vocabulary and copying none of it:

- metrics: each metric's key, label and synonyms (`metrics.definitions.METRICS`, `SYNONYMS`);
- ranges and comparisons: the presets' and comparisons' own labels (`metrics.periods.PRESETS`,
  `COMPARISONS`), plus the ways people say them that are not labels ("this FY", "pcp");
- filters: each filter's values and their labels (`metrics.filters.FILTERS`), the state names
  (`operations.models.AustralianState`), and the people the owner filter can pick
  (`metrics.filters.owner_choices`);
- breakdowns: the dimensions a source can be broken down by (`metrics.sources`), named by the
  filter over them, and intervals (`metrics.queries.INTERVALS`).

What this module adds is only the words that are not labels anywhere (how people say a
dimension, a comparison or a period), once each, and the questions we refuse and why.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from metrics.definitions import METRICS, OWNER, SOURCES, SYNONYMS
from metrics.filters import FILTERS, owner_choices
from metrics.periods import COMPARISONS, PRESETS
from metrics.queries import INTERVALS
from operations.models import AustralianState

Phrase = tuple[str, ...]
Meaning = tuple[str, object]  # ("metric", key), ("filter", (param, value)), ("by", dim)…

# Words that carry no meaning in a question; never reported as unused.
STOPWORDS = frozenset(
    """a about all am an and any are as at be been best biggest can could did do does doing
    done for from g'day get give go going got had has have hey hi how i im in is it its just
    know largest let like look looking many mate me most much my number of on our out over
    please pls quick reckon right see show so tell than that the their them there these they
    this those to total up us was we were what whats when where whose with you your amount
    currently current now overall""".split()
)

# How people name a dimension, besides its filter's own parameter and label. Keyed by the
# metric layer's dimension (OWNER is the rows' owner).
DIMENSION_WORDS: dict[str, tuple[str, ...]] = {
    "customer_state": ("state", "region", "location"),
    "customer_kind": ("customer kind", "customer type", "kind", "sector", "segment", "market"),
    "product_category": ("category", "product", "product line", "product type"),
    OWNER: (
        "owner",
        "rep",
        "sales rep",
        "salesperson",
        "sales person",
        "person",
        "people",
        "staff",
        "technician",
        "tech",
        "installer",
        "team member",
        "who",
    ),
    "customer_id": ("customer", "client", "account"),
    "stage": ("stage", "pipeline stage", "deal stage"),
    "kind": ("claim kind", "claim type", "type"),
}
# A breakdown asked for without a metric ("top 5 customers") reads this metric.
DEFAULT_METRIC_BY = {"customer_id": "revenue"}

# Filter values people say in other words (the values' labels are read from the filters).
VALUE_WORDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("customer_kind", "agricultural"): ("farm", "farms", "farmer", "farmers", "agri", "ag"),
    ("customer_kind", "government"): ("govt", "gov", "council", "councils", "public sector"),
    ("customer_kind", "builder"): ("builder", "residential", "home builder"),
    ("customer_kind", "commercial"): ("business", "businesses"),
    ("customer_kind", "industrial"): ("industry",),
    ("state", "VIC"): ("victorian",),
    ("state", "QLD"): ("queenslander",),
    ("state", "TAS"): ("tassie", "tasmanian"),
}
# Codes that are also English words count only written in capitals or after "in"/"for".
AMBIGUOUS_CODES = {"ACT", "NT"}

# Comparisons people say in words other than the comparisons' labels.
COMPARE_WORDS: dict[str, tuple[str, ...]] = {
    "previous_year": (
        "last year",
        "the same time last year",
        "same time last year",
        "same period last year",
        "the same period last year",
        "this time last year",
        "a year ago",
        "a year earlier",
        "the year before",
        "prior year",
        "the prior year",
        "pcp",
        "prior corresponding period",
        "the prior corresponding period",
        "last fy",
        "yoy",
        "year on year",
        "year over year",
        "y/y",
    ),
    "previous_period": (
        "last period",
        "prior period",
        "the prior period",
        "the period before",
        "last month",
        "the month before",
        "previous month",
        "the previous month",
        "the prior month",
        "last quarter",
        "the quarter before",
        "previous quarter",
        "the previous quarter",
        "last week",
        "the week before",
        "previous week",
        "the previous week",
        "yesterday",
        "the day before",
        "mom",
        "month on month",
        "qoq",
        "quarter on quarter",
        "week on week",
        "the last period",
    ),
    "none": ("no comparison", "without comparison", "without a comparison", "no compare"),
}
# Words that introduce a comparison ("revenue this month vs last year").
COMPARE_MARKERS = (
    "vs",
    "v",
    "versus",
    "compared with",
    "compared to",
    "compared against",
    "against",
    "relative to",
    "on",
    "than",
)

# Ranges people say in words other than the presets' labels (`metrics.periods.PRESETS`).
PRESET_WORDS: dict[str, tuple[str, ...]] = {
    "this_month": ("month to date", "mtd", "this month so far", "so far this month"),
    "last_month": ("last month", "previous month", "the previous month", "the month before"),
    "this_quarter": ("this qtr", "quarter to date", "qtd", "this quarter so far"),
    "last_quarter": ("last qtr", "previous quarter", "the previous quarter"),
    "this_financial_year": (
        "this fy",
        "this financial year",
        "fytd",
        "fy to date",
        "financial year to date",
        "ytd",
        "year to date",
        "current fy",
        "current financial year",
        "this fin year",
    ),
    "last_financial_year": (
        "last fy",
        "previous fy",
        "previous financial year",
        "prior fy",
        "last fin year",
    ),
    "last_7_days": ("past 7 days", "past week", "the past week", "last seven days"),
    "last_30_days": ("past 30 days", "last thirty days"),
    "last_90_days": ("past 90 days", "last ninety days"),
}

INTERVAL_WORDS: dict[str, tuple[str, ...]] = {
    "day": ("daily", "day by day"),
    "week": ("weekly", "week by week"),
    "month": ("monthly", "month by month"),
}
# "over time" asks for a series at the dashboard's own interval for the range.
TREND_WORDS = ("trend", "trending", "over time", "series", "chart", "graph")

# Questions we refuse, and why: the answer would be a guess, not a number the metric layer has.
REFUSALS: dict[str, tuple[str, ...]] = {
    "only what has happened can be counted; there is no forecast": (
        "forecast",
        "forecasts",
        "predict",
        "prediction",
        "projected",
        "projection",
        "next",
        "will",
        "tomorrow",
        "expect",
        "expected",
    ),
    "the numbers show what moved, not why (the insights widget lists what changed)": (
        "why",
        "because",
        "reason",
        "cause",
    ),
    "questions only read numbers; nothing is changed from here": (
        "delete",
        "remove",
        "erase",
        "update",
        "edit",
        "cancel",
        "create",
        "send",
    ),
    "there is no metric for that": (
        "profit",
        "profits",
        "margin",
        "margins",
        "cost",
        "costs",
        "expense",
        "expenses",
        "salary",
        "salaries",
        "wage",
        "wages",
        "weather",
        "budget",
        "ebitda",
        "tax",
        "nps",
        "churn",
        "stock",
        "inventory",
    ),
}

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "twenty": 20,
}

_SPLIT = re.compile(r"[^a-z0-9/']+", re.ASCII)


def words(text: str) -> Phrase:
    """A phrase as the parser compares it: lower-case words, possessive 's dropped, stopwords
    out (so "number of orders" and "orders" line up with what is left of a question)."""
    out = []
    for word in _SPLIT.split(text.lower().replace("’", "'")):
        word = word.strip("'")
        if word.endswith("'s"):
            word = word[:-2]
        if word and word not in STOPWORDS:
            out.append(word)
    return tuple(out)


def variants(phrase: Phrase) -> set[Phrase]:
    """The phrase with its last word in the singular and the plural."""
    if not phrase:
        return set()
    head, last = phrase[:-1], phrase[-1]
    forms = {last}
    if last.endswith("ies"):
        forms.add(last[:-3] + "y")
    elif last.endswith("y") and len(last) > 3 and last[-2] not in "aeiou":
        forms.add(last[:-1] + "ies")
    elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        forms.add(last[:-1])
    elif last.isalpha() and len(last) > 2:
        forms.add(last + "s")
    return {(*head, form) for form in forms}


@dataclass
class Vocabulary:
    """Phrases and their meanings, for one organisation (its people)."""

    phrases: dict[Phrase, list[Meaning]] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)  # owner id -> name
    known: set[str] = field(default_factory=set)  # every word of every phrase
    longest: int = 1

    def add(self, text: str, meaning: Meaning, *, plural: bool = True) -> None:
        base = words(text)
        for phrase in variants(base) if plural else {base}:
            if not phrase:
                continue
            # Copied on write: the registry's phrases are shared by every organisation's.
            meanings = self.phrases.get(phrase, [])
            if meaning not in meanings:
                self.phrases[phrase] = [*meanings, meaning]
            self.known.update(phrase)
            self.longest = max(self.longest, len(phrase))


def dimension_label(dim: str) -> str:
    """How a breakdown's dimension reads: its filter's label, else its first word."""
    spec = next((f for f in FILTERS.values() if f.dimension == dim), None)
    if spec is not None:
        return spec.label
    words = DIMENSION_WORDS.get(dim)
    return words[0].capitalize() if words else dim[:40]


def breakdown_dims() -> set[str]:
    """Every dimension some metric can be broken down by ("owner" for the rows' owner)."""
    dims = {d for s in SOURCES.values() for d in s.dims}
    return (dims & set(DIMENSION_WORDS)) | {OWNER}


def build(organization) -> Vocabulary:
    """The organisation's vocabulary: the registry's words and its people's names."""
    base = registry_vocabulary()
    vocab = Vocabulary(dict(base.phrases), {}, set(base.known), base.longest)
    for owner_id, name in owner_choices(organization):
        vocab.people[owner_id] = name
        parts = name.split()
        for text in {name, parts[0], parts[-1]}:
            vocab.add(text, ("filter", ("owner", owner_id)), plural=False)
    return vocab


@functools.cache
def registry_vocabulary() -> Vocabulary:
    """The words of the registry and of this module, built once per process."""
    vocab = Vocabulary()
    for metric in METRICS.values():
        for text in (metric.key.replace("_", " "), metric.label, *SYNONYMS.get(metric.key, ())):
            vocab.add(text, ("metric", metric.key))
    for param, spec in FILTERS.items():
        if spec.dimension == OWNER:
            continue
        for value, label in spec.choices:
            if param == "stage" and value in ("won", "lost"):
                continue  # won and lost are metrics (quotes_won, quotes_lost), not a filter
            if param == "state" and value in AMBIGUOUS_CODES:
                continue  # read by the parser with their capitals (parser._state_codes)
            if param == "claim_kind":
                # "installation" alone is the jobs; a claim kind is said with "claims", and
                # means the claims too ("defect claims").
                vocab.add(f"{label} claims", ("filter", (param, value)))
                for meaning in vocab.phrases.get(("claims",), []):
                    vocab.add(f"{label} claims", meaning)
                continue
            vocab.add(value, ("filter", (param, value)))
            vocab.add(label, ("filter", (param, value)))
    for state in AustralianState:
        vocab.add(state.label, ("filter", ("state", state.value)), plural=False)
    for (param, value), texts in VALUE_WORDS.items():
        for text in texts:
            vocab.add(text, ("filter", (param, value)), plural=False)
    for dim in breakdown_dims():
        for text in DIMENSION_WORDS[dim]:
            vocab.add(text, ("dim", dim))
        over = next((f for f in FILTERS.values() if f.dimension == dim), None)
        if over is not None:
            vocab.add(over.label, ("dim", dim))
            vocab.add(over.param.replace("_", " "), ("dim", dim))
    for interval in INTERVALS:
        for text in INTERVAL_WORDS.get(interval, ()):
            vocab.add(text, ("interval", interval), plural=False)
    for text in TREND_WORDS:
        vocab.add(text, ("interval", "auto"), plural=False)
    for reason, texts in REFUSALS.items():
        for text in texts:
            vocab.add(text, ("refuse", reason), plural=False)
    return vocab


def preset_phrases() -> dict[Phrase, str]:
    """Every way of saying a preset: its label (`PRESETS`) and the other words for it."""
    out: dict[Phrase, str] = {}
    for preset, label in PRESETS.items():
        out[tuple(label.lower().split())] = preset
    for preset, texts in PRESET_WORDS.items():
        for text in texts:
            out[tuple(text.split())] = preset
    return out


def compare_phrases() -> dict[Phrase, str]:
    """Every way of saying a comparison after "vs": its label (`COMPARISONS`) and others."""
    out: dict[Phrase, str] = {}
    for compare, label in COMPARISONS.items():
        label = label.lower()
        out[tuple(label.split())] = compare
        out[("the", *label.split())] = compare
    for compare, texts in COMPARE_WORDS.items():
        for text in texts:
            out[tuple(text.split())] = compare
    return out
