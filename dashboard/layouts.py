"""Dashboard layouts: each role's default, each user's own, and the actions that edit them.

A layout is an ordered list of widgets {"id": <32 hex>, "type", "size": "s"|"m"|"l",
"settings"}. A user sees their own saved layout, else their organisation's saved default for
their role, else the built-in default of their role (docs/architecture.md, "The scope rule"). The first edit copies what the user
sees into their own row, ids included, so fragment URLs stay valid. Every read starts from
the user's organisation; a widget id is looked up only inside the user's own layout.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q

from accounts.models import Role
from accounts.permissions import can_save_layout
from dashboard.models import DashboardLayout, PersonalLayout
from infra.contextcache import context_cache
from metrics.definitions import METRICS, owned_metrics
from presentation.widgets import (
    CATALOGUE,
    SIZES,
    WidgetSettingsError,
    build_kpis,
    build_widget,
    cache_name,
    catalogue_choices,
    clean_settings,
)

MAX_WIDGETS = 30
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4b8e-9d0c-2a7f5e9b1c44")


def _kpi(metric: str, size: str = "s") -> tuple[str, str, dict]:
    return ("kpi", size, {"metric": metric})


# Built-in defaults, one per role: name -> [(type, size, settings)].
DEFAULT_LAYOUTS: dict[str, list[tuple[str, str, dict]]] = {
    "executive": [
        _kpi("revenue"),
        _kpi("kwh_deployed"),
        _kpi("quote_win_rate"),
        _kpi("pipeline_value"),
        _kpi("active_installations"),
        _kpi("open_warranty_claims"),
        _kpi("new_customers"),
        _kpi("average_order_value"),
        _kpi("kwh_sold"),
        ("insights", "l", {}),
        ("trend", "l", {"metric": "revenue"}),
        ("pipeline_by_stage", "m", {}),
        ("installations", "m", {}),
        ("sales_by_category", "m", {}),
        ("warranty_claims", "m", {}),
        ("activity_feed", "m", {}),
    ],
    "pipeline": [
        _kpi("pipeline_value"),
        _kpi("weighted_pipeline"),
        _kpi("quote_win_rate"),
        _kpi("quotes_won"),
        ("pipeline_by_stage", "m", {}),
        ("trend", "m", {"metric": "revenue"}),
        _kpi("revenue"),
        _kpi("orders"),
        _kpi("new_customers"),
        _kpi("activities"),
        ("activity_feed", "l", {}),
    ],
    "installations": [
        _kpi("active_installations"),
        _kpi("jobs_completed"),
        _kpi("kwh_deployed"),
        _kpi("labor_hours"),
        ("installations", "l", {}),
        ("warranty_claims", "m", {}),
        ("activity_feed", "m", {}),
    ],
    "my_jobs": [
        _kpi("active_installations", "m"),
        _kpi("kwh_deployed", "m"),
        ("my_jobs", "l", {}),
        ("activity_feed", "l", {}),
    ],
}


def _mine(metric: str, size: str = "s") -> tuple[str, str, dict]:
    return ("personal_kpi", size, {"metric": metric})


# The personal dashboard (/dashboard/me/): each role's own numbers. Sales and technicians own
# rows (their quotes and orders, their jobs), so theirs are their owner slice (personal_kpi).
# Admins, operations and viewers own none: an operations manager sees the team's installation
# work and the claims they handle, admins and viewers the organisation's headline figures
# (kpi: the organisation's numbers for the page's period).
DEFAULT_LAYOUTS |= {
    "me_sales": [
        _mine("quotes_won"),
        _mine("quotes_won_value"),
        _mine("quote_win_rate"),
        _mine("pipeline_value"),
        _mine("activities"),
        _mine("revenue"),
        _mine("orders"),
    ],
    "me_technician": [
        _mine("jobs_completed"),
        _mine("kwh_deployed"),
        _mine("labor_hours"),
        _mine("active_installations"),
        ("my_jobs", "l", {}),
    ],
    "me_operations": [
        _kpi("jobs_completed"),
        _kpi("active_installations"),
        _kpi("kwh_deployed"),
        _kpi("open_warranty_claims"),
        _kpi("warranty_claims"),
        _kpi("labor_hours"),
        ("team_jobs", "l", {}),
    ],
    "me_executive": [
        _kpi("revenue"),
        _kpi("kwh_deployed"),
        _kpi("quote_win_rate"),
        _kpi("pipeline_value"),
        _kpi("active_installations"),
        _kpi("open_warranty_claims"),
    ],
}
PERSONAL_ROLE_LAYOUT: dict[str, str] = {
    Role.SALES: "me_sales",
    Role.TECHNICIAN: "me_technician",
    Role.OPERATIONS: "me_operations",
    Role.ADMIN: "me_executive",
    Role.VIEWER: "me_executive",
}
# What a personal page may hold: a person's own numbers (only metrics a person owns), the
# organisation's numbers, their jobs and the week's installs.
PERSONAL_TYPES = ("personal_kpi", "kpi", "my_jobs", "team_jobs")


def personal_widgets(role: str) -> list[dict]:
    """The personal dashboard of a role (built in; the same widget ids on every call)."""
    return default_widgets(PERSONAL_ROLE_LAYOUT.get(role, "me_executive"))


def get_personal_layout(user) -> tuple[list[dict], bool]:
    """(the widgets of `user`'s personal page, whether they are their own saved layout): their
    saved one, else their role's built-in one; widgets they may not have are left out."""
    row = PersonalLayout.objects.for_org(user.organization_id).filter(user=user).first()
    widgets, own = personal_widgets(user.role), False
    if row is not None:
        try:
            widgets, own = clean_widgets(row.widgets), True
        except LayoutError:
            pass  # a broken saved layout falls back to the built-in one
    allowed = [
        w
        for w in widgets
        if _fits_personal(w["type"], w.get("settings") or {})
        and CATALOGUE[w["type"]].allowed_for(user, w.get("settings") or {})
    ]
    return allowed, own


def _fits_personal(widget_type: str, settings: dict) -> bool:
    if widget_type not in PERSONAL_TYPES:
        return False
    return widget_type != "personal_kpi" or settings.get("metric") in owned_metrics()


def personal_choices(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """The "add widget" choices of the personal page, those the user may have."""
    out = []
    for label, items in catalogue_choices(user):
        kept = [
            (value, text)
            for value, text in items
            if _fits_personal(*_parse_choice(value)) and not value.startswith("personal_kpi")
        ]
        if kept:
            out.append(({"Numbers": "The organisation's numbers"}.get(label, label), kept))
    mine = [
        (f"personal_kpi:{key}", f"Mine: {METRICS[key].label}")
        for key in owned_metrics()
        if CATALOGUE["personal_kpi"].allowed_for(user, {"metric": key})
    ]
    return [("Your own numbers", mine), *out] if mine else out


def _parse_choice(value: str) -> tuple[str, dict]:
    widget_type, _, metric = value.partition(":")
    return widget_type, ({"metric": metric} if metric else {})


ROLE_LAYOUT: dict[str, str] = {
    Role.ADMIN: "executive",
    Role.VIEWER: "executive",
    Role.SALES: "pipeline",
    Role.OPERATIONS: "installations",
    Role.TECHNICIAN: "my_jobs",
}
LAYOUT_TITLES = {
    "executive": "Executive",
    "pipeline": "Pipeline",
    "installations": "Installations",
    "my_jobs": "My jobs",
    "me_sales": "My numbers (sales)",
    "me_technician": "My numbers (technician)",
    "me_operations": "My numbers (operations)",
    "me_executive": "My numbers",
}


class LayoutError(ValueError):
    """A layout or an edit that cannot be accepted; the message says why."""


def default_widgets(name: str) -> list[dict]:
    """A built-in layout with stable ids (the same on every call)."""
    return [
        {
            "id": uuid.uuid5(_NAMESPACE, f"{name}:{i}").hex,
            "type": widget_type,
            "size": size,
            "settings": dict(settings),
        }
        for i, (widget_type, size, settings) in enumerate(DEFAULT_LAYOUTS[name])
    ]


def role_default_widgets(organization, role: str) -> list[dict]:
    """The organisation's saved default for a role, else the built-in one."""
    row = (
        DashboardLayout.objects.for_org(organization)
        .filter(user__isnull=True, role=role)
        .only("widgets")
        .first()
    )
    if row is not None:
        try:
            return clean_widgets(row.widgets)
        except LayoutError:
            pass  # a broken saved default falls back to the built-in one
    return default_widgets(ROLE_LAYOUT.get(role, "executive"))


def get_layout(user) -> tuple[list[dict], bool]:
    """(widgets the user sees, whether they are the user's own saved layout); widgets the
    user may not have (their role changed since) are left out."""
    widgets, own = _cached_layout(user)
    allowed = [
        w for w in widgets if CATALOGUE[w["type"]].allowed_for(user, w.get("settings") or {})
    ]
    return allowed, own


def _stored_layout(user) -> tuple[list[dict], bool]:
    """The user's own row, else their role's saved default, else the built-in one: one query
    reads both rows."""
    rows = list(
        DashboardLayout.objects.for_org(user.organization_id)
        .filter(Q(user=user) | Q(user__isnull=True, role=user.role))
        .only("user_id", "widgets")
    )
    ordered = sorted(rows, key=lambda row: row.user_id is None)  # the user's own row first
    for row in ordered:
        try:
            return clean_widgets(row.widgets), row.user_id is not None
        except LayoutError:
            pass  # a broken saved layout falls back to the next one
    return default_widgets(ROLE_LAYOUT.get(user.role, "executive")), False


# --- The layout cache: per user, under their organisation's layout version ------------------

LAYOUT_CACHE_SECONDS = 24 * 3600


def _version_key(org_id: int) -> str:
    return f"layout-version:{org_id}"


def layout_key(user_id: int, org_id: int) -> str:
    """The request context cache's entry of a user's layout: (version, role, layout), used
    only while the organisation's layout version and the user's role are those it was read
    under. One fixed key per user, so the page reads it with the version in one round trip
    (dashboard.views, context_keys)."""
    return f"layout:{org_id}:{user_id}"


def version_key(org_id: int) -> str:
    """The request context cache's entry of the organisation's layout version (public for
    the page's one read of its request context: dashboard.views, context_keys)."""
    return _version_key(org_id)


def _cached_layout(user) -> tuple[list[dict], bool]:
    """_stored_layout from Redis when the organisation's layouts have not changed since."""
    version = context_cache.get(_version_key(user.organization_id))
    if version is None:
        version = _new_layout_version(user.organization_id)
    key = layout_key(user.pk, user.organization_id)
    cached = context_cache.get(key)
    if cached is not None and cached[:2] == (version, user.role):
        return cached[2]
    stored = _stored_layout(user)
    context_cache.set(key, (version, user.role, stored), LAYOUT_CACHE_SECONDS)
    return stored


def _new_layout_version(org_id: int) -> str:
    # Tricky: a fresh random token, never a counter: were the version key evicted alone, a
    # counter would start again at a number whose old entries may still be cached.
    version = uuid.uuid4().hex[:12]
    context_cache.set(_version_key(org_id), version, None)
    return version


def forget_layouts(org_id: int) -> None:
    """Drop the organisation's cached layouts (a layout row was saved or deleted): now, and
    again once the transaction commits, so no reader caches the row it replaces."""
    _new_layout_version(org_id)
    transaction.on_commit(lambda: _new_layout_version(org_id))


def layout_changed(sender, instance, **kwargs) -> None:
    """post_save / post_delete of a DashboardLayout row (connected in dashboard.apps)."""
    forget_layouts(instance.organization_id)


def find_widget(widgets: list[dict], widget_id: str) -> dict | None:
    return next((w for w in widgets if w["id"] == widget_id), None)


def clean_widgets(raw) -> list[dict]:
    """Validate a widget list (types, sizes, settings, unique ids); raises LayoutError."""
    if not isinstance(raw, list):
        raise LayoutError("A layout is a list of widgets")
    if len(raw) > MAX_WIDGETS:
        raise LayoutError(f"A dashboard holds at most {MAX_WIDGETS} widgets")
    seen: set[str] = set()
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise LayoutError("Each widget is an object")
        widget_id = str(item.get("id", ""))
        if not _ID_RE.match(widget_id) or widget_id in seen:
            raise LayoutError(f"Bad or repeated widget id {widget_id[:40]!r}")
        seen.add(widget_id)
        size = item.get("size")
        if size not in SIZES:
            raise LayoutError(f"Unknown size {str(size)[:10]!r}; accepted: {', '.join(SIZES)}")
        try:
            settings = clean_settings(item.get("type"), item.get("settings"))
        except WidgetSettingsError as exc:
            raise LayoutError(str(exc)) from None
        out.append({"id": widget_id, "type": item["type"], "size": size, "settings": settings})
    return out


# --- Actions: the one place that writes layouts ---------------------------------------------


def _check_can_save(user) -> None:
    if not can_save_layout(user):
        raise PermissionError("Viewers cannot change the dashboard layout")


# The two pages a user lays out: the dashboard and their personal page ("me").
DASHBOARD, ME = "dashboard", "me"


def _default_for(user, page: str) -> list[dict]:
    if page == ME:
        return personal_widgets(user.role)
    return role_default_widgets(user.organization, user.role)


@transaction.atomic
def _edit(user, change, page: str = DASHBOARD) -> list[dict]:
    """Apply `change(widgets) -> widgets` to the user's own layout of `page`, creating it from
    what they see; rows are locked so two tabs editing at once do not lose an edit."""
    _check_can_save(user)
    model = PersonalLayout if page == ME else DashboardLayout
    row = model.objects.for_org(user.organization_id).select_for_update().filter(user=user).first()
    if row is None:
        current = _default_for(user, page)
    else:
        try:
            current = clean_widgets(row.widgets)
        except LayoutError:
            current = _default_for(user, page)
    widgets = clean_widgets(change([dict(w) for w in current]))
    if row is None:
        model.objects.create(organization_id=user.organization_id, user=user, widgets=widgets)
    else:
        row.widgets = widgets
        row.save(update_fields=["widgets", "updated_at"])
    return widgets


def _require(widgets: list[dict], widget_id: str) -> int:
    for i, widget in enumerate(widgets):
        if widget["id"] == widget_id:
            return i
    raise LookupError("No such widget on your dashboard")


def do_save_layout(user, widgets) -> list[dict]:
    """Replace the user's layout with a validated widget list."""
    return _edit(user, lambda _current: widgets)


def do_add_widget(
    user,
    widget_type: str,
    settings: dict | None = None,
    size: str | None = None,
    *,
    page: str = DASHBOARD,
) -> tuple[list[dict], dict]:
    """Append a widget from the catalogue; returns (layout, the new widget)."""
    spec = CATALOGUE.get(widget_type)
    if spec is None:
        raise LayoutError(f"Unknown widget type {str(widget_type)[:40]!r}")
    try:
        settings = clean_settings(widget_type, settings)
    except WidgetSettingsError as exc:
        raise LayoutError(str(exc)) from None
    if page == ME and not _fits_personal(widget_type, settings or {}):
        raise LayoutError(
            "Your numbers page holds numbers and job lists; a personal number must be one "
            "that belongs to a person (quotes, orders, activities, jobs)"
        )
    if not spec.allowed_for(user, settings):
        raise LayoutError(
            "You can only add widgets whose records you may open: your jobs and activities"
        )
    new: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "type": widget_type,
        "size": size or spec.default_size,
        "settings": settings or {},
    }
    widgets = _edit(user, lambda current: [*current, new], page)
    added = find_widget(widgets, new["id"])
    assert added is not None  # _edit keeps every widget or raises
    return widgets, added


def do_remove_widget(user, widget_id: str, *, page: str = DASHBOARD) -> list[dict]:
    def change(current):
        current.pop(_require(current, widget_id))
        return current

    return _edit(user, change, page)


def do_move_widget(user, widget_id: str, offset: int, *, page: str = DASHBOARD) -> list[dict]:
    """Move a widget `offset` places (-1 up, +1 down), clamped to the ends."""

    def change(current):
        i = _require(current, widget_id)
        j = max(0, min(len(current) - 1, i + offset))
        current.insert(j, current.pop(i))
        return current

    return _edit(user, change, page)


def do_reorder_widgets(user, ordered_ids: list[str]) -> list[dict]:
    """Put widgets in the given order; it must name each widget exactly once."""

    def change(current):
        by_id = {w["id"]: w for w in current}
        if sorted(ordered_ids) != sorted(by_id):
            raise LayoutError("The new order must list every widget on the dashboard once")
        return [by_id[i] for i in ordered_ids]

    return _edit(user, change)


def do_resize_widget(user, widget_id: str, size: str) -> list[dict]:
    if size not in SIZES:
        raise LayoutError(f"Unknown size {str(size)[:10]!r}; accepted: {', '.join(SIZES)}")

    def change(current):
        current[_require(current, widget_id)]["size"] = size
        return current

    return _edit(user, change)


def do_reset_layout(user, *, page: str = DASHBOARD) -> list[dict]:
    """Forget the user's own layout of `page`: they see their role's default again."""
    _check_can_save(user)
    model = PersonalLayout if page == ME else DashboardLayout
    model.objects.for_org(user.organization_id).filter(user=user).delete()
    return _default_for(user, page)


def warm_widgets(organization, states) -> int:
    """Compute and cache every organisation-wide widget of the built-in layouts for each state,
    and each layout's KPI cards as its page computes them (together); returns the number of
    values warmed. Per-user widgets are never cached."""
    seen: set[str] = set()
    count = 0
    for name in DEFAULT_LAYOUTS:
        layout = default_widgets(name)
        for widget in layout:
            spec = CATALOGUE[widget["type"]]
            name_in_cache = cache_name(widget)
            if spec.per_user or name_in_cache in seen:
                continue
            seen.add(name_in_cache)
            for state in states:
                build_widget(widget, organization, None, state)
                count += 1
        if any(CATALOGUE[w["type"]].kind == "kpi" for w in layout):
            for state in states:
                build_kpis(layout, organization, None, state)
                count += 1
    return count
