"""The digest of followed metrics (docs/digests.md): its numbers are the metrics API's, worked
out by hand from the orders below; it ranks what changed and names the top contributor; it is
mailed once per (user, slot) through the alerts outbox and a real SMTP server, and not at all
when nothing changed; a technician's digest is about their own jobs."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Role
from alerts import delivery, digest
from alerts.actions import do_follow_metric
from alerts.models import AlertEvent, Digest, DigestSettings, Notification
from annotations.models import Annotation
from operations.models import Customer, InstallationJob, Order
from tests.alerts.conftest import SYDNEY, make_rule
from tests.conftest import make_user
from tests.insights.test_narration import fake_model  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
# A daily digest at 07:00 Sydney on Wed 5 Aug 2026 covers Tue 4 Aug against Mon 3 Aug.
NOW = dt.datetime(2026, 8, 5, 7, 5, tzinfo=SYDNEY)
SLOT = dt.datetime(2026, 8, 5, 7, 0, tzinfo=SYDNEY)
DAY, BEFORE = dt.date(2026, 8, 4), dt.date(2026, 8, 3)


def orders(org, day: dt.date, state: str, count: int, cents: int = 100_000) -> None:
    customer = Customer.objects.get_or_create(
        organization=org, name=f"Client {state}", defaults={"kind": "commercial", "state": state}
    )[0]
    for i in range(count):
        Order.objects.create(
            organization=org,
            customer=customer,
            number=f"{state}-{day:%m%d}-{i}",
            status="confirmed",
            ordered_at=dt.datetime.combine(day, dt.time(10, i), tzinfo=SYDNEY),
            total_cents=cents,
        )


@pytest.fixture
def sales(org):
    """Mon 3 Aug: 6 NSW + 6 VIC orders of $1,000; Tue 4 Aug: 30 NSW + 6 VIC.
    Revenue $36,000 vs $12,000 (+200%), orders 36 vs 12 (+200%), NSW revenue $30,000 vs
    $6,000 (+400%): all of the rise is NSW's."""
    orders(org, BEFORE, "NSW", 6)
    orders(org, BEFORE, "VIC", 6)
    orders(org, DAY, "NSW", 30)
    orders(org, DAY, "VIC", 6)


def follow_three(user):
    do_follow_metric(user, "revenue", {})
    do_follow_metric(user, "orders", {})
    do_follow_metric(user, "revenue", {"state": "NSW"})
    do_follow_metric(user, "new_customers", {})  # 0 vs 0: no material change


def api(client, user, **params):
    client.force_login(user)
    query = {"from": DAY.isoformat(), "to": DAY.isoformat(), "compare": "previous_period"}
    response = client.get("/api/dashboard/metrics", {**query, **params})
    assert response.status_code == 200
    return response.json()["metrics"]


