"""GET /api/dashboard/ask: the answer's numbers are the metric layer's, as the metrics and
timeseries APIs give them for the gold intent, on rows worked out by hand
(tests/insights/builders.py: August and September 2025, every order $1,000; completed jobs of
10 kWh); the answer's JSON shape (§14); refusals (422); the organisation and the asker's scope."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import User
from ask.answer import resolve
from metrics.definitions import METRICS
from metrics.filters import slice_args
from metrics.periods import parse_state
from metrics.queries import get_breakdown
from tests.ask.conftest import NOW, load_questions
from tests.ask.test_evaluation import gold_intent
from tests.insights.builders import qld_and_nsw_orders, technician_jobs

SEPTEMBER = {"from": "2025-09-01", "to": "2025-09-30"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ask(client, q: str, **extra):
    return client.get("/api/dashboard/ask", {"q": q, **extra})


@pytest.fixture
def rows(ask_org, people):
    qld_and_nsw_orders(ask_org)
    return ask_org


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def test_revenue_in_queensland_is_the_hand_worked_number_and_the_metrics_api(rows, people):
    client = client_for(people["admin"])
    response = ask(client, "revenue in Queensland in September 2025")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"question", "intent", "result", "text", "source", "links"}
    assert body["source"] == "parser"
    assert body["intent"] == {
        "metrics": ["revenue"],
        "range": SEPTEMBER,
        "compare": "previous_period",
        "filters": {"state": "QLD"},
        "by": None,
        "top": None,
        "interval": None,
    }
    entry = body["result"]["metrics"]["revenue"]
    # QLD: 30 orders of $1,000 in September, 10 in August.
    assert (entry["value"], entry["previous"], entry["change_pct"]) == (3_000_000, 1_000_000, 200.0)
    api = client.get(
        "/api/dashboard/metrics", {**SEPTEMBER, "state": "QLD", "metrics": "revenue"}
    ).json()["metrics"]["revenue"]
    assert (api["value"], api["previous"]) == (entry["value"], entry["previous"])
    assert body["text"] == (
        "Revenue for customer state QLD, 1 – 30 Sep 2025: $30,000, up 200.0% vs previous "
        "period ($10,000)."
    )
    query = urlencode({**SEPTEMBER, "compare": "previous_period", "state": "QLD"})
    assert body["links"] == {
        "dashboard": f"/dashboard/?{query}",
        "records": f"/dashboard/drill/revenue/?{query}",
    }


def test_a_breakdown_by_state_adds_up_to_the_card(rows, people):
    client = client_for(people["admin"])
    body = ask(client, "orders by state in September 2025 vs last year").json()
    assert body["intent"]["by"] == "customer_state"
    assert body["intent"]["compare"] == "previous_year"
    table = body["result"]["breakdown"]
    assert [(r["key"], r["value"]) for r in table["rows"]] == [("QLD", 30), ("NSW", 10)]
    assert body["result"]["metrics"]["orders"]["value"] == 40
    assert body["text"].endswith("By customer state, QLD leads with 30, then NSW (10); 2 in all.")


def test_a_series_is_the_timeseries_api(rows, people):
    client = client_for(people["admin"])
    body = ask(client, "revenue in NSW by month between 1 August 2025 and 30 September 2025").json()
    assert body["intent"]["interval"] == "month"
    points = [(p["date"], p["value"]) for p in body["result"]["points"]]
    # NSW: 30 orders in August, 10 in September.
    assert points == [("2025-08-01", 3_000_000), ("2025-09-01", 1_000_000)]
    api = client.get(
        "/api/dashboard/timeseries",
        {
            "from": "2025-08-01",
            "to": "2025-09-30",
            "state": "NSW",
            "metric": "revenue",
            "interval": "month",
        },
    ).json()
    assert [(p["date"], p["value"], p["previous"]) for p in api["points"]] == [
        (p["date"], p["value"], p["previous"]) for p in body["result"]["points"]
    ]


def test_the_question_set_answers_as_the_metrics_api_for_its_gold_intent(
    rows, people, frozen, settings
):
    """Every answerable question asked by the sales user: the ask API's values equal
    /api/dashboard/metrics for the gold intent's URL state, a series equals
    /api/dashboard/timeseries, and a breakdown the metric layer's get_breakdown."""
    settings.RATELIMIT_ASK = "1000/m"
    technician_jobs(rows)
    client = client_for(people["sales"])
    checked = nonzero = 0
    for item in load_questions():
        gold = item.get("intent")
        if item.get("refused") or item.get("as"):
            continue
        want = resolve(rows, people["sales"], gold_intent(gold, people), NOW)[0]
        body = ask(client, item["q"]).json()
        assert body.get("intent") == want.as_json(), (item["q"], body)
        if want.interval:
            api = client.get(
                "/api/dashboard/timeseries",
                {**want.state_params(), "metric": want.metrics[0], "interval": want.interval},
            ).json()
            got = [(p["date"], p["value"], p["previous"]) for p in body["result"]["points"]]
            assert got == [(p["date"], p["value"], p["previous"]) for p in api["points"]], item["q"]
            nonzero += any(v or p for _, v, p in got)
            checked += 1
            continue
        api = client.get(
            "/api/dashboard/metrics", {**want.state_params(), "metrics": ",".join(want.metrics)}
        ).json()["metrics"]
        for key in want.metrics:
            got = body["result"]["metrics"][key]
            assert (got["value"], got["previous"]) == (api[key]["value"], api[key]["previous"]), (
                item["q"]
            )
            nonzero += bool(got["value"] or got["previous"])
        if want.by:
            state = parse_state(want.state_params(), rows)
            state = dataclasses.replace(state, filters=want.filters)
            args = slice_args(state.filters, METRICS[want.metrics[0]].source) or {}
            rows_ = get_breakdown(rows, state, want.metrics[0], want.by, **args)
            shown = rows_[: want.top] if want.top else rows_
            assert [(r["key"], r["value"]) for r in body["result"]["breakdown"]["rows"]] == [
                (r["key"], r["value"]) for r in shown
            ], item["q"]
        checked += 1
    assert checked >= 170
    assert nonzero >= 10  # the sample reaches the hand-worked rows, not only empty ranges


