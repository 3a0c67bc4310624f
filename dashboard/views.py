"""The dashboard screen: the page, its widget fragments, the activity feed and layout edits.

One template, dashboard/dashboard.html; htmx requests get one of its partials. The period
lives in the query string (metrics.periods), so every URL here reproduces its view.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.template.loader import get_template, render_to_string
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url, reswap

from accounts.cache import owners_key
from accounts.permissions import can_save_layout, require, sees_own_rows_only
from alerts.queries import follows_key
from alerts.templatetags.follow import card_control
from annotations.actions import may_add
from dashboard import layouts
from dashboard.forms import (
    CUSTOM,
    AddWidgetForm,
    MoveForm,
    ReorderForm,
    ResizeForm,
    compare_choices,
    period_params,
    range_choices,
)
from infra import after_response, server_timing
from infra.contextcache import context_cache
from insights.actions import dismissed_key, do_dismiss_finding
from insights.narration import model_configured
from insights.queries import findings_for, findings_token, stored_or_queued as findings_ready
from metrics import cache as metric_cache
from metrics.filters import BAR_FILTERS, FILTERS, InvalidFilter, owner_choices, parse_filters
from metrics.periods import (
    COMPARISONS,
    DEFAULT_COMPARE,
    DEFAULT_PRESET,
    InvalidPeriod,
    comparison_label,
    comparison_name,
    parse_state,
    range_label,
)
from presentation import widgets

log = logging.getLogger("renoz.dashboard")
TEMPLATE = "dashboard/dashboard.html"


def _state(request):
    """The period and filters of the request; raises InvalidPeriod or InvalidFilter with a
    message for people. A technician's numbers are their own, so they have no owner filter."""
    organization = request.user.organization
    state = parse_state(period_params(request.GET), organization)
    filters = parse_filters(request.GET, organization)
    if sees_own_rows_only(request.user):
        filters = tuple(f for f in filters if f[0] != "owner")
    return dataclasses.replace(state, filters=filters)


def _filter_bar(request, state) -> dict:
    """The filter bar: a select per filter of the bar, and a removable chip per active filter."""
    organization = request.user.organization
    own_rows_only = sees_own_rows_only(request.user)  # so no owner filter, and no owner query
    owners = [] if own_rows_only else owner_choices(organization)
    active = dict(state.filters)
    fields = []
    for name in BAR_FILTERS:
        if name == "owner" and own_rows_only:
            continue
        spec = FILTERS[name]
        choices = owners if name == "owner" else list(spec.choices)
        fields.append(
            {"name": name, "label": spec.label, "choices": choices, "value": active.get(name, "")}
        )
    hidden = [(k, v) for k, v in state.filters if k not in BAR_FILTERS]
    chips = [
        {
            "label": FILTERS[name].label,
            "value": FILTERS[name].value_label(value, dict(owners)),
            "remove_url": reverse("dashboard-home")
            + "?"
            + urlencode({k: v for k, v in state.params().items() if k != name}),
        }
        for name, value in state.filters
    ]
    return {"fields": fields, "hidden": hidden, "chips": chips, "count": len(state.filters)}


def _default_state(request):
    return parse_state({}, request.user.organization)


def _slot(widget: dict, index: int, count: int, request, state, *, data=None, error=None) -> dict:
    spec = widgets.CATALOGUE[widget["type"]]
    return {
        "id": widget["id"],
        "type": widget["type"],
        "kind": spec.kind,
        "metric": widget["settings"].get("metric"),  # a KPI's, for its follow control
        "size": widget["size"],
        "title": spec.title_for(widget["settings"]),
        "url": _widget_path(widget["id"]) + "?" + state.querystring(),
        "fig_id": f"fig-{widget['id']}",
        "data": data,
        "error": error,
        # KPI cards are computed and refreshed together (#kpi-refresh), never one by one.
        "grouped": spec.kind == "kpi" and (data is not None or error is not None),
        "first": index == 0,
        "last": index == count - 1,
    }


# A widget's own URL by its id and the script prefix: the URLconf does not change while a
# process runs, and reverse() per widget was about 1 ms of a cached page (docs/scaling.md,
# "Issue 25").
_WIDGET_PATHS: dict[tuple[str, str], str] = {}
WIDGET_PATHS_KEPT = 4096


