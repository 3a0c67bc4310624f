"""The optional model over real HTTP (the insights narration's fake OpenAI server, the real
client): a good intent is answered with the metric layer's numbers and its checked sentence;
an invalid intent is refused; a sentence with a wrong number gives way to the computed one; a
timeout falls back to the parser's refusal in bounded time; only aggregates reach the model."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time

import pytest
from django.test import Client

from ask.model import INTENT_PROMPT
from insights.models import NarrationUsage
from tests.insights.builders import customers, orders_on, qld_and_nsw_orders
from tests.insights.test_narration import INJECTION, FakeModel, completion, serving

QUESTION = "how did the sunshine state go in spring 2025"  # the parser reads no metric here
GOOD_INTENT = {
    "answerable": True,
    "metrics": ["revenue"],
    "range": {"preset": None, "from": "2025-09-01", "to": "2025-09-30"},
    "compare": "previous_period",
    "filters": {
        "state": "QLD",
        "customer_kind": None,
        "category": None,
        "stage": None,
        "claim_kind": None,
    },
    "by": None,
    "top": None,
    "interval": None,
}


class AskModel(FakeModel):
    """Answers the intent call with `intent` and the wording call with `text`."""

    def __init__(self):
        super().__init__()
        self.intent = GOOD_INTENT
        self.text = "Revenue for QLD was $30,000 in September, up 200.0% on $10,000."

    def answer(self, request: dict) -> tuple[int, dict]:
        if request["messages"][0]["content"] == INTENT_PROMPT:
            content = json.dumps(self.intent)
        else:
            content = json.dumps({"text": self.text})
        return 200, completion(content)


@pytest.fixture
def model(settings):
    yield from serving(AskModel(), settings)


@pytest.fixture
def rows(ask_org):
    qld_and_nsw_orders(ask_org)
    # A customer named like an instruction: its name must never reach the model.
    big = customers(ask_org, 1, state="QLD", prefix=INJECTION)[0]
    orders_on(ask_org, dt.date(2025, 9, 10), [1], itertools.repeat(big))
    return ask_org


def ask(user, q=QUESTION):
    client = Client()
    client.force_login(user)
    return client.get("/api/dashboard/ask", {"q": q})


def test_a_good_intent_is_answered_by_the_metric_layer_with_the_models_checked_sentence(
    model, rows, people
):
    response = ask(people["admin"])
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "llm"
    assert body["intent"]["filters"] == {"state": "QLD"}
    entry = body["result"]["metrics"]["revenue"]
    # QLD in September: 30 orders of $1,000 and the 1-cent order; August: 10 of $1,000.
    assert (entry["value"], entry["previous"]) == (3_000_001, 1_000_000)
    assert body["text"] == model.text
    assert body["text_source"] == "llm"
    # Structured output, and only aggregates: no record text in either request.
    intent_call, wording_call = (json.loads(b) for b in model.bodies)
    assert intent_call["response_format"]["type"] == "json_schema"
    assert all(INJECTION not in b and "Queensland 0" not in b for b in model.bodies)
    assert "question" in json.loads(wording_call["messages"][1]["content"])
    assert NarrationUsage.objects.get(organization=rows).calls == 2  # the narration's budget


def test_an_invalid_intent_is_refused_like_the_parsers(model, rows, people):
    model.intent = {**GOOD_INTENT, "metrics": ["profit"]}
    response = ask(people["admin"])
    assert response.status_code == 422
    assert response.json()["error"] == "There is no metric 'profit'"
    model.intent = {**GOOD_INTENT, "filters": {**GOOD_INTENT["filters"], "state": "Narnia"}}
    assert ask(people["admin"]).status_code == 422


def test_a_wrong_number_or_an_unknown_name_in_the_sentence_keeps_the_computed_one(
    model, rows, people
):
    for text in (
        "Revenue for QLD was $31,000 in September.",  # not the result's number
        "Mitchell brought in $30,000 for QLD in September.",  # a name the answer does not hold
    ):
        model.text = text
        body = ask(people["admin"]).json()
        assert body["source"] == "llm"
        assert body["text_source"] == "computed"
        assert body["text"].startswith("Revenue for customer state QLD, 1 – 30 Sep 2025: $30,000,")


def test_a_timeout_falls_back_to_the_parsers_refusal_in_bounded_time(model, rows, people):
    model.mode = "slow"
    started = time.monotonic()
    response = ask(people["admin"])
    assert time.monotonic() - started < 5
    assert response.status_code == 422
    assert response.json()["error"] == "I can't answer that: no metric was named."


def test_the_model_is_not_asked_what_the_parser_reads_or_refuses_on_purpose(model, rows, people):
    assert ask(people["admin"], "revenue in QLD in September 2025").json()["source"] == "parser"
    assert ask(people["admin"], "forecast revenue next quarter").status_code == 422
    assert model.bodies == []


def test_a_spent_budget_means_no_call(model, rows, people, settings):
    settings.INSIGHTS_DAILY_LLM_CALLS = 0
    assert ask(people["admin"]).status_code == 422
    assert model.bodies == []
