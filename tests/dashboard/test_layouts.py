"""Dashboard layouts: role defaults, in-place edits, who may save, and tenancy."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Role
from dashboard import layouts
from dashboard.models import DashboardLayout

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def types(widgets: list[dict]) -> list[str]:
    return [w["type"] + (f":{w['settings']['metric']}" if w["settings"] else "") for w in widgets]


def saved(user) -> list[dict]:
    return DashboardLayout.objects.get(user=user).widgets


@pytest.mark.parametrize(
    ("role", "default"),
    [
        (Role.ADMIN, "executive"),
        (Role.VIEWER, "executive"),
        (Role.SALES, "pipeline"),
        (Role.OPERATIONS, "installations"),
        (Role.TECHNICIAN, "my_jobs"),
    ],
)
def test_each_role_starts_from_its_default(client, users_by_role, role, default):
    user = users_by_role[role]
    widgets, own = layouts.get_layout(user)
    assert not own
    assert widgets == layouts.default_widgets(default)
    client.force_login(user)
    page = client.get("/dashboard/").content.decode()
    for widget in widgets:
        assert f'id="w-{widget["id"]}"' in page


def test_role_defaults_are_what_design_section_8_asks_for():
    assert types(layouts.default_widgets("executive"))[:4] == [
        "kpi:revenue",
        "kpi:kwh_deployed",
        "kpi:quote_win_rate",
        "kpi:pipeline_value",
    ]
    assert "pipeline_by_stage" in types(layouts.default_widgets("pipeline"))
    assert "installations" in types(layouts.default_widgets("installations"))
    assert types(layouts.default_widgets("my_jobs")) == [
        "kpi:active_installations",
        "kpi:kwh_deployed",
        "my_jobs",
        "activity_feed",
    ]
    # Ids are stable, so a fragment URL built from a default stays valid.
    assert layouts.default_widgets("executive") == layouts.default_widgets("executive")


def test_an_organisations_saved_role_default_replaces_the_built_in_one(users_by_role):
    sales = users_by_role["sales"]
    custom = [{"id": "a" * 32, "type": "kpi", "size": "l", "settings": {"metric": "orders"}}]
    DashboardLayout.objects.create(organization=sales.organization, role=Role.SALES, widgets=custom)
    assert layouts.get_layout(sales) == (custom, False)


# --- Edits through the views --------------------------------------------------------------


def test_add_widget_saves_a_personal_layout_and_returns_the_grid(client, colleague):
    client.force_login(colleague)
    response = client.post(
        reverse("dashboard-layout-add") + "?range=last_month",
        {"widget": "kpi:labor_hours", "size": "m"},
        **HX,
    )
    content = response.content.decode()

    widgets = saved(colleague)
    assert types(widgets) == types(layouts.default_widgets("pipeline")) + ["kpi:labor_hours"]
    assert widgets[-1]["size"] == "m"
    assert content.lstrip().startswith('<div id="grid" class="grid is-editing"')
    assert f'id="w-{widgets[-1]["id"]}"' in content
    assert "Added Labour hours at the end" in content and 'hx-swap-oob="true"' in content
    assert "range=last_month" in content
    assert f'id="down-{widgets[-1]["id"]}" aria-label="Move Labour hours down" disabled' in content


def test_plain_post_redirects_back_to_the_dashboard_in_edit_mode(client, colleague):
    client.force_login(colleague)
    response = client.post(
        reverse("dashboard-layout-add") + "?range=last_month&compare=none",
        {"widget": "installations"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?range=last_month&compare=none&edit=1"
    assert types(saved(colleague))[-1] == "installations"


def test_remove_move_resize_and_reset(client, owner):
    client.force_login(owner)
    first, second, third = layouts.default_widgets("executive")[:3]

    client.post(reverse("dashboard-layout-remove", args=[first["id"]]), **HX)
    assert saved(owner)[0]["id"] == second["id"]

    response = client.post(
        reverse("dashboard-layout-move", args=[third["id"]]), {"direction": "up"}, **HX
    )
    assert [w["id"] for w in saved(owner)[:2]] == [third["id"], second["id"]]
    # The keyboard stays on the moved widget: "up" is now disabled, so focus goes "down".
    assert re.search(rf'id="down-{third["id"]}"[^>]*autofocus', response.content.decode())

    client.post(reverse("dashboard-layout-resize", args=[third["id"]]), {"size": "l"}, **HX)
    assert saved(owner)[0]["size"] == "l"

    response = client.post(reverse("dashboard-layout-reset"), **HX)
    assert not DashboardLayout.objects.filter(user=owner).exists()
    assert layouts.get_layout(owner) == (layouts.default_widgets("executive"), False)
    assert "back to its default layout" in response.content.decode()


def test_drag_and_drop_reorder_saves_the_whole_order(client, owner):
    client.force_login(owner)
    ids = [w["id"] for w in layouts.default_widgets("executive")]
    new_order = ids[::-1]

    response = client.post(
        reverse("dashboard-layout-reorder"), {"order": ",".join(new_order)}, **HX
    )
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert "Dashboard order saved" in response.content.decode()
    assert [w["id"] for w in saved(owner)] == new_order

    partial = client.post(reverse("dashboard-layout-reorder"), {"order": ",".join(ids[:3])}, **HX)
    assert partial.status_code == 400
    assert "every widget on the dashboard once" in partial.content.decode()
    assert [w["id"] for w in saved(owner)] == new_order


@pytest.mark.parametrize(
    ("url_name", "args", "data"),
    [
        ("dashboard-layout-add", [], {"widget": "kpi:not_a_metric"}),
        ("dashboard-layout-add", [], {"widget": "spreadsheet"}),
        ("dashboard-layout-resize", ["{id}"], {"size": "xl"}),
        ("dashboard-layout-move", ["{id}"], {"direction": "sideways"}),
        ("dashboard-layout-reorder", [], {"order": "../../etc"}),
    ],
)
def test_bad_edits_are_a_400_and_change_nothing(client, owner, url_name, args, data):
    client.force_login(owner)
    first = layouts.default_widgets("executive")[0]["id"]
    url = reverse(url_name, args=[a.format(id=first) for a in args])
    response = client.post(url, data, **HX)
    assert response.status_code == 400
    assert 'class="toast toast-error"' in response.content.decode()
    assert not DashboardLayout.objects.filter(user=owner).exists()


def test_viewer_cannot_save_a_layout_and_sees_no_edit_controls(client, users_by_role):
    viewer = users_by_role["viewer"]
    client.force_login(viewer)
    widget_id = layouts.default_widgets("executive")[0]["id"]
    posts = [
        (reverse("dashboard-layout-add"), {"widget": "kpi:revenue"}),
        (reverse("dashboard-layout-remove", args=[widget_id]), {}),
        (reverse("dashboard-layout-move", args=[widget_id]), {"direction": "down"}),
        (reverse("dashboard-layout-resize", args=[widget_id]), {"size": "l"}),
        (reverse("dashboard-layout-reorder"), {"order": widget_id}),
        (reverse("dashboard-layout-reset"), {}),
    ]
    for url, data in posts:
        assert client.post(url, data, **HX).status_code == 403, url
        assert client.post(url, data).status_code == 403, url
    assert not DashboardLayout.objects.filter(user=viewer).exists()
    with pytest.raises(PermissionError):
        layouts.do_save_layout(viewer, [])

    page = client.get("/dashboard/?edit=1").content.decode()
    assert "Customise" not in page
    assert "widget-tools" not in page and "add-widget" not in page


def test_an_outsider_can_never_reach_another_organisations_layout(client, owner, outsider):
    _layout, mine = layouts.do_add_widget(owner, "kpi", {"metric": "orders"})
    before = saved(owner)
    client.force_login(outsider)

    assert client.get(f"/dashboard/widgets/{mine['id']}/", **HX).status_code == 404
    for url, data in [
        (reverse("dashboard-layout-remove", args=[mine["id"]]), {}),
        (reverse("dashboard-layout-move", args=[mine["id"]]), {"direction": "up"}),
        (reverse("dashboard-layout-resize", args=[mine["id"]]), {"size": "s"}),
    ]:
        assert client.post(url, data, **HX).status_code == 404, url
    assert saved(owner) == before
    # The outsider's own edits land in their own organisation's row.
    layouts.do_add_widget(outsider, "installations")
    row = DashboardLayout.objects.get(user=outsider)
    assert row.organization_id == outsider.organization_id


def test_a_colleagues_widget_ids_are_not_yours(client, owner, colleague):
    _layout, mine = layouts.do_add_widget(owner, "kpi", {"metric": "orders"})
    client.force_login(colleague)
    assert client.get(f"/dashboard/widgets/{mine['id']}/", **HX).status_code == 404
    response = client.post(reverse("dashboard-layout-remove", args=[mine["id"]]), **HX)
    assert response.status_code == 404


def test_edits_survive_a_reload(client, colleague):
    client.force_login(colleague)
    client.post(reverse("dashboard-layout-add"), {"widget": "trend:kwh_deployed"}, **HX)
    page = client.get("/dashboard/").content.decode()
    assert "kWh deployed trend" in page


# --- Validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "widgets",
    [
        "not a list",
        [{"id": "x", "type": "kpi", "size": "s", "settings": {"metric": "revenue"}}],
        [{"id": "a" * 32, "type": "kpi", "size": "xl", "settings": {"metric": "revenue"}}],
        [{"id": "a" * 32, "type": "kpi", "size": "s", "settings": {"metric": "vibes"}}],
        [{"id": "a" * 32, "type": "iframe", "size": "s", "settings": {}}],
        [{"id": "a" * 32, "type": "my_jobs", "size": "s", "settings": {}}] * 2,
        [{"id": f"{i:032x}", "type": "my_jobs", "size": "s", "settings": {}} for i in range(31)],
    ],
)
def test_bad_layouts_are_refused(owner, widgets):
    with pytest.raises(layouts.LayoutError):
        layouts.do_save_layout(owner, widgets)
    assert not DashboardLayout.objects.filter(user=owner).exists()


def test_settings_are_cleaned_of_unknown_keys(owner):
    widgets = layouts.do_save_layout(
        owner,
        [
            {
                "id": "b" * 32,
                "type": "kpi",
                "size": "s",
                "settings": {"metric": "revenue", "html": "<script>"},
            }
        ],
    )
    assert widgets[0]["settings"] == {"metric": "revenue"}


def test_a_broken_saved_layout_falls_back_to_the_role_default(owner):
    DashboardLayout.objects.create(
        organization=owner.organization, user=owner, widgets=[{"id": "nope"}]
    )
    assert layouts.get_layout(owner) == (layouts.default_widgets("executive"), False)