def _widget_path(widget_id: str) -> str:
    key = (get_script_prefix(), widget_id)
    path = _WIDGET_PATHS.get(key)
    if path is None:
        if len(_WIDGET_PATHS) >= WIDGET_PATHS_KEPT:
            _WIDGET_PATHS.clear()
        path = _WIDGET_PATHS[key] = reverse("dashboard-widget", args=[widget_id])
    return path


WIDGET_ERROR = "This widget could not be loaded."


def _is_kpi(widget: dict) -> bool:
    return widgets.CATALOGUE[widget["type"]].kind == "kpi"


def _kpi_results(request, state, layout: list[dict]) -> dict[str, tuple[dict | None, str | None]]:
    """{widget id: (context, error)} of every KPI card of the layout, computed together."""
    kpis = [w for w in layout if _is_kpi(w)]
    if not kpis:
        return {}
    try:
        built = widgets.build_kpis(layout, request.user.organization, request.user, state)
    except Exception:
        log.exception("the KPI cards failed")
        return {w["id"]: (None, WIDGET_ERROR) for w in kpis}
    return {w["id"]: (built[w["id"]], None) for w in kpis}


# Bump when the widget_body partial changes, so rendered fragments of the old markup go.
FRAGMENT_VERSION = 3


def _fragment_keys(request, state, layout: list[dict]) -> dict[str, tuple[str, str]]:
    """{widget id: (the key of its value, the key of its rendered body)} for every widget
    whose body is the same for everyone who reads its value (not per user), keyed by its
    value's key (so by the data versions it was computed from), the widget and the page's URL
    state."""
    org = request.user.organization
    page = f"{FRAGMENT_VERSION}:{state.querystring()}:{int(state.to_date)}"
    digest = hashlib.sha256(page.encode()).hexdigest()[:16]
    widgets.load_key_versions(layout, org, state, request.user)
    out = {}
    for w in layout:
        name = f"{w['id']}:{digest}"
        value = widgets.widget_key(w, org, state, request.user)
        key = metric_cache.fragment_key(value, name)
        if value is not None and key is not None:
            out[w["id"]] = (value, key)
    return out


def _build(request, state, widget: dict) -> tuple[dict | None, str | None]:
    try:
        with server_timing.section(widget["type"]):
            built = widgets.build_widget(
                widget, request.user.organization, request.user, state, ready=True
            )
        return built, None
    except Exception:
        log.exception("widget %s (%s) failed", widget["type"], widget["id"])
        return None, WIDGET_ERROR


def _slots(request, state, layout: list[dict]) -> list[dict]:
    """Every widget of the layout, in one pass: a rendered body from the cache when its data
    has not changed (one round trip for all of them), else computed now: the KPI cards
    together (one get_metrics, one targets read), the others each from the cache or the
    metric layer, all sharing one read of the data versions and of each source's history
    (metrics.cache.page_pass). htmx fetches a widget again only to refresh it."""
    org = request.user.organization
    # What the page stores goes to Redis after its response is sent (infra.after_response):
    # the reader does not wait for it.
    with metric_cache.page_pass(org.pk, defer=after_response.defer):
        both = _fragment_keys(request, state, layout)
        keys = {i: fragment for i, (_value, fragment) in both.items()}
        ids = list(keys)
        rendered = dict(zip(ids, metric_cache.get_fragments([keys[i] for i in ids]), strict=True))
        missing = [w for w in layout if not rendered.get(w["id"])]
        # The values behind the bodies not found, and the payloads each chart reads, looked
        # up (and locked) in one round trip.
        metric_cache.prefetch(
            [both[w["id"]][0] for w in missing if w["id"] in both]
            + [
                key
                for w in missing
                if w["id"] in both
                for key in widgets.payload_keys(w, org, request.user, state)
            ]
        )
        with server_timing.section("kpis"):
            kpis = _kpi_results(request, state, missing) if any(map(_is_kpi, missing)) else {}
        ahead = _insights_keys(request, state, [w for w in missing if w["id"] not in kpis])
        slots, fresh = [], {}
        for i, w in enumerate(layout):
            html = rendered.get(w["id"])
            data = error = None
            if not html and w["id"] not in ahead:  # insights keyed ahead: built if not found
                data, error = kpis[w["id"]] if w["id"] in kpis else _build(request, state, w)
            slot = _slot(w, i, len(layout), request, state, data=data, error=error)
            if not html and w["id"] in keys and error is None:
                html = render_to_string(
                    f"{TEMPLATE}#widget_body", {"w": slot, "state": state}, request
                )
                fresh[keys[w["id"]]] = html
            slot["html"] = mark_safe(html) if html else None  # noqa: S308 - our own template
            slots.append(slot)
        metric_cache.set_fragments(fresh)
        _personal_bodies(request, state, slots, ahead)
    return slots