def test_a_question_it_cannot_answer_is_a_422_with_suggestions(rows, people):
    client = client_for(people["admin"])
    response = ask(client, "profit margin last quarter")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "I can't answer that: there is no metric for that."
    assert body["suggestions"] and all(
        set(s) == {"metric", "label", "question", "url"} for s in body["suggestions"]
    )
    response = ask(client, "kWh deployed for batteries")
    assert response.status_code == 422
    assert response.json()["error"] == "kWh deployed cannot be filtered by product category"
    assert "kwh_sold" in [s["metric"] for s in response.json()["suggestions"]]


def test_a_technician_gets_their_own_figures_and_never_anyone_elses(ask_org, people):
    tech = technician_jobs(ask_org)  # 30 September jobs of theirs, 10 of the other tech's
    client = client_for(tech)
    body = ask(client, "my installs in September 2025").json()
    entry = body["result"]["metrics"]["jobs_completed"]
    assert (entry["value"], entry["previous"], entry["scope"]) == (30, 10, "own")
    assert body["scope"] == "own"
    assert body["text"].startswith("Your jobs completed, 1 – 30 Sep 2025: 30,")
    # By technician: their own row only.
    body = ask(client, "kWh by technician in September 2025").json()
    assert [(r["key"], r["value"]) for r in body["result"]["breakdown"]["rows"]] == [
        (tech.pk, 300.0)
    ]
    # Another person's figures, and the sales numbers a technician does not see: refused.
    other = User.objects.get(email="other@renoz.test")
    for question in (f"{other.full_name}'s kWh in September 2025", "revenue in September 2025"):
        response = ask(client, question)
        assert response.status_code == 422, question
    # What it suggests instead is theirs to see: jobs and activities, never sales.
    suggested = [s["metric"] for s in ask(client, "what's the weather").json()["suggestions"]]
    assert suggested and {METRICS[k].source for k in suggested} <= {"jobs", "activities"}
    # A chip's link naming another owner is refused too.
    response = client.get(
        "/api/dashboard/ask", {"metrics": "kwh_deployed", **SEPTEMBER, "owner": str(other.pk)}
    )
    assert response.status_code == 422
    # The organisation's manager reads everyone's: 40 jobs.
    manager = client_for(people["admin"])
    entry = ask(manager, "installs in September 2025").json()["result"]["metrics"]
    assert entry["jobs_completed"]["value"] == 40


def test_another_organisation_is_never_read(rows, people, outsider):
    body = ask(client_for(outsider), "revenue in September 2025").json()
    assert body["result"]["metrics"]["revenue"]["value"] == 0
    response = client_for(outsider).get(
        "/api/dashboard/ask", {"metrics": "revenue", **SEPTEMBER, "owner": str(people["sales"].pk)}
    )
    assert response.status_code == 422  # an owner from another organisation is unknown here


def test_anonymous_callers_get_a_401(db):
    response = Client().get("/api/dashboard/ask", {"q": "revenue"})
    assert response.status_code == 401


def test_a_breakdown_counts_only_the_rows_of_its_range(rows, people):
    """A customer who bought in August only is in the comparison, not among September's
    customers: September has 20 (10 in QLD, 10 in NSW), so "20 in all", not 21."""
    import datetime as dt

    from tests.insights.builders import customers, orders_on

    gone = customers(rows, 1, state="VIC", prefix="Gone")
    orders_on(rows, dt.date(2025, 8, 12), [5_000_000], iter(gone))
    body = ask(client_for(people["admin"]), "top 3 customers in September 2025").json()
    assert body["intent"]["by"] == "customer_id"
    assert body["result"]["breakdown"]["count"] == 20
    assert body["text"].endswith("; 20 in all.")


def test_a_breakdown_with_nothing_in_its_range_names_no_leader(rows, people):
    """October 2025 has no orders; September's states are only its comparison: no state
    "leads with 0"."""
    body = ask(client_for(people["admin"]), "orders by state in October 2025").json()
    assert body["result"]["breakdown"]["count"] == 0
    assert "leads" not in body["text"]
    assert body["text"].endswith("By customer state: no data.")
