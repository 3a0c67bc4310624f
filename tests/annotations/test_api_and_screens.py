"""The annotations API and screens (docs/annotations.md): who may add, edit and delete, the
range read, the validation of every field, the organisation's walls, and the CSV import."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Role
from annotations.models import Annotation, Source
from tests.conftest import make_user
from tests.targets.helpers import local

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 20, 12)


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def post(client, body):
    return client.post("/api/annotations", json.dumps(body), content_type="application/json")


def add(org, title, starts_at, ends_at=None, **fields):
    return Annotation.objects.create(
        organization=org, title=title, starts_at=starts_at, ends_at=ends_at, **fields
    )


def test_post_creates_an_annotation_and_answers_201_with_its_id(client, org, colleague):
    client.force_login(colleague)
    response = post(
        client,
        {
            "title": "Storm in SE QLD",
            "starts_at": "2026-11-03",
            "ends_at": "2026-11-05",
            "note": "Installs rescheduled",
            "tags": ["Weather", "qld", "weather"],
            "dimension": {"state": "QLD"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    saved = Annotation.objects.get(pk=body["id"])
    assert saved.organization == org and saved.author == colleague
    assert saved.source == Source.MANUAL
    # Local days in Sydney (UTC+11 in November): 3 Nov 00:00 to the end of 5 Nov.
    assert saved.starts_at == local(2026, 11, 3)
    assert saved.ends_at == local(2026, 11, 5, 23, 59) + dt.timedelta(seconds=59)
    assert (saved.dimension, saved.dimension_value) == ("state", "QLD")
    assert saved.tags == ["weather", "qld"]
    assert body["starts_at"] == "2026-11-03T00:00:00+11:00"
    assert body["metric"] is None


def test_get_lists_the_annotations_touching_the_range(client, org, owner, other_org):
    client.force_login(owner)
    span = add(org, "Storm", local(2026, 11, 1), local(2026, 11, 15))  # starts before the range
    moment = add(org, "Price rise", local(2026, 11, 18, 9), metric="revenue")
    add(org, "Old news", local(2026, 10, 1))  # before the last 7 days (14–20 Nov)
    add(other_org, "Theirs", local(2026, 11, 18))
    response = client.get("/api/annotations?range=last_7_days")
    assert response.status_code == 200
    body = response.json()
    assert body["range"] == {"from": "2026-11-14", "to": "2026-11-20"}
    assert [a["id"] for a in body["annotations"]] == [span.pk, moment.pk]
    # A metric's annotations only with that metric, the organisation's always.
    only_orders = client.get("/api/annotations?range=last_7_days&metric=orders").json()
    assert [a["title"] for a in only_orders["annotations"]] == ["Storm"]
    custom = client.get("/api/annotations?from=2026-09-01&to=2026-10-31").json()
    assert [a["title"] for a in custom["annotations"]] == ["Old news"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"starts_at": "2026-11-03"}, "title"),
        ({"title": "x", "starts_at": "03/11/2026"}, "is not a time"),
        ({"title": "x", "starts_at": "2026-02-30"}, "not a real date"),
        ({"title": "x", "starts_at": "2026-11-05", "ends_at": "2026-11-03"}, "before the start"),
        ({"title": "x", "starts_at": "1999-12-31"}, "2000–2099"),
        ({"title": "x", "starts_at": "2026-11-03", "metric": "profit"}, "metric"),
        (
            {"title": "x", "starts_at": "2026-11-03", "dimension": "planet=Mars"},
            "Unknown dimension",
        ),
        ({"title": "x", "starts_at": "2026-11-03", "dimension": "state=XYZ"}, "Unknown state"),
        ({"title": "x", "starts_at": "2026-11-03", "dimension": "owner=1"}, "Unknown dimension"),
        ({"title": "a\x00b", "starts_at": "2026-11-03"}, "Null characters are not allowed"),
        ({"title": "a\x1bb", "starts_at": "2026-11-03"}, "control characters"),
        ({"title": "line\nbreak", "starts_at": "2026-11-03"}, "control characters"),
        ({"title": "x" * 121, "starts_at": "2026-11-03"}, "at most 120"),
        ({"title": "x", "starts_at": "2026-11-03", "tags": "weather"}, "list of strings"),
        (
            {
                "title": "x",
                "starts_at": "2026-11-03",
                "tags": ["a"] * 3 + [f"t{i}" for i in range(9)],
            },
            "At most 8 tags",
        ),
        ({"title": "x", "starts_at": "2026-11-03", "tags": ["<script>"]}, "Tag"),
        ({"title": 5, "starts_at": "2026-11-03"}, "must be a string"),
        ({"title": "x", "starts_at": "2026-11-03", "note": "n" * 2001}, "at most 2000"),
        ({"title": "x", "starts_at": "2026-01-01", "ends_at": "2037-01-01"}, "10 years"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(client, owner, body, message):
    client.force_login(owner)
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Annotation.objects.exists()


def test_malformed_bodies_and_ranges_are_400s(client, owner):
    client.force_login(owner)
    assert client.post("/api/annotations", "{", content_type="application/json").status_code == 400
    assert post(client, ["x"]).status_code == 400
    big = {"title": "x", "starts_at": "2026-11-03", "note": "n" * 30_000}
    assert post(client, big).status_code == 400
    for query in (
        "range=forever",
        "from=2026-11-05&to=2026-11-01",
        "from=2026-13-01&to=2026-13-02",
        "metric=nope",
    ):
        response = client.get(f"/api/annotations?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]


def test_viewers_read_but_cannot_add_and_strangers_get_401(client, org):
    viewer = make_user(org, Role.VIEWER)
    add(org, "Storm", local(2026, 11, 18))
    assert client.get("/api/annotations").status_code == 401
    client.force_login(viewer)
    assert [
        a["title"] for a in client.get("/api/annotations?range=last_7_days").json()["annotations"]
    ] == ["Storm"]
    response = post(client, {"title": "x", "starts_at": "2026-11-03"})
    assert response.status_code == 403
    assert Annotation.objects.count() == 1


def test_every_role_but_the_viewer_adds_from_the_form(client, users_by_role):
    for role, user in users_by_role.items():
        client.force_login(user)
        page = client.get("/dashboard/annotations/new/?starts_at=2026-11-03&metric=revenue")
        response = client.post(
            "/dashboard/annotations/new/",
            {"title": f"By {role}", "starts_at": "2026-11-03", "metric": "revenue"},
        )
        if role == Role.VIEWER:
            assert page.status_code == 403 and response.status_code == 403
        else:
            assert page.status_code == 200
            assert 'value="2026-11-03"' in page.content.decode()
            assert response.status_code == 302
    assert sorted(Annotation.objects.values_list("title", flat=True)) == [
        "By admin",
        "By operations",
        "By sales",
        "By technician",
    ]


def test_only_the_author_and_admins_edit_or_delete(client, org, owner, colleague, outsider):
    ops = make_user(org, Role.OPERATIONS)
    mine = add(org, "Mine", local(2026, 11, 3), author=colleague)
    edit = f"/dashboard/annotations/{mine.pk}/edit/"
    delete = f"/dashboard/annotations/{mine.pk}/delete/"
    form = {"title": "Renamed", "starts_at": "2026-11-03"}
    client.force_login(ops)  # a colleague who did not write it
    assert client.get(edit).status_code == 403
    assert client.post(delete).status_code == 403
    client.force_login(outsider)  # another organisation: it does not exist for them
    assert client.get(edit).status_code == 404
    assert client.post(delete).status_code == 404
    client.force_login(colleague)
    assert client.post(edit, form).status_code == 302
    mine.refresh_from_db()
    assert mine.title == "Renamed"
    client.force_login(owner)  # an admin
    assert client.post(edit, {**form, "title": "By the admin"}).status_code == 302
    assert client.post(delete).status_code == 302
    assert not Annotation.objects.filter(pk=mine.pk).exists()


def test_the_list_filters_by_tag_and_metric_and_offers_edits_by_permission(client, org, colleague):
    viewer = make_user(org, Role.VIEWER)
    add(org, "Storm", local(2026, 11, 3), tags=["weather"], author=colleague)
    add(org, "Price rise", local(2026, 11, 4), metric="revenue", tags=["pricing"])
    client.force_login(colleague)
    page = client.get("/dashboard/annotations/").content.decode()
    assert "Storm" in page and "Price rise" in page
    assert page.count(">Edit</a>") == 1  # only their own
    weather = client.get("/dashboard/annotations/?tag=weather").content.decode()
    assert "Storm" in weather and "Price rise" not in weather
    revenue = client.get("/dashboard/annotations/?metric=revenue").content.decode()
    assert "Price rise" in revenue and "Storm" not in revenue
    client.force_login(viewer)
    page = client.get("/dashboard/annotations/").content.decode()
    assert "Storm" in page and "New annotation" not in page and ">Edit</a>" not in page
    assert "Import past events" not in page


CSV = """title,starts_at,ends_at,metric,dimension,note,tags
Price rise,2025-12-01,,revenue,,"List prices up 5%","pricing"
Storm in SE QLD,2026-01-10,2026-01-12,,state=QLD,,"weather, qld"
Broken,2026-02-30,,,,,
Unknown metric,2026-03-01,,profit,,,
Reversed,2026-04-05,2026-04-01,,,,
Christmas shutdown,2025-12-24,2026-01-05,,,,"holiday"
"""


def test_the_csv_upload_adds_the_good_rows_and_lists_the_bad_by_line(client, org, owner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(owner)
    upload = SimpleUploadedFile("events.csv", CSV.encode(), content_type="text/csv")
    response = client.post("/dashboard/annotations/import/", {"file": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> annotations added" in page
    assert "<td>4</td><td>starts_at:" in page
    assert "<td>5</td><td>metric:" in page
    assert "<td>6</td><td>ends_at: The end is before the start" in page
    storm = Annotation.objects.get(title="Storm in SE QLD")
    assert (storm.dimension, storm.dimension_value, storm.tags) == (
        "state",
        "QLD",
        ["weather", "qld"],
    )
    assert storm.author == owner
    assert Annotation.objects.for_org(org).count() == 3


def test_the_import_command_reads_a_file_and_reports_rows(tmp_path, org, capsys):
    path = tmp_path / "year.csv"
    path.write_text(CSV)
    call_command("import_annotations", str(path), "--org", str(org.pk))
    out, err = capsys.readouterr()
    assert "3 annotations added, 3 rows skipped" in out
    assert "line 4: starts_at" in err
    assert Annotation.objects.for_org(org).count() == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("name,when\nx,y\n")
    with pytest.raises(CommandError):
        call_command("import_annotations", str(bad), "--org", str(org.pk))
    with pytest.raises(CommandError):
        call_command("import_annotations", str(path), "--org", "999999")


def test_the_demo_seeds_its_past_events_once(org):
    # The clock is 20 Nov 2026 in Sydney: the last financial year ended on 30 June 2026, the
    # Christmas before it began on 22 Dec 2025, and this October is the last one.
    out = io.StringIO()
    call_command("seed_demo_annotations", stdout=out)
    assert "6 demo annotations added" in out.getvalue()
    seeded = {
        a.title: (a.starts_at.astimezone(org.tz).date(), a.ends_at, a.metric, a.dimension_value)
        for a in Annotation.objects.filter(organization=org)
    }
    assert seeded["EOFY push"][0] == dt.date(2026, 6, 1) and seeded["EOFY push"][2] == "revenue"
    assert seeded["Christmas shutdown"][0] == dt.date(2025, 12, 22)
    assert seeded["Spring promotion"][0] == dt.date(2026, 10, 1)
    assert seeded["Storm in SE QLD"][0] == dt.date(2026, 11, 7)  # 13 days before
    assert seeded["Storm in SE QLD"][3] == "QLD"
    assert seeded["Website outage"][0] == dt.date(2026, 11, 17)
    assert seeded["Website outage"][1] is None  # a moment
    again = io.StringIO()
    call_command("seed_demo_annotations", stdout=again)
    assert "already there" in again.getvalue()
    assert Annotation.objects.filter(organization=org).count() == 6
