"""The optional model (docs/ask.md, "The model path"): with OPENAI_API_KEY, a question the parser
cannot read is sent to the model, which proposes an intent through structured output; the
intent is checked exactly as the parser's is (`ask.answer.resolve`), so an invalid one is a
refusal. The model may then word the computed answer; its sentence is kept only if every number
and every name in it is in the answer, else the computed sentence stands.

The model client, its timeouts, the daily budget and the handling of failures are the insights
narration's (`insights.narration.complete`, `insights.actions.do_claim_narration_call`).
The model sees the question, the registry's vocabulary and the answer's aggregates (values,
comparisons, labels of the vocabulary), never text from the records: breakdown rows, which may
name customers, are not sent.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
from decimal import Decimal

from ask import vocabulary as v
from ask.intent import MAX_METRICS, Intent, make
from insights.actions import do_claim_narration_call
from insights.narration import (
    MODEL_ERRORS,
    Rejected,
    check_numbers,
    complete,
    failure_reason,
    model_configured as model_configured,
    numbers_in,
)
from metrics.definitions import METRICS
from metrics.filters import FILTERS
from metrics.periods import COMPARISONS, DEFAULT_PRESET, PRESETS
from metrics.queries import INTERVALS
from operations.models import AustralianState

log = logging.getLogger("renoz.ask")

INTENT_PROMPT = (
    "You turn a question about a battery company's dashboard into a query. Use only the "
    "metric keys, range presets, comparisons, filter values, breakdowns and intervals listed "
    "in the JSON you are given; dates are YYYY-MM-DD, and the financial year starts in the "
    "month given. If the question cannot be answered with them, set answerable to false. "
    "Answer with JSON only, in the schema given."
)
WORDING_PROMPT = (
    "You word the answer to a question about a business dashboard in one or two short "
    "sentences of plain Australian English. Use only the numbers and names in the JSON; "
    'write money as the given dollar amounts. Answer with JSON only: {"text": "…"}.'
)
MAX_TEXT = 400
MONTH_NAMES = frozenset(name for name in (*calendar.month_name, *calendar.month_abbr) if name)
# Capitalised words a sentence may start with that name nothing.
PLAIN_WORDS = frozenset(
    "The In Over From Compared Up Down Your This Last For By It Since Across At On During "
    "Between With Revenue".split()
)


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


def intent_schema() -> dict:
    """The structured output the model must answer in: the intent, from the registry's lists."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "answerable",
            "metrics",
            "range",
            "compare",
            "filters",
            "by",
            "top",
            "interval",
        ],
        "properties": {
            "answerable": {"type": "boolean"},
            "metrics": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_METRICS},
            "range": {
                "type": "object",
                "additionalProperties": False,
                "required": ["preset", "from", "to"],
                "properties": {
                    "preset": _nullable("string"),
                    "from": _nullable("string"),
                    "to": _nullable("string"),
                },
            },
            "compare": {"type": "string"},
            "filters": {
                "type": "object",
                "additionalProperties": False,
                "required": [p for p, f in FILTERS.items() if f.choices],
                "properties": {p: _nullable("string") for p, f in FILTERS.items() if f.choices},
            },
            "by": _nullable("string"),
            "top": _nullable("integer"),
            "interval": _nullable("string"),
        },
    }


def vocabulary_payload(organization, today) -> dict:
    """What the model may choose from: the registry's names, never the records."""
    return {
        "today": today.isoformat(),
        "financial_year_starts_month": organization.fiscal_year_start_month,
        "metrics": {k: m.label for k, m in METRICS.items()},
        "range_presets": list(PRESETS),
        "compare": list(COMPARISONS),
        "filters": {p: [val for val, _ in f.choices] for p, f in FILTERS.items() if f.choices},
        "by": sorted(d if d != "owner_id" else "owner" for d in v.breakdown_dims()),
        "intervals": list(INTERVALS),
    }