# Per-user widgets whose rendered body is cached under a digest of what it shows
# (metrics.cache.content_key): the activity feed, and insights (with the page's URL, which its
# "Reload" link carries, and its "Not useful" forms' CSRF token left as CSRF_SLOT, filled in
# at each read: the token is the reader's own).
CONTENT_KEYED = frozenset({"feed", "insights"})
CSRF_SLOT = "__renoz_csrf_token__"
# Marks an insights body kept ahead while its findings were not stored (_personal_bodies), and
# how long one is kept while only the model's narrative is missing.
WAITING = "<!--waiting-->"
WAITING_BODY_SECONDS = 3


def _insights_keys(request, state, widgets_: list[dict]) -> dict[str, tuple[str, dict]]:
    """{widget id: (the key of its rendered body, the widget)} of the insights widgets among
    these, named before their findings are read (insights.queries.findings_token: the
    versions of what the findings are made of, the findings the user hid), with the widget
    and the page's URL: a cached page reads that one key, not the findings' parts, the
    annotations they cite and the narrative. Empty when Redis is down."""
    wanted = [w for w in widgets_ if w["type"] == "insights"]
    if not wanted:
        return {}
    user = request.user
    with server_timing.section("insights"):
        token = findings_token(user.organization, state, user)
    if token is None:
        return {}
    out = {}
    for w in wanted:
        key = _ahead_key(user, state, w, token)
        if key is not None:
            out[w["id"]] = (key, w)
    return out


def _ahead_key(user, state, widget: dict, token: str) -> str | None:
    """The key of an insights body: by the state as its links spell it, not the page's raw
    URL (a final body shows no raw URL), so the worker that stored the findings can render
    it ahead of the page (prerender_insights)."""
    content = json.dumps(
        [FRAGMENT_VERSION, state.querystring(), widget, token, user.role],
        sort_keys=True,
        default=str,
    )
    return metric_cache.content_key(user.organization_id, "insights-ahead", content)


def prerender_insights(organization, user, state) -> None:
    """Once the worker stored a user's findings (insights.tasks.store_findings_for), render
    their insights body for the next page, under the key it reads it by: that page then
    builds nothing. Only a final body (fresh findings and, with a model, its narrative)."""
    layout, _own = layouts.get_layout(user)
    wanted = [(i, w) for i, w in enumerate(layout) if w["type"] == "insights"]
    if not wanted:
        return
    # Tricky: the key's versions are read before the findings, so a body is never stored
    # under versions newer than the findings it shows.
    token = findings_token(organization, state, user)
    if token is None:
        return
    fresh = {}
    for index, w in wanted:
        key = _ahead_key(user, state, w, token)
        data = widgets.build_widget(w, organization, user, state, ready=True)
        slot = _slot(w, index, len(layout), None, state, data=data)
        if key is None or not _final(slot):
            continue
        # Without a request: the partial reads no context processor's value (only a pending
        # body's "Reload" link reads the request, and a pending body is not stored here).
        context = {"state": state, "qs": state.querystring(), "csrf_token": CSRF_SLOT, "w": slot}
        fresh[key] = render_to_string(f"{TEMPLATE}#widget_body", context)
    metric_cache.set_fragments(fresh)


def _final(slot: dict) -> bool:
    """An insights body that stays what it is until its inputs change: its findings stored
    for the current data and, when a model is configured, the model's narrative (else the
    worker stores another wording later)."""
    data = slot["data"]
    return not data["pending"] and (data["narrative"]["source"] == "llm" or not model_configured())


def _content_keys(request, slots: list[dict]) -> dict[str, dict]:
    """{key: slot} of the per-user slots in CONTENT_KEYED with data and no body yet, each
    keyed by a digest of everything its partial reads."""
    org_id = request.user.organization_id
    path = request.get_full_path()
    keys = {}
    for slot in slots:
        if slot["html"] or slot["kind"] not in CONTENT_KEYED or slot["data"] is None:
            continue
        content = json.dumps(
            [FRAGMENT_VERSION, path, {k: v for k, v in slot.items() if k != "html"}],
            sort_keys=True,
            default=str,
        )
        key = metric_cache.content_key(org_id, slot["kind"], content)
        if key is not None:
            keys[key] = slot
    return keys


