"""Narration: a language model words the computed findings, and is trusted only when checked.

The model gets the findings as JSON aggregates and nothing else: every name from the records
(customers, people, order numbers) is replaced by a placeholder such as CUSTOMER_1, so no text
from the records reaches the prompt, and the names are put back into the answer afterwards.
It must answer `{"sentences": [{"text", "finding_ids"}]}`; each sentence must cite findings
that exist, and every number in it must be one of the cited findings' numbers, allowing for
formatting ($1.23M, 1,234,567, 24%, 5.2 pts). Any failure (a timeout, an HTTP error, a 429,
malformed JSON, an invented number) falls back to the computed wording, and the reason is
logged. Without OPENAI_API_KEY the computed wording is all there is.

`client`, `complete`, `failure_reason` and `MODEL_ERRORS` are the one way to call the model:
the ask app's model path (`ask/model.py`, docs/ask.md) uses them, under the same timeouts and
the same daily budget (`insights.actions.do_claim_narration_call`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import openai
from django.conf import settings

from insights.findings import Finding, Subject
from metrics.definitions import METRICS

log = logging.getLogger("renoz.insights")

MAX_SENTENCES = 4
MAX_TEXT = 700
PLACEHOLDER_RE = re.compile(r"\b(CUSTOMER|PERSON|ORDER|CLAIM)_(\d{1,3})\b")
# A number as people write it: optional sign and $, digits with thousands separators, decimals,
# then an optional scale (k, M, B, or kWh's larger units) and percent.
NUMBER_RE = re.compile(
    r"(?<![\w.])(?P<sign>[-−+])?\$?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<scale>[kKMB]|bn|GWh|MWh)(?![A-Za-z]))?"
)
SCALES = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "GWh": 1e6, "MWh": 1e3}

SYSTEM_PROMPT = (
    "You summarise a business dashboard for its managers in plain Australian English. "
    "You are given findings computed from the data, as JSON. Use only those findings; do "
    "not speculate about causes. Refer to customers, people, orders and claims only by the "
    "placeholder tokens given (such as CUSTOMER_1), exactly as written. Every number you "
    "write must appear in the findings you cite; write no other numbers (no counts of "
    "findings, no invented dates). Write at most three short sentences, most important "
    "first. Answer with JSON only, in the form "
    '{"sentences": [{"text": "…", "finding_ids": ["<id of each finding the sentence uses>"]}]}.'
)


@dataclass(frozen=True)
class Narrative:
    text: str
    source: str  # "llm" or "computed"
    finding_ids: list[str]
    reason: str = ""  # why the computed wording was used, when a model was configured

    def as_json(self) -> dict:
        return {"text": self.text, "source": self.source, "finding_ids": self.finding_ids}


class Rejected(ValueError):
    """The model's answer cannot be shown; the message says why."""


# --- Computed wording ---------------------------------------------------------------------


def computed_narrative(
    findings: list[Finding], period_label: str, *, reason: str = ""
) -> Narrative:
    """The wording without a model: the top findings' own titles."""
    if not findings:
        return Narrative(
            f"Nothing notable in {period_label}: no KPI moved by 10% or more, no day or week "
            "stood out, and no target is at risk.",
            "computed",
            [],
            reason,
        )
    top = findings[:3]
    return Narrative(
        " ".join(f"{f.title()}." for f in top), "computed", [f.id for f in top], reason
    )


# --- Placeholders -------------------------------------------------------------------------


def placeholders(findings: list[Finding]) -> dict[Subject, str]:
    """A placeholder per named subject, numbered per role in order of appearance."""
    out: dict[Subject, str] = {}
    counts: dict[str, int] = {}
    by_ref: dict[tuple[str, str], str] = {}
    for finding in findings:
        for subject in finding.subjects:
            ref = (subject.role, subject.ref)
            if ref not in by_ref:
                counts[subject.role] = counts.get(subject.role, 0) + 1
                by_ref[ref] = f"{subject.role.upper()}_{counts[subject.role]}"
            out[subject] = by_ref[ref]
    return out


def _fact_value(value, finding: Finding, names: dict[Subject, str]):
    """Facts as the model sees them: "{0}" references become the subject's placeholder."""
    if isinstance(value, dict):
        return {k: _fact_value(v, finding, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fact_value(v, finding, names) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\{[0-9]+\}", value):
        return names[finding.subjects[int(value[1:-1])]]
    return value


def prompt_payload(findings: list[Finding], period_label: str, compare_label: str) -> dict:
    """What the model is sent: aggregates and placeholders, never text from the records."""
    names = placeholders(findings)
    return {
        "period": period_label,
        "compared_with": compare_label,
        "findings": [
            {
                "id": f.id,
                "kind": f.kind,
                "metric": f.metric,
                "metric_label": METRICS[f.metric].label,
                "unit": f.unit,
                "title": f.title(names),
                "value": f.value,
                "previous": f.previous,
                "change_pct": f.change_pct,
                "severity": f.severity,
                "facts": _fact_value(f.facts, f, names),
            }
            for f in findings
        ],
    }


# --- Checking numbers ---------------------------------------------------------------------


def numbers_in(text: str) -> list[tuple[Decimal, Decimal]]:
    """(value, half a unit of its last digit) of each number written in `text`, scaled."""
    out = []
    for match in NUMBER_RE.finditer(PLACEHOLDER_RE.sub(" ", text)):
        raw = match.group("num").replace(",", "")
        try:
            number = Decimal(raw)
        except InvalidOperation:
            continue
        places = len(raw.split(".")[1]) if "." in raw else 0
        scale = Decimal(str(SCALES.get(match.group("scale") or "", 1)))
        half = Decimal(5) * Decimal(10) ** (-places - 1) * scale
        if match.group("sign") in ("-", "−"):
            number = -number
        out.append((number * scale, half))
    return out


def _flatten(value) -> list[float]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float, Decimal)):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _flatten(v)]
    return []