def parse_intent(content: str) -> Intent | None:
    """The model's intent, or None when it says the question cannot be answered; raises
    Rejected when the answer is not the schema."""
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        raise Rejected("the answer was not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        raise Rejected("the answer had no metrics")
    if not data.get("answerable", True):
        return None
    rng = data.get("range") or {}
    if not isinstance(rng, dict):
        raise Rejected("the range was not an object")
    if rng.get("from") or rng.get("to"):
        rng = {"from": str(rng.get("from") or ""), "to": str(rng.get("to") or "")}
    else:
        rng = {"preset": str(rng.get("preset") or DEFAULT_PRESET)}
    filters = data.get("filters") or {}
    if not isinstance(filters, dict):
        raise Rejected("the filters were not an object")
    top = data.get("top")
    try:
        return make(
            [str(m) for m in data["metrics"]][:MAX_METRICS],
            range=rng,
            compare=str(data.get("compare") or "") or None,
            filters={k: str(val) for k, val in filters.items() if val},
            by=str(data["by"]) if data.get("by") else None,
            top=int(top) if isinstance(top, int) and not isinstance(top, bool) else None,
            interval=str(data["interval"]) if data.get("interval") else None,
        )
    except ValueError as exc:
        raise Rejected(str(exc)) from None


def propose(organization, question: str, now) -> tuple[Intent | None, str]:
    """The model's intent for a question (None, and why, when there is none to check)."""
    if not do_claim_narration_call(organization, now):
        return None, "the daily budget is spent"
    payload = {
        "question": question,
        "vocabulary": vocabulary_payload(organization, now.astimezone(organization.tz).date()),
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "intent", "strict": True, "schema": intent_schema()},
    }
    try:
        intent = parse_intent(complete(INTENT_PROMPT, payload, response_format=response_format))
    except MODEL_ERRORS as exc:
        reason = failure_reason(exc)
        log.warning("ask: the model's intent was not used: %s", reason)
        return None, reason
    return intent, "" if intent else "the model could not answer it either"


def _aggregates(answer: dict) -> dict:
    """The answer's numbers and the vocabulary's labels, for the wording: never breakdown rows
    or the computed sentence (which may name customers), never a person's name."""
    result = answer["result"]
    out: dict = {"question": answer["question"]}
    if "metrics" in result:
        out["metrics"] = {
            METRICS[k].label: {
                f: e.get(f) for f in ("value", "unit", "previous", "change", "change_pct")
            }
            for k, e in result["metrics"].items()
        }
    out["interpretation"] = {
        c["label"]: c["value"] for c in answer["chips"] if c["label"] != FILTERS["owner"].label
    }
    return out


def allowed_numbers(answer: dict) -> set[Decimal]:
    """Every number the wording may write: the result's values in the units people read
    (money in dollars, ratios as percentages) and every number of the computed sentence."""
    raw = [
        float(entry[f])
        for entry in answer["result"].get("metrics", {}).values()
        for f in ("value", "previous", "change", "change_pct")
        if isinstance(entry.get(f), (int, float)) and not isinstance(entry.get(f), bool)
    ]
    out: set[Decimal] = set()
    for number in raw:
        for candidate in (number, number / 100, number * 100):
            out.add(abs(Decimal(str(round(candidate, 6)))))
    out.update(abs(n) for n, _ in numbers_in(answer["text"]))
    return out


def check_names(text: str, answer: dict) -> None:
    """Raise Rejected unless every capitalised word is in the computed sentence or the
    interpretation (a name the answer does not hold is a guess)."""
    known = answer["text"] + " " + " ".join(str(c["value"]) for c in answer["chips"])
    states = dict(AustralianState.choices)
    known += " ".join(states.get(v, "") for v in answer["intent"]["filters"].values())
    known_words = set(re.findall(r"[A-Za-z']+", known)) | MONTH_NAMES
    for word in re.findall(r"\b[A-Z][A-Za-z']*", text):
        if word not in known_words and word not in PLAIN_WORDS:
            raise Rejected(f"the name {word!r} is not in the answer")


def word(organization, answer: dict, now) -> tuple[str | None, str]:
    """The model's sentence for the answer when every number and name checks out, else None
    and why."""
    if not do_claim_narration_call(organization, now):
        return None, "the daily budget is spent"
    try:
        content = complete(
            WORDING_PROMPT, _aggregates(answer), response_format={"type": "json_object"}
        )
        try:
            text = json.loads(content).get("text")
        except (json.JSONDecodeError, AttributeError):
            raise Rejected("the answer was not valid JSON") from None
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise Rejected("the answer had no text, or too much")
        check_numbers(text, allowed_numbers(answer))
        check_names(text, answer)
    except MODEL_ERRORS as exc:
        reason = failure_reason(exc)
        log.warning("ask: the model's wording was not used: %s", reason)
        return None, reason
    return text.strip(), ""
