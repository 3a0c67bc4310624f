"""Questions in plain words on the screens (docs/ask.md): `GET /api/dashboard/ask?q=…` (JSON)
and `/dashboard/ask/?q=…` (the page; htmx gets its answer partial), both calling `ask`. The
box is `dashboard/_ask_box.html`, on the dashboard and the technician's field view; without
JavaScript it is a GET form to the page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from ask.actions import do_record_question
from ask.answer import BadQuestion, Unanswerable, ask, has_intent_params, public
from ask.chart import drawings
from ask.queries import recent_questions
from dashboard.api import api_login_required
from infra.ratelimit import rate_limited
from metrics.definitions import METRICS
from metrics.formatting import format_change, short
from presentation.wording import direction


def suggestions(keys: list[str]) -> list[dict]:
    """The closest things we can answer, as questions one click away."""
    out = []
    for key in keys:
        question = f"{METRICS[key].label} this month"
        out.append(
            {
                "metric": key,
                "label": METRICS[key].label,
                "question": question,
                "url": f"{reverse('dashboard-ask')}?{urlencode({'q': question})}",
            }
        )
    return out


def _answer(request, *, remember: bool = False) -> tuple[dict | None, dict | None, int]:
    """(answer, refusal, status) for the request's question or intent; `remember` keeps an
    answered question among the user's recent ones (the box's, not the API's)."""
    try:
        answer = ask(request.user.organization, request.user, request.GET)
    except BadQuestion as exc:
        return None, {"error": str(exc), "suggestions": []}, 400
    except Unanswerable as exc:
        refusal = {"error": exc.error, "suggestions": suggestions(exc.suggestions)}
        if exc.unused:
            refusal["unused"] = exc.unused
        return None, refusal, 422
    if remember and request.GET.get("q") and not has_intent_params(request.GET):
        do_record_question(request.user, answer["question"])
    return answer, None, 200


@require_GET
@api_login_required
@rate_limited("ask", what="question")
def ask_api(request):
    """§14: {"question", "intent", "result", "text", "source", "links"} (and the chips, the
    unused words, the scope); a 422 {"error", "suggestions"} when it cannot be answered."""
    answer, refusal, status = _answer(request)
    return JsonResponse(public(answer) if answer else refusal, status=status)


def _numbers(answer: dict) -> list[dict]:
    """The numbers with their comparison, as the page prints them."""
    entries = answer["result"].get("metrics") or {}
    rows = []
    for key in answer["intent"]["metrics"]:
        entry = entries.get(key)
        if entry is None:
            continue
        unit = METRICS[key].unit
        rows.append(
            {
                "label": METRICS[key].label,
                "own": entry.get("scope") == "own",
                "value": short(entry["value"], unit),
                "previous": short(entry["previous"], unit)
                if entry.get("previous") is not None
                else "",
                "change": format_change(entry, unit) or "",
                "direction": direction(entry.get("trend")),
                "good": entry.get("good"),
            }
        )
    return rows


def _table(answer: dict) -> dict | None:
    """A breakdown's rows or a series' points as a table: label, value, comparison."""
    result = answer["result"]
    unit = METRICS[answer["intent"]["metrics"][0]].unit
    if result.get("breakdown"):
        rows = [(r["label"], r) for r in result["breakdown"]["rows"]]
    elif result.get("points"):
        rows = [(p["date"], p) for p in result["points"]]
    else:
        return None

    def cell(value) -> str:
        return short(value, unit) if value is not None else ""

    return {
        "head": ("", "Value", "Comparison"),
        "rows": [(label, cell(r["value"]), cell(r.get("previous"))) for label, r in rows],
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
@rate_limited("ask", what="question")
def ask_page(request):
    """The answer page; htmx gets its `answer` partial to swap under the box."""
    asked = request.GET.get("q") or has_intent_params(request.GET)
    answer, refusal, status = _answer(request, remember=True) if asked else (None, None, 200)
    context = {
        "answer": answer,
        "refusal": refusal,
        "question": request.GET.get("q", "")[:300],
        "recent": recent_questions(request.user),
    }
    if answer:
        title = METRICS[answer["intent"]["metrics"][0]].label
        context["numbers"] = _numbers(answer)
        context["table"] = _table(answer)
        context["charts"] = [(kind, mark_safe(drawn)) for kind, drawn in drawings(answer, title)]  # noqa: S308 - svg escapes its text
    if request.htmx:
        # Tricky: htmx swaps no 4xx (the dashboard's htmx-config), so a refusal the box shows
        # is a 200 there; the page and the API keep their 400 and 422.
        return TemplateResponse(request, "dashboard/ask.html#answer", context)
    return TemplateResponse(request, "dashboard/ask.html", context, status=status)