def _page_token(request) -> str:
    """The CSRF token of the page's own forms (the insights' "Not useful", the cards' follow
    controls), masked once for the page as the template's `csrf_token` is: masking costs
    32 random choices, and a page spelled them for each widget that carries a form."""
    token = getattr(request, "_renoz_page_token", None)
    if token is None:
        token = request._renoz_page_token = get_token(request)
    return token


def _fill(request, slot: dict, html: str) -> None:
    if CSRF_SLOT in html:
        html = html.replace(CSRF_SLOT, _page_token(request))
    slot["html"] = mark_safe(html)  # noqa: S308 - our own template


def _personal_bodies(request, state, slots: list[dict], ahead: dict) -> None:
    """Fill in the rendered body of each per-user widget in CONTENT_KEYED from the cache (one
    round trip for all of them), rendering and storing those not found. Its key is a digest of
    everything the partial reads (the slot and its data: the feed's rows with "when" worded
    now, the findings the user has not hidden), so a new row, another wording of "when", a
    hidden finding or another filter is another key, and nothing has to drop one. Insights
    keyed `ahead` (_insights_keys, not built yet) are read in the same round trip; one not
    found is built and rendered now, and stored for the next page once it is final."""
    by_id = {slot["id"]: slot for slot in slots}
    ahead_slots = {key: by_id[widget_id] for widget_id, (key, _w) in ahead.items()}
    keys = ahead_slots | _content_keys(request, slots)
    if not keys:
        return
    found = metric_cache.get_fragments(list(keys), counted=False)
    fresh: dict[str, str] = {}
    brief: dict[str, str] = {}
    context = {"state": state, "qs": state.querystring(), "csrf_token": CSRF_SLOT}
    for (key, slot), html in zip(keys.items(), found, strict=True):
        if html and key in ahead_slots and html.startswith(WAITING):
            # Tricky: storing the findings does not change the key ahead, so a body kept
            # while they were missing is used only while they still are.
            user = request.user
            stored = findings_ready(user.organization, state, user)
            html = None if stored else html.removeprefix(WAITING)
        if not html and key in ahead_slots:
            slot["data"], slot["error"] = _build(request, state, ahead[slot["id"]][1])
            if slot["error"] is not None:
                continue  # its error state, rendered with the page
        if not html:
            html = render_to_string(f"{TEMPLATE}#widget_body", {**context, "w": slot}, request)
            if key not in ahead_slots or _final(slot):
                fresh[key] = html
            elif slot["data"]["pending"]:
                fresh[key] = WAITING + html
            else:  # the model's narrative is not stored yet: about one poll of the widget
                brief[key] = html
        _fill(request, slot, html)
    metric_cache.set_fragments(fresh)
    metric_cache.set_fragments(brief, ttl=WAITING_BODY_SECONDS)


def context_keys(user) -> list[str]:
    """The request context cache entries a dashboard page reads besides its session and user:
    read in one round trip (infra.contextcache, prefetched) instead of one each."""
    return context_keys_for(user.pk, user.organization_id)


def context_keys_for(user_id: int, org_id: int) -> list[str]:
    return [
        layouts.version_key(org_id),
        layouts.layout_key(user_id, org_id),
        follows_key(user_id),  # the cards' follow stars (alerts.queries.followed_cards)
        owners_key(org_id),  # the owner filter's choices
        dismissed_key(user_id),  # the findings the user hid
    ]


def page_plan(request, user_id: int, org_id: int) -> list[str]:
    """The page's request context, read with its user (infra.contextcache.plan; registered
    in dashboard.apps): the session, then one round trip for the user and all of it."""
    if request.path_info != reverse("dashboard-home"):
        return []
    return context_keys_for(user_id, org_id)