def allowed_numbers(finding: Finding, names: dict[Subject, str]) -> set[Decimal]:
    """Every number a sentence citing `finding` may write, in the units people read: the
    finding's values and facts (money in dollars as well as cents, ratios as percentages),
    and each number its computed title writes."""
    raw = _flatten([finding.value, finding.previous, finding.change_pct, finding.facts])
    if finding.figure[0] is not None:
        raw.append(float(finding.figure[0]))
    out: set[Decimal] = set()
    for number in raw:
        for candidate in (number, number / 100, number * 100):
            out.add(abs(Decimal(str(round(candidate, 6)))))
    out.update(abs(n) for n, _ in numbers_in(finding.title(names)))
    return out


def check_numbers(text: str, allowed: set[Decimal]) -> None:
    """Raise Rejected unless every number in `text` is an allowed number, as rounded."""
    for number, half in numbers_in(text):
        if not any(abs(abs(number) - a) <= half for a in allowed):
            raise Rejected(f"the number {number} is not in the cited findings")


# --- The model ----------------------------------------------------------------------------


def model_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


def client() -> openai.OpenAI:
    """The one model client (narration here, questions in `ask`): its timeouts, no retries."""
    return openai.OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL or None,
        # Two timeouts and a bound (docs/architecture.md, "Stalled dependencies"): a short
        # connect, and the whole call (read included) cut at INSIGHTS_LLM_TIMEOUT_SECONDS.
        timeout=openai.Timeout(
            float(settings.INSIGHTS_LLM_TIMEOUT_SECONDS),
            connect=min(2.0, float(settings.INSIGHTS_LLM_TIMEOUT_SECONDS)),
        ),
        max_retries=0,
    )


def complete(system: str, payload: dict, *, response_format: dict, max_tokens: int = 400) -> str:
    """The model's raw answer to a JSON payload under a system prompt; raises openai errors
    or Rejected when it is empty."""
    response = client().chat.completions.create(  # type: ignore[call-overload]
        model=settings.OPENAI_MODEL or "gpt-4o-mini",
        messages=[
            {"role": "system", "content": system},
            {"role": "user", "content": json.dumps(payload, default=str)},
        ],
        response_format=response_format,
        temperature=0.2,
        max_tokens=max_tokens,
    )
    content = response.choices[0].message.content if response.choices else None
    if not content:
        raise Rejected("the answer was empty")
    return content


def ask_model(payload: dict) -> str:
    """The model's raw answer to the findings payload; raises openai errors."""
    return complete(SYSTEM_PROMPT, payload, response_format={"type": "json_object"})


def failure_reason(exc: Exception) -> str:
    """Why a model's answer was not used, for the log and the fallback's reason."""
    if isinstance(exc, openai.APITimeoutError):
        return "the model timed out"
    if isinstance(exc, openai.RateLimitError):
        return "the model is rate-limited (429)"
    if isinstance(exc, openai.APIStatusError):
        return f"the model answered HTTP {exc.status_code}"
    if isinstance(exc, Rejected):
        return f"the answer was rejected: {exc}"
    return f"the model could not be reached: {type(exc).__name__}"


# What a call to the model may raise that falls back to computed wording.
MODEL_ERRORS = (openai.APIError, Rejected)


def parse_answer(content: str, findings: list[Finding]) -> Narrative:
    """Validate the model's answer against the findings and put the names back."""
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        raise Rejected("the answer was not valid JSON") from None
    sentences = data.get("sentences") if isinstance(data, dict) else None
    if not isinstance(sentences, list) or not sentences:
        raise Rejected("the answer had no sentences")
    by_id = {f.id: f for f in findings}
    names = placeholders(findings)
    back = {token: subject.name for subject, token in names.items()}
    texts: list[str] = []
    cited: list[str] = []
    for sentence in sentences[:MAX_SENTENCES]:
        if not isinstance(sentence, dict):
            raise Rejected("a sentence was not an object")
        text, ids = sentence.get("text"), sentence.get("finding_ids")
        if not isinstance(text, str) or not text.strip():
            raise Rejected("a sentence had no text")
        if not isinstance(ids, list) or not ids or not all(i in by_id for i in ids):
            raise Rejected("a sentence cited no finding, or one that does not exist")
        allowed: set[Decimal] = set()
        for finding_id in ids:
            allowed |= allowed_numbers(by_id[finding_id], names)
        check_numbers(text, allowed)
        for match in PLACEHOLDER_RE.finditer(text):
            if match.group(0) not in back:
                raise Rejected(f"the answer used an unknown placeholder {match.group(0)}")
        texts.append(text.strip())
        cited += [i for i in ids if i not in cited]
    text = " ".join(texts)
    if len(text) > MAX_TEXT:
        raise Rejected("the answer was too long")
    text = PLACEHOLDER_RE.sub(lambda m: back[m.group(0)], text)
    return Narrative(text, "llm", cited)


def narrate(findings: list[Finding], period_label: str, compare_label: str) -> Narrative:
    """The model's wording when it can be trusted, else the computed one (reason logged)."""
    if not findings:
        return computed_narrative(findings, period_label)
    payload = prompt_payload(findings, period_label, compare_label)
    try:
        return parse_answer(ask_model(payload), findings)
    except MODEL_ERRORS as exc:
        reason = failure_reason(exc)
    log.warning("insights narration fell back to computed wording: %s", reason)
    return computed_narrative(findings, period_label, reason=reason)