def test_the_digest_numbers_equal_the_metrics_api_and_name_the_top_contributor(
    smtp, client, org, owner, sales
):
    follow_three(owner)
    rule = make_rule(org, owner, name="Revenue watch")
    AlertEvent.objects.create(
        rule=rule,
        seq=1,
        from_state="ok",
        to_state="firing",
        notice="fired",
        at=dt.datetime(2026, 8, 4, 15, 0, tzinfo=SYDNEY),
    )

    outcome = digest.send_digests(NOW)
    assert (outcome.users, outcome.mailed, outcome.quiet) == (1, 1, 0)
    assert delivery.deliver(NOW).sent == 1

    record = Digest.objects.get(user=owner)
    assert record.slot == SLOT
    assert (record.period_start, record.period_end) == (DAY, DAY)
    items = {(i["metric"], tuple(i["filters"].items())): i for i in record.items}
    # Worked by hand from the orders above.
    assert items[("revenue", ())]["raw"] == 3_600_000
    assert items[("revenue", ())]["previous"] == 1_200_000
    assert items[("revenue", ())]["change_pct"] == 200.0
    assert items[("orders", ())]["raw"] == 36
    assert items[("orders", ())]["previous"] == 12
    assert items[("revenue", (("state", "NSW"),))]["raw"] == 3_000_000
    assert items[("revenue", (("state", "NSW"),))]["change_pct"] == 400.0
    # And they are the API's, for the same range and filters.
    whole = api(client, owner)
    nsw = api(client, owner, state="NSW")
    for (metric, filters), item in items.items():
        entry = (nsw if filters else whole)[metric]
        assert (item["raw"], item["previous"], item["change_pct"]) == (
            entry["value"],
            entry["previous"],
            entry["change_pct"],
        )
    # Ranked: the alert change first, then the unusual changes by size; the quiet one apart.
    assert [(i["metric"], i["why"]) for i in record.items] == [
        ("revenue", "alert"),
        ("revenue", "finding"),
        ("orders", "finding"),
        ("new_customers", ""),
    ]
    assert items[("revenue", ())]["alerts"][0].startswith("Revenue watch: fired Tue 4 Aug 2026")
    assert items[("revenue", ())]["contributor"] == (
        "NSW drove 100.0% of the rise in revenue (+$24,000 of +$24,000), by customer state"
    )

    [message] = smtp.messages
    assert message["To"] == owner.email
    assert message["Message-ID"].startswith(f"<digest-{record.pk}.")
    assert message["Subject"] == "Daily digest, 4 Aug 2026: Revenue: alert fired and 2 more"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    assert "* Revenue: $36,000, up 200.0% vs $12,000 previous period" in text
    assert "* Revenue (Customer state: NSW): $30,000, up 400.0% vs $6,000 previous period" in text
    assert "Top contributor: NSW drove 100.0% of the rise in revenue (+$24,000" in text
    assert "No material change: New customers 0." in text
    # A change finding is the item's own line; it is not said twice.
    assert "Revenue up 200.0% to $36,000" not in text
    assert (
        "Dashboard: https://dash.renoz.test/dashboard/?from=2026-08-04&to=2026-08-04"
        "&compare=previous_period&state=NSW" in text
    )
    assert "Records: https://dash.renoz.test/dashboard/drill/orders/?from=2026-08-04" in text
    # The sparkline: inline SVG in the HTML part, block characters in the text part.
    assert html.count("<svg") == 3 and "<polyline" in html
    assert "Revenue, last 28 days by day: " in text
    assert "█" in text


def test_nothing_changed_means_no_mail(smtp, org, owner):
    orders(org, BEFORE, "NSW", 3)
    orders(org, DAY, "NSW", 3)  # the same $3,000 both days
    do_follow_metric(owner, "revenue", {})
    outcome = digest.send_digests(NOW)
    assert (outcome.users, outcome.mailed, outcome.quiet) == (1, 0, 1)
    delivery.deliver(NOW)
    assert smtp.messages == []
    record = Digest.objects.get(user=owner)
    assert record.mailed is False and record.items[0]["raw"] == 300_000
    assert not Notification.objects.filter(digest=record).exists()
    # The slot is settled: a later run in the same slot builds nothing.
    assert digest.send_digests(NOW + dt.timedelta(minutes=15)).users == 0


def test_a_slot_is_mailed_once_and_not_before_its_time(smtp, org, owner, sales):
    do_follow_metric(owner, "revenue", {})
    assert digest.send_digests(SLOT - dt.timedelta(minutes=1)).users == 1  # yesterday's slot
    assert Digest.objects.get().slot == SLOT - dt.timedelta(days=1)
    assert digest.send_digests(SLOT - dt.timedelta(seconds=1)).users == 0
    assert digest.send_digests(SLOT).users == 1
    assert digest.send_digests(SLOT + dt.timedelta(hours=3)).users == 0
    assert sorted(Digest.objects.values_list("slot", flat=True)) == [
        SLOT - dt.timedelta(days=1),
        SLOT,
    ]


def test_now_ignores_the_send_time_but_not_the_slot(smtp, org, owner, sales):
    do_follow_metric(owner, "revenue", {})
    DigestSettings.objects.filter(user=owner).update(send_time=dt.time(18, 0))
    first = digest.send_digests(NOW, everything=True)
    again = digest.send_digests(NOW + dt.timedelta(minutes=5), everything=True)
    assert (first.users, again.users) == (1, 0)
    assert Digest.objects.get().slot == dt.datetime(2026, 8, 4, 21, 0, tzinfo=dt.UTC)