def _page_context(request, state, *, editing: bool, layout=None) -> dict:
    if layout is None:
        layout, _own = layouts.get_layout(request.user)
    qs = state.querystring()
    slots = _slots(request, state, layout)
    if not editing:
        _sections(request, state, slots)
    context = {
        "organization": request.user.organization,
        "state": state,
        "qs": qs,
        "slots": slots,
        "kpis_url": reverse("dashboard-kpis") + "?" + qs
        if any(slot["kind"] == "kpi" for slot in slots)
        else "",
        "editing": editing,
        "can_edit": can_save_layout(request.user),
        "can_annotate": may_add(request.user),
        "range_text": range_label(state),
        "comparison_text": comparison_label(state),
        "compare_name": comparison_name(state.compare),
        "form": _controls(state.params()),
        "filter_bar": _filter_bar(request, state),
        "catalogue": widgets.catalogue_choices(request.user) if editing else (),
        "sizes": widgets.SIZES.items(),
        "default_name": layouts.LAYOUT_TITLES[
            layouts.ROLE_LAYOUT.get(request.user.role, "executive")
        ],
        "today": timezone.now().astimezone(state.tz).date(),
    }
    context["controls_html"] = _controls_html(context)
    return context


def _sections(request, state, slots: list[dict]) -> None:
    """Each widget with a rendered body, spelled whole in Python (the grid's `widget`
    partial, outside edit mode): its section, the body and a card's follow control. A cached
    page draws a dozen of them, and the partial's template work was most of the grid's."""
    token = None
    for slot in slots:
        if not slot["html"]:
            continue  # the template renders it (an error, or a body not rendered here)
        follow = ""
        if slot["kind"] == "kpi":
            token = token or _page_token(request)
            follow = card_control(request, slot["metric"], state, csrf_token=token)
        slot["section"] = mark_safe(  # noqa: S308 - its parts escaped or our own markup
            _section_open(slot["size"], slot["kind"], slot["id"])
            + slot["html"]
            + "\n  "
            + conditional_escape(follow)
            + "\n</section>"
        )


# The opening of a widget's section, by what it shows: the same few dozen for every page.
_SECTION_OPENINGS: dict[tuple[str, str, str], str] = {}
SECTION_OPENINGS_KEPT = 4096


def _section_open(size: str, kind: str, widget_id: str) -> str:
    """`<section …>` of a widget as the grid's `widget` partial spells it, escaped once per
    process (format_html per widget was a fifth of _sections)."""
    key = (size, kind, widget_id)
    opening = _SECTION_OPENINGS.get(key)
    if opening is None:
        if len(_SECTION_OPENINGS) >= SECTION_OPENINGS_KEPT:
            _SECTION_OPENINGS.clear()
        opening = _SECTION_OPENINGS[key] = format_html(
            '<section class="widget size-{} kind-{}" id="w-{}" data-widget-id="{}" '
            'aria-labelledby="wt-{}">\n  ',
            size,
            kind,
            widget_id,
            widget_id,
            widget_id,
        )
    return opening


# The period controls and filter bar as rendered, by a digest of everything they show: the
# same for many pages and users, so each process keeps the last few hundred (no round trip;
# a digest names its content, so no entry is ever stale).
_CONTROLS: dict[str, SafeString] = {}
CONTROLS_KEPT = 256


def _controls_html(context: dict) -> SafeString:
    shown = [
        context["state"].label,
        context["compare_name"],
        context["filter_bar"],
        context["form"],
        context["can_edit"],
        context["editing"],
        context["qs"],
        context["today"],
    ]
    key = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()
    html = _CONTROLS.get(key)
    if html is None:
        if len(_CONTROLS) >= CONTROLS_KEPT:
            _CONTROLS.clear()
        # Tricky: without the request, so no context processor runs; the partial reads
        # nothing but these values.
        html = _CONTROLS[key] = mark_safe(get_template(f"{TEMPLATE}#controls").render(context))  # noqa: S308
    return html