def test_off_sends_nothing(smtp, org, owner, sales):
    do_follow_metric(owner, "revenue", {})
    DigestSettings.objects.filter(user=owner).update(cadence="off")
    assert digest.send_digests(NOW, everything=True).users == 0
    assert not Digest.objects.exists()


def test_slots_daily_weekly_and_the_users_own_timezone(org, owner):
    row = DigestSettings(user=owner, organization=org, send_time=dt.time(7, 0))
    assert digest.scheduled_slot(row, NOW) == SLOT
    row.cadence, row.weekday = "weekly", 0  # Mondays
    assert digest.scheduled_slot(row, NOW) == dt.datetime(2026, 8, 3, 7, 0, tzinfo=SYDNEY)
    assert digest.period_of(row, SLOT) == (dt.date(2026, 7, 29), DAY)
    row.cadence, row.timezone = "daily", "Australia/Perth"  # 2 hours behind Sydney in August
    assert digest.scheduled_slot(row, NOW) == dt.datetime(
        2026, 8, 4, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    row.cadence = "off"
    assert digest.scheduled_slot(row, NOW) is None


def _job(org, tech, day, kwh):
    customer = Customer.objects.get_or_create(
        organization=org, name="Site", defaults={"kind": "builder", "state": "QLD"}
    )[0]
    order = Order.objects.create(
        organization=org,
        customer=customer,
        number=f"J-{tech.pk}-{day}-{kwh}",
        status="confirmed",
        ordered_at=dt.datetime.combine(day, dt.time(8), tzinfo=SYDNEY) - dt.timedelta(days=30),
        total_cents=1,
    )
    done = dt.datetime.combine(day, dt.time(15), tzinfo=SYDNEY)
    InstallationJob.objects.create(
        organization=org,
        order=order,
        customer=customer,
        technician=tech,
        status="completed",
        scheduled_for=done,
        created_at=done - dt.timedelta(days=3),
        completed_at=done,
        kwh=kwh,
    )


def test_a_technicians_digest_is_about_their_own_jobs(smtp, client, org):
    mine = make_user(org, Role.TECHNICIAN, "kai@renoz.test")
    other = make_user(org, Role.TECHNICIAN, "sam@renoz.test")
    _job(org, mine, DAY, 10)
    _job(org, mine, DAY, 12.5)
    for kwh in (5, 6, 7):
        _job(org, other, DAY, kwh)
    _job(org, other, BEFORE, 8)

    assert digest.send_digests(NOW).defaults == 2  # their own jobs and kWh, by default
    record = Digest.objects.get(user=mine)
    items = {i["metric"]: i for i in record.items}
    # Kai's own: 2 jobs, 22.5 kWh on 4 Aug, none on 3 Aug; Sam's 4 jobs are not in it.
    assert (items["jobs_completed"]["raw"], items["jobs_completed"]["previous"]) == (2, 0)
    assert items["kwh_deployed"]["raw"] == 22.5
    assert items["kwh_deployed"]["yours"] is True
    entry = api(client, mine)
    assert entry["jobs_completed"]["value"] == 2 and entry["kwh_deployed"]["value"] == 22.5
    assert entry["jobs_completed"]["scope"] == "own"


@pytest.mark.django_db(transaction=True)
def test_racing_workers_mail_each_digest_exactly_once(smtp, org, sales):
    """Four workers run the same beat at once, each a thread with its own database connection:
    every user gets one digest, and a second round sends nothing."""
    import threading

    from django.db import connection

    people = [make_user(org, Role.SALES, f"rep{i}@renoz.test") for i in range(8)]
    for person in people:
        do_follow_metric(person, "revenue", {})
    start = threading.Barrier(4)
    outcomes, errors = [], []

    def worker():
        try:
            start.wait()
            outcomes.append(digest.send_digests(NOW))
            delivery.deliver(NOW)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(o.users for o in outcomes) == 8
    assert sorted(m["To"] for m in smtp.messages) == sorted(p.email for p in people)
    assert Digest.objects.count() == 8
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    digest.send_digests(NOW + dt.timedelta(minutes=15))
    delivery.deliver(NOW + dt.timedelta(minutes=15))
    assert len(smtp.messages) == 8


def test_the_preview_page_says_what_the_next_digest_would(client, org, owner, sales, time_machine):
    time_machine.move_to(NOW, tick=False)
    follow_three(owner)
    client.force_login(owner)
    page = client.get("/dashboard/settings/digest/").content.decode()
    assert (
        "Subject: <strong>Daily digest, 4 Aug 2026: Revenue (Customer state: NSW) $30,000" in page
    )
    assert "up 200.0% vs $12,000 previous period" in page
    assert "No material change: New customers 0." in page
    assert not Digest.objects.exists()  # nothing stored, nothing sent
    # Someone who follows nothing is told so.
    client.force_login(make_user(org, Role.VIEWER))
    assert "You follow nothing yet" in client.get("/dashboard/settings/digest/").content.decode()


SUMMARIES = {
    "Revenue up 200.0% to $36,000, from $12,000 in the previous period.",
    "Orders up 200.0% to 36, from 12 in the previous period.",
}


@pytest.mark.parametrize(("mode", "shown"), [("good", True), ("invented", False)])
def test_a_model_summary_tops_the_digest_only_when_its_numbers_check(
    org,
    owner,
    sales,
    fake_model,  # noqa: F811 - the fixture imported above
    mode,
    shown,
):
    """The insights narration over the digest's findings: the fake model echoes the first
    finding's title ("good") or invents a number ("invented"), which the check refuses."""
    fake_model.mode = mode
    follow_three(owner)
    row = DigestSettings.objects.get(user=owner)
    body = digest.build(owner, row, SLOT, now=NOW)
    if shown:
        assert body.summary in SUMMARIES
        assert digest.render(body)["text"].split("\n")[3] == body.summary
    else:
        assert body.summary == ""
    assert len(fake_model.bodies) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_processes_mail_each_digest_exactly_once(smtp, org, sales):
    """Three `manage.py send_digests` processes on the test database at the same moment, each
    settling and sending: one message per person, and a fourth run sends nothing."""
    import subprocess
    import sys

    from tests.alerts.test_chaos import ROOT, _env

    people = [make_user(org, Role.OPERATIONS, f"ops{i}@renoz.test") for i in range(6)]
    for person in people:
        do_follow_metric(person, "revenue", {})
    env = _env(smtp.port)

    def run() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", "send_digests", "--at", NOW.isoformat()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    workers = [run() for _ in range(3)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], [e.decode()[-500:] for _, e in outputs]
    assert sorted(m["To"] for m in smtp.messages) == sorted(p.email for p in people)
    assert len({m["Message-ID"] for m in smtp.messages}) == 6
    last = run()
    last.communicate(timeout=120)
    assert len(smtp.messages) == 6
    assert Digest.objects.filter(user__in=people).count() == 6


def test_annotations_whose_scope_touches_a_followed_card_are_in_the_digest(smtp, org, owner, sales):
    """An annotation shows in the digest as on the charts (docs/annotations.md): a followed
    metric's with its item, the organisation's and a followed card's dimension value's under
    "Notes on the period"; another metric's, another state's (both cards are NSW's), and one
    outside the period not."""

    def note(title, start, end=None, **scope):
        Annotation.objects.create(
            organization=org,
            title=title,
            starts_at=dt.datetime.combine(start, dt.time(9), tzinfo=SYDNEY),
            ends_at=dt.datetime.combine(end, dt.time(17), tzinfo=SYDNEY) if end else None,
            **scope,
        )

    do_follow_metric(owner, "revenue", {"state": "NSW"})
    do_follow_metric(owner, "orders", {"state": "NSW"})
    note("Price rise", DAY, metric="revenue")
    note("Website outage", DAY)
    note("Sydney storm", BEFORE, DAY, dimension="state", dimension_value="NSW")
    note("Perth heatwave", DAY, dimension="state", dimension_value="WA")  # NSW card: not WA
    note("Claims backlog", DAY, metric="open_warranty_claims")  # not followed
    note("Last week's promo", DAY - dt.timedelta(days=7))  # before the period

    assert digest.send_digests(NOW).mailed == 1
    delivery.deliver(NOW)
    record = Digest.objects.get(user=owner)
    revenue = next(i for i in record.items if i["metric"] == "revenue")
    assert [a["title"] for a in revenue["annotations"]] == ["Price rise"]
    assert revenue["annotations"][0]["when"] == "4 Aug 2026"
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "  Note: Price rise (4 Aug 2026)" in text
    notes = text.split("== Notes on the period ==")[1].split("\n\n")[0]
    assert "* Sydney storm (3–4 Aug 2026)" in notes and "* Website outage (4 Aug 2026)" in notes
    for absent in ("Perth heatwave", "Claims backlog", "Last week's promo"):
        assert absent not in text
    html = message.get_body(("html",)).get_content()
    assert "Notes on the period" in html and "Sydney storm · 3–4 Aug 2026" in html


def test_a_target_of_another_period_is_named_once_not_target_target(smtp, org, owner, sales):
    """A daily digest's day is not its monthly target's period, so the card's sentence names
    the period itself ("Aug 2026 target: …"); the mail printed "Target: Aug 2026 target: …"."""
    from targets.models import Target

    Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2026, 8, 1),
        value=100_000_000,
    )
    do_follow_metric(owner, "revenue", {})
    assert digest.send_digests(NOW).mailed == 1
    delivery.deliver(NOW)
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    # 1–4 Aug: $12,000 on the 3rd and $36,000 on the 4th, of $1,000,000 ($1.00M).
    assert "\n  Aug 2026 target: $48,000 of $1.00M" in text, text
    assert "Target: Aug 2026" not in text
    assert ">Aug 2026 target: $48,000 of $1.00M" in html
    assert "Target: Aug 2026" not in html