def _controls(params) -> dict:
    """What the period controls show: the chosen preset or custom dates, and the comparison."""
    custom = "from" in params or "to" in params or params.get("range") == CUSTOM
    return {
        "range": CUSTOM if custom else params.get("range") or DEFAULT_PRESET,
        "from": params.get("from", ""),
        "to": params.get("to", ""),
        "compare": params.get("compare")
        if params.get("compare") in COMPARISONS
        else DEFAULT_COMPARE,
        "custom": custom,
        "range_choices": range_choices(),
        "compare_choices": compare_choices(),
    }


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _home_url(state, *, editing: bool = False) -> str:
    extra = {"edit": "1"} if editing else {}
    return reverse("dashboard-home") + "?" + state.querystring(**extra)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard(request):
    """The dashboard page; htmx gets the #dashboard region with the new URL pushed."""
    editing = request.GET.get("edit") == "1" and can_save_layout(request.user)
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter) as exc:
        context = {
            "organization": request.user.organization,
            "error": str(exc),
            "form": _controls(request.GET),
            "can_edit": False,
            "today": timezone.now().astimezone(request.user.organization.tz).date(),
        }
        template = f"{TEMPLATE}#dashboard" if _is_partial(request) else TEMPLATE
        return TemplateResponse(request, template, context, status=400)
    # Someone reads this organisation's dashboards: the re-warm after a refresh keeps its
    # common states' values computed (dashboard.tasks.rewarm_after_refresh).
    metric_cache.note_readers(request.user.organization_id)
    # Rendered inside too: the cards' follow stars are read while the template renders.
    with context_cache.prefetched(context_keys(request.user)):
        context = _page_context(request, state, editing=editing)
        if _is_partial(request):
            response = TemplateResponse(request, f"{TEMPLATE}#dashboard", context)
            return push_url(response.render(), _home_url(state, editing=editing))
        return TemplateResponse(request, TEMPLATE, context).render()


@login_required
@require_GET
def widget(request, widget_id: str):
    """One widget's body, computed now (or from the cache); its error state if that fails."""
    return _widget_body(request, widget_id)


def _widget_body(request, widget_id: str):
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter) as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    layout, _own = layouts.get_layout(request.user)
    found = layouts.find_widget(layout, widget_id)
    if found is None:
        raise Http404("No such widget on your dashboard")
    index = layout.index(found)
    data = error = None
    if _is_kpi(found):
        # The card's numbers come from its layout's KPI computation (the page's own).
        data, error = _kpi_results(request, state, layout)[widget_id]
    else:
        try:
            data = widgets.build_widget(found, request.user.organization, request.user, state)
        except Exception:
            log.exception("widget %s (%s) failed", found["type"], widget_id)
            error = WIDGET_ERROR
    slot = _slot(found, index, len(layout), request, state, data=data, error=error)
    return TemplateResponse(
        request, f"{TEMPLATE}#widget_body", {"w": slot, "state": state, "qs": state.querystring()}
    )


@login_required
@require_GET
def kpis(request):
    """Every KPI card of the user's layout in one response, each swapped into place out of
    band (the dashboard's refresh): one computation for all the cards."""
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter) as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    layout, _own = layouts.get_layout(request.user)
    results = _kpi_results(request, state, layout)
    slots = []
    for i, w in enumerate(layout):
        if w["id"] in results:
            data, error = results[w["id"]]
            slots.append(_slot(w, i, len(layout), request, state, data=data, error=error))
    context = {"slots": slots, "state": state, "qs": state.querystring(), "oob": True}
    return TemplateResponse(request, f"{TEMPLATE}#kpi_bodies", context)


@login_required
@require_POST
def insight_dismiss(request, widget_id: str):
    """ "Not useful" on a finding of an insights widget: hidden for this user from now on;
    htmx gets the widget's body again, without it."""
    layout, _own = layouts.get_layout(request.user)
    found = layouts.find_widget(layout, widget_id)
    if found is None or found["type"] != "insights":
        raise Http404("No such insights widget on your dashboard")
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter):
        state = _default_state(request)
    finding = request.POST.get("finding", "").strip()
    # Only a finding the user can see in this state: any other id (another organisation's
    # included) is a 404.
    if finding and finding not in {
        f.id for f in findings_for(request.user.organization, request.user, state)
    }:
        raise Http404("No such finding in your insights")
    try:
        do_dismiss_finding(request.user, finding)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    if not _is_partial(request):
        return HttpResponseRedirect(_home_url(state))
    return _widget_body(request, widget_id)


@login_required
@require_GET
def activity(request):
    """Feed rows: the next page (`before`), newer rows (`after`) or a fresh list by kind, in
    the dashboard filters the links carry."""
    try:
        filters = parse_filters(request.GET, request.user.organization)
    except InvalidFilter as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    page = widgets.feed_page(
        request.user.organization,
        request.user,
        kind=request.GET.get("kind") or None,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
        now=timezone.now(),
        filters=filters,
    )
    if request.GET.get("after") and not page["items"]:
        page["newest"] = request.GET["after"]
    context = {
        "d": page,
        "before": request.GET.get("before"),
        "after": request.GET.get("after"),
    }
    return TemplateResponse(request, f"{TEMPLATE}#feed_rows", context)


# --- Layout edits -----------------------------------------------------------------------