def test_a_follow_filtered_to_a_person_names_them_in_the_mail(smtp, org, owner):
    """An admin follows Sam's kWh: the item says "Owner: Sam Nguyen" (it said "Owner: #12").
    Sam's jobs: 5 + 6 + 7 = 18 kWh on 4 Aug against 8 kWh on 3 Aug, up 125.0%."""
    sam = make_user(org, Role.TECHNICIAN, "sam@renoz.test")
    sam.full_name = "Sam Nguyen"
    sam.save()
    for kwh in (5, 6, 7):
        _job(org, sam, DAY, kwh)
    _job(org, sam, BEFORE, 8)
    do_follow_metric(owner, "kwh_deployed", {"owner": str(sam.pk)})
    assert digest.send_digests(NOW).mailed == 2  # Sam's own digest (role defaults) too
    delivery.deliver(NOW)
    [message] = [m for m in smtp.messages if m["To"] == owner.email]
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "* kWh deployed (Owner: Sam Nguyen): 18 kWh, up 125.0% vs 8 kWh previous period" in text
    assert f"#{sam.pk}" not in text


def test_no_change_reads_in_lower_case_inside_a_sentence():
    flat = digest.Item(
        follow_id=1, metric="revenue", label="Revenue", filters={}, filters_text="", why="target",
        value="$0", change_text="No change", vs_text="vs $0 previous period",
        target="Dec 2026 target: $0 of $10,000 · At risk",
    )  # fmt: skip
    assert flat.change_words == "no change"
    moved = digest.Item(
        follow_id=2, metric="orders", label="Orders", filters={}, filters_text="", why="mover",
        value="36", change_text="up 200.0%",
    )  # fmt: skip
    assert moved.headline == "Orders 36, up 200.0%"
    quiet = digest.Item(
        follow_id=2, metric="orders", label="Orders", filters={}, filters_text="", why="mover",
        value="12", change_text="No change",
    )  # fmt: skip
    assert quiet.headline == "Orders 12, no change"