def _layout_response(request, layout, message: str, *, focus: str = "", status: int = 200):
    """htmx: the new grid (edit mode) with a status message; otherwise back to the page."""
    try:
        state = _state(request)
    except (InvalidPeriod, InvalidFilter):
        state = _default_state(request)
    if not _is_partial(request):
        return HttpResponseRedirect(_home_url(state, editing=True))
    context = _page_context(request, state, editing=True, layout=layout)
    context.update({"message": message, "focus": focus})
    return TemplateResponse(request, f"{TEMPLATE}#grid_update", context, status=status)


def _status_only(request, message: str, *, alert: bool = False, status: int = 200):
    """An htmx response that swaps nothing but the status message (out of band)."""
    response = TemplateResponse(
        request,
        f"{TEMPLATE}#layout_status",
        {"message": message, "alert": alert, "oob": True},
        status=status,
    )
    return reswap(response, "none")


def _layout_error(request, message: str, status: int = 400):
    if _is_partial(request):
        return _status_only(request, message, alert=True, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _title(widget: dict) -> str:
    return widgets.CATALOGUE[widget["type"]].title_for(widget["settings"])


@require(can_save_layout)
@require_POST
def layout_add(request):
    form = AddWidgetForm(request.POST)
    if not form.is_valid():
        return _layout_error(request, "Choose a widget from the catalogue")
    widget_type, settings = form.widget_spec()
    try:
        layout, new = layouts.do_add_widget(
            request.user, widget_type, settings, form.cleaned_data.get("size") or None
        )
    except layouts.LayoutError as exc:
        return _layout_error(request, str(exc))
    return _layout_response(
        request, layout, f"Added {_title(new)} at the end", focus=f"down-{new['id']}"
    )


@require(can_save_layout)
@require_POST
def layout_remove(request, widget_id: str):
    layout, _own = layouts.get_layout(request.user)
    found = layouts.find_widget(layout, widget_id)
    if found is None:
        raise Http404("No such widget on your dashboard")
    layout = layouts.do_remove_widget(request.user, widget_id)
    return _layout_response(request, layout, f"Removed {_title(found)}", focus="add-widget")


@require(can_save_layout)
@require_POST
def layout_move(request, widget_id: str):
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _layout_error(request, "Move a widget up or down")
    try:
        layout = layouts.do_move_widget(request.user, widget_id, form.offset)
    except LookupError:
        raise Http404("No such widget on your dashboard") from None
    index = next(i for i, w in enumerate(layout) if w["id"] == widget_id)
    direction = form.cleaned_data["direction"]
    # Keep the keyboard where it was, unless that button is now disabled at an end.
    if (direction == "up" and index == 0) or (direction == "down" and index == len(layout) - 1):
        direction = "down" if direction == "up" else "up"
    message = f"Moved {_title(layout[index])} to position {index + 1} of {len(layout)}"
    return _layout_response(request, layout, message, focus=f"{direction}-{widget_id}")


@require(can_save_layout)
@require_POST
def layout_resize(request, widget_id: str):
    form = ResizeForm(request.POST)
    if not form.is_valid():
        return _layout_error(request, "Choose a size: small, medium or large")
    try:
        layout = layouts.do_resize_widget(request.user, widget_id, form.cleaned_data["size"])
    except LookupError:
        raise Http404("No such widget on your dashboard") from None
    found = layouts.find_widget(layout, widget_id)
    assert found is not None  # do_resize_widget raised LookupError otherwise
    size = widgets.SIZES[found["size"]].lower()
    return _layout_response(
        request, layout, f"{_title(found)} is now {size}", focus=f"size-{widget_id}"
    )


@require(can_save_layout)
@require_POST
def layout_reorder(request):
    """Drag and drop: the new order of every widget. htmx gets only the status message."""
    form = ReorderForm(request.POST)
    if not form.is_valid():
        return _layout_error(request, "Give the widget ids, comma-separated")
    try:
        layouts.do_reorder_widgets(request.user, form.cleaned_data["order"])
    except layouts.LayoutError as exc:
        return _layout_error(request, str(exc))
    if _is_partial(request):
        return _status_only(request, "Dashboard order saved")
    return _layout_response(request, None, "")


@require(can_save_layout)
@require_POST
def layout_reset(request):
    layout = layouts.do_reset_layout(request.user)
    return _layout_response(
        request, layout, "Your dashboard is back to its default layout", focus="add-widget"
    )
