"""The digest: what changed in the metrics a user follows, ranked (docs/digests.md).

For one user and one slot, `build` reads each followed metric for the slot's period (the
previous local day for a daily digest, the previous seven for a weekly one) against the period
before, in the user's scope and with the follow's filters, through the same call as
`/api/dashboard/metrics` (alerts.readings.payload_for), so every number equals the API's. Each
followed metric becomes one item, ranked by why it is there:

1. its target is missed, behind or at risk (targets' status, as the API attaches it);
2. an alert on it changed state since the last digest (the rules the user sees);
3. the insights engine found something unusual about it (findings, with the top contributor);
4. it moved at least insights' MIN_CHANGE_PCT: the biggest movers first.

Everything else collapses into one "No material change" line, and a digest with nothing in
1-4 is not mailed. Each item carries its number, its comparison, a sparkline (inline SVG, with
a block-character twin for text), and absolute links to the dashboard state and the drill-down.

`send_digests` settles each due (user, slot) once: it locks the user's DigestSettings row
(SKIP LOCKED, so racing workers split the users), builds the digest, and in the same commit
writes the Digest row (unique per user and slot), its outbox row (alerts.Notification) when
there is something to say, and the slot as settled. The outbox's sender (alerts.delivery) then
mails it exactly once, like any alert notification.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from alerts import actions
from alerts.follows import filters_text, not_filtered_text, role_default_metrics
from alerts.models import (
    AlertEvent,
    Cadence,
    Channel,
    Digest,
    DigestSettings,
    Follow,
    Kind,
    Notice,
    Notification,
)
from alerts.queries import rules_for
from alerts.readings import payload_for
from annotations.queries import applies, when_words, window_notes
from insights.findings import scope_for
from insights.findings.base import MIN_CHANGE_PCT
from insights.narration import model_configured
from insights.queries import findings_for, narrative_for
from metrics.definitions import METRICS
from metrics.filters import InvalidFilter, owner_choices, parse_filters, slice_args
from metrics.periods import DashboardState, InvalidPeriod, dates_label, parse_state
from metrics.queries import get_timeseries
from metrics.scope import owner_for
from presentation.svg import sparkline, sparkline_text
from presentation.widgets.base import WidgetContext, drill_url
from presentation.widgets.kpis import kpi_card
from presentation.wording import exact_time

log = logging.getLogger("renoz.alerts.digest")

BEAT_MINUTES = 15  # `send_digests` runs every 15 minutes (renoz/celery.py)
BAD_TARGETS = {"missed": 0, "behind": 1, "at_risk": 2}
WHY_ORDER = {"target": 0, "alert": 1, "finding": 2, "mover": 3}
WHY_HEADINGS = {
    "target": "Targets missed or at risk",
    "alert": "Alert changes",
    "finding": "Unusual changes",
    "mover": "Biggest movers",
}
# Findings the digest shows as "unusual"; a contributors finding names an item's top contributor.
CONTRIBUTORS = "contributors"
SPARK_SPANS: dict[str, tuple[int, str]] = {"daily": (28, "day"), "weekly": (84, "week")}
MAX_SINCE = dt.timedelta(days=31)


# --- Slots -------------------------------------------------------------------------------


def scheduled_slot(row: DigestSettings, now: dt.datetime) -> dt.datetime | None:
    """The user's latest scheduled send time at or before `now` (None when off)."""
    if row.cadence == Cadence.OFF:
        return None
    tz = row.tz()
    local = now.astimezone(tz)
    day = local.date()
    if row.cadence == Cadence.WEEKLY:
        day -= dt.timedelta(days=(day.weekday() - row.weekday) % 7)
    slot = dt.datetime.combine(day, row.send_time, tzinfo=tz)
    if slot > local:
        slot -= dt.timedelta(days=7 if row.cadence == Cadence.WEEKLY else 1)
    return slot.astimezone(dt.UTC)


def beat_slot(now: dt.datetime) -> dt.datetime:
    """`--now`'s slot: the current 15-minute beat, so a second `--now` in the same quarter of
    an hour finds the slot settled."""
    now = now.astimezone(dt.UTC)
    return now.replace(minute=now.minute - now.minute % BEAT_MINUTES, second=0, microsecond=0)


def period_of(row: DigestSettings, slot: dt.datetime) -> tuple[dt.date, dt.date]:
    """The local days a slot's digest covers: the day before (daily) or the seven before
    (weekly), in the user's timezone."""
    day = slot.astimezone(row.tz()).date()
    days = 7 if row.cadence == Cadence.WEEKLY else 1
    return day - dt.timedelta(days=days), day - dt.timedelta(days=1)


# --- Building ----------------------------------------------------------------------------


@dataclass
class Item:
    """One followed metric in a digest."""

    follow_id: int
    metric: str
    label: str
    filters: dict
    filters_text: str
    why: str = ""  # target, alert, finding, mover; "" for no material change
    rank: tuple = ()
    value: str = ""
    exact: str = ""
    raw: float | int | None = None
    previous: float | int | None = None
    change_pct: float | None = None
    change_text: str = ""
    vs_text: str = ""
    tone: str = "neutral"
    yours: bool = False
    target: str = ""
    target_status: str = ""
    alerts: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    contributor: str = ""
    spark_svg: str = ""
    spark_text: str = ""
    spark_label: str = ""
    dashboard_url: str = ""
    drill_url: str = ""
    problem: str = ""  # why there is no number (a filter that cannot narrow it)
    annotations: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.label} ({self.filters_text})" if self.filters_text else self.label

    @property
    def change_words(self) -> str:
        """The change inside a sentence ("$0, no change vs $0"): the card's "No change" starts
        a line on the card, not here."""
        return "no change" if self.change_text == "No change" else self.change_text

    @property
    def headline(self) -> str:
        """The item in a few words, for the subject line."""
        if self.why == "target":
            return f"{self.name} {self.target.rpartition(' · ')[2].lower()}"
        if self.why == "alert":
            return f"{self.name}: alert {self.alerts[-1].partition(': ')[2].split(' ')[0]}"
        change = f", {self.change_words}" if self.change_words else ""
        return f"{self.name} {self.value}{change}"

    def as_json(self) -> dict:
        data = dataclasses.asdict(self)
        data.pop("spark_svg")
        data["rank"] = list(self.rank)
        return data


@dataclass
class Body:
    """A digest before it is stored: its period, ranked items, quiet ones and summary."""

    user: User
    cadence: str
    first: dt.date
    last: dt.date
    state: DashboardState
    items: list[Item]
    quiet: list[Item]
    summary: str = ""
    annotations: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.items)

    @property
    def period_label(self) -> str:
        return dates_label(self.first, self.last)

    @property
    def subject(self) -> str:
        more = len(self.items) - 1
        tail = f" and {more} more" if more else ""
        kind = "Weekly" if self.cadence == Cadence.WEEKLY else "Daily"
        return f"{kind} digest, {self.period_label}: {self.items[0].headline}{tail}"[:200]

    def sections(self) -> list[tuple[str, list[Item]]]:
        out: list[tuple[str, list[Item]]] = []
        for why, heading in WHY_HEADINGS.items():
            members = [i for i in self.items if i.why == why]
            if members:
                out.append((heading, members))
        return out


def _state(
    user, first: dt.date, last: dt.date, now: dt.datetime, filters=(), compare="previous_period"
):
    params = QueryDict(mutable=True)
    params.update({"from": first.isoformat(), "to": last.isoformat(), "compare": compare})
    state = parse_state(params, user.organization, now=now)
    return dataclasses.replace(state, filters=tuple(filters))


def _spark(user, item: Item, state: DashboardState, cadence: str) -> None:
    days, interval = SPARK_SPANS.get(cadence, SPARK_SPANS["daily"])
    last = state.range.end
    spark_state = _state(
        user, last - dt.timedelta(days=days - 1), last, state.now, state.filters, "none"
    )
    source = METRICS[item.metric].source
    args = slice_args(state.filters, source, owner_for(user, item.metric))
    if args is None:
        return
    series = get_timeseries(user.organization, spark_state, item.metric, interval, **args)
    values = [p["value"] for p in series["points"]]
    span = f"{days // 7} weeks" if interval == "week" else f"{days} days"
    item.spark_label = f"{item.label}, last {span} by {interval}"
    item.spark_svg = sparkline(values, label=item.spark_label)
    item.spark_text = sparkline_text(values)


def _since(user, state: DashboardState, slot: dt.datetime) -> dt.datetime:
    """Alert changes count since the last mailed digest (else since the period began)."""
    last = Digest.objects.filter(user=user, mailed=True, slot__lt=slot).order_by("-slot").first()
    since = last.slot if last else state.range.start_at
    return max(since, slot - MAX_SINCE)


def _alert_lines(user, follows: list[Follow], since: dt.datetime, until: dt.datetime) -> dict:
    """{(metric, filter pairs): ["Revenue low: fired Thu 3 Dec 2026, 9:05 am", …]} of the alert
    changes people heard about, on rules the user sees that watch a followed card."""
    keys = {f.metric for f in follows}
    events = (
        AlertEvent.objects.filter(
            rule__in=rules_for(user).filter(kind=Kind.METRIC, metric__in=keys),
            at__gt=since,
            at__lte=until,
        )
        .exclude(notice=Notice.NONE)
        .select_related("rule")
        .order_by("at", "pk")
    )
    tz = user.organization.tz
    out: dict[tuple, list[str]] = {}
    for event in events:
        rule = event.rule
        card = (rule.metric, tuple(sorted((rule.filters or {}).items())))
        words = f"{rule.name}: {event.get_notice_display().lower()} {exact_time(event.at, tz)}"
        out.setdefault(card, []).append(words)
    return out


def _classify(item: Item, entry: dict, alerts: list[str], findings: list) -> None:
    change = entry.get("change_pct")
    target = entry.get("target") or {}
    status = target.get("status") or ""
    notable = [f for f in findings if f.kind != CONTRIBUTORS]
    contributors = [f for f in findings if f.kind == CONTRIBUTORS]
    item.alerts = alerts
    # A "change" finding says what the item's own number and comparison already say.
    item.findings = [f.title() for f in notable if f.kind != "change"]
    if contributors:
        item.contributor = contributors[0].title()
    size = abs(change) if change is not None else 0.0
    if status in BAD_TARGETS:
        # Its target line says it already; the finding would repeat it.
        item.findings = [f.title() for f in notable if f.kind not in ("change", "target_risk")]
        item.why, item.rank = "target", (0, BAD_TARGETS[status], -size)
    elif alerts:
        item.why, item.rank = "alert", (1, 0, -size)
    elif notable:
        item.why, item.rank = "finding", (2, -max(f.score for f in notable), -size)
    elif change is not None and size >= MIN_CHANGE_PCT:
        item.why, item.rank = "mover", (3, 0, -size)


def _filter_group(user, follows: Iterable[Follow]) -> dict[tuple, list[Follow]]:
    groups: dict[tuple, list[Follow]] = {}
    for follow in follows:
        groups.setdefault(tuple(sorted((follow.filters or {}).items())), []).append(follow)
    return groups


def build(
    user,
    row: DigestSettings,
    slot: dt.datetime,
    *,
    now: dt.datetime | None = None,
    annotations: list[dict] | None = None,
) -> Body:
    """The user's digest for `slot`: every followed metric as an item, ranked.

    `annotations` are the annotations in the period's range ({"title", "starts_at",
    "ends_at", "metric"}; None: those whose scope touches a followed card,
    `followed_annotations`); those on a followed metric go with its item, the others (the
    organisation's, a dimension value's) in their own section."""
    now = now or slot
    first, last = period_of(row, slot)
    follows = list(Follow.objects.filter(user=user).order_by("created_at", "pk"))
    base = _state(user, first, last, now)
    if annotations is None:
        annotations = followed_annotations(user, follows, first, last)
    annotations = list(annotations)
    since = _since(user, base, slot)
    alert_lines = _alert_lines(user, follows, since, slot) if follows else {}
    site = settings.SITE_URL
    items: list[Item] = []
    unfiltered_findings: list = []
    owners: dict[str, str] | None = None  # read once, for a follow with an owner filter
    for pairs, members in _filter_group(user, follows).items():
        if owners is None and any(name == "owner" for name, _ in pairs):
            owners = dict(owner_choices(user.organization))
        try:
            filters = parse_filters(dict(pairs), user.organization)
        except InvalidFilter as exc:
            items += [_broken(m, str(exc)) for m in members]
            continue
        state = dataclasses.replace(base, filters=filters)
        keys = list(dict.fromkeys(m.metric for m in members if m.metric in METRICS))
        payload = payload_for(user.organization, state, keys, user, targets=not filters)
        findings = findings_for(user.organization, user, state)
        if not filters:
            unfiltered_findings = [f for f in findings if f.metric in keys]
        for follow in members:
            if follow.metric not in METRICS:
                continue
            metric = METRICS[follow.metric]
            entry = payload["metrics"][follow.metric]
            item = Item(
                follow_id=follow.pk,
                metric=metric.key,
                label=metric.label,
                filters=dict(follow.filters or {}),
                filters_text=filters_text(follow.filters or {}, owners),
            )
            item.dashboard_url = f"{site}/dashboard/?{state.querystring()}"
            item.drill_url = site + drill_url(metric.key, state)
            if entry.get("not_filtered_by"):
                item.problem = "This metric " + not_filtered_text(item.filters, metric.key)
                items.append(item)
                continue
            owner = owner_for(user, metric.key)
            ctx = WidgetContext(user.organization, user, state, {"metric": metric.key}, owner)
            card = kpi_card(ctx, metric, payload, entry)
            item.value, item.exact = card["value"], card["exact"]
            item.raw, item.previous = entry["value"], entry["previous"]
            item.change_pct = entry.get("change_pct")
            item.change_text, item.vs_text = card["change_text"], card["vs_text"]
            item.tone, item.yours = card["tone"], card["yours"]
            if card["target"]:
                words = f"{card['target']['text']} · {card['target']['status_label']}"
                # A target of another period than the digest's names it ("Aug 2026 target:").
                item.target = words if not card["target"]["own_period"] else f"Target: {words}"
                item.target_status = card["target"]["status"]
            mine = [f for f in findings if f.metric == metric.key]
            _classify(item, entry, alert_lines.get((metric.key, pairs), []), mine)
            item.annotations = [a for a in annotations if a.get("metric") == metric.key]
            _spark(user, item, state, row.cadence)
            items.append(item)
    ranked = sorted((i for i in items if i.why), key=lambda i: i.rank)
    quiet = [i for i in items if not i.why]
    body = Body(
        user=user,
        cadence=row.cadence,
        first=first,
        last=last,
        state=base,
        items=ranked,
        quiet=quiet,
        annotations=[a for a in annotations if not a.get("metric")],
    )
    shown = [f for f in unfiltered_findings if f.kind != CONTRIBUTORS]
    if ranked and shown and model_configured():
        # The insights narration over the same findings: its number check and daily budget.
        narrative = narrative_for(user.organization, base, scope_for(user), shown)
        if narrative.source == "llm":
            body.summary = narrative.text
    return body


def _broken(follow: Follow, why: str) -> Item:
    metric = METRICS.get(follow.metric)
    return Item(
        follow_id=follow.pk,
        metric=follow.metric,
        label=metric.label if metric else follow.metric,
        filters=dict(follow.filters or {}),
        filters_text=filters_text(follow.filters or {}),
        problem=f"Its filters no longer apply: {why}",
    )


def mail_context(body: Body) -> dict:
    """What the digest's templates print (the mail, and the preview page's copy of its body)."""
    return {
        "d": body,
        "sections": body.sections(),
        "settings_url": settings.SITE_URL + reverse("alerts-settings"),
    }


def render(body: Body) -> dict[str, str]:
    """{"subject", "text", "html"} of a digest that has something to say."""
    context = mail_context(body)
    return {
        "subject": body.subject,
        "text": render_to_string("alerts/digest_email.txt", context),
        "html": render_to_string("alerts/digest_email.html", context),
    }


# --- Sending -----------------------------------------------------------------------------


@dataclass
class Outcome:
    users: int = 0  # users whose slot was settled by this run
    mailed: int = 0
    quiet: int = 0  # nothing changed: no mail
    skipped: int = 0  # not due, or another worker has them
    defaults: int = 0  # users given their role's default follows

    def __str__(self) -> str:
        return (
            f"{self.users} digests settled ({self.mailed} queued to mail, {self.quiet} with "
            f"nothing to say), {self.skipped} skipped, {self.defaults} users given default follows"
        )


def apply_role_defaults(user_ids: Iterable[int] | None = None) -> int:
    """Give every active user (of `user_ids`) who has never been considered their role's
    default follows (only if they follow nothing yet); how many users were considered."""
    users = User.objects.filter(is_active=True, organization__isnull=False).filter(
        Q(digest_settings__isnull=True) | Q(digest_settings__defaults_applied=False)
    )
    if user_ids is not None:
        users = users.filter(pk__in=list(user_ids))
    count = 0
    for user in users.select_related("organization"):
        actions.do_apply_role_follows(user, role_default_metrics(user))
        count += 1
    return count


def _settle(row_id: int, slot: dt.datetime, now: dt.datetime, annotations_for) -> str:
    """Settle one user's slot in one transaction: "mailed", "quiet" or "skipped" (another
    worker holds or has settled it)."""
    with transaction.atomic():
        row = (
            DigestSettings.objects.select_for_update(skip_locked=True)
            .filter(pk=row_id)
            .filter(Q(last_slot__isnull=True) | Q(last_slot__lt=slot))
            .select_related("user", "user__organization", "organization")
            .first()
        )
        if row is None:
            return "skipped"
        user = row.user
        first, last = period_of(row, slot)
        annotations = annotations_for(user, first, last) if annotations_for else None
        body = build(user, row, slot, now=now, annotations=annotations)
        digest = Digest(
            organization_id=user.organization_id,
            user=user,
            slot=slot,
            period_start=first,
            period_end=last,
            mailed=body.changed,
            items=[i.as_json() for i in body.items + body.quiet],
        )
        if body.changed:
            rendered = render(body)
            digest.subject, digest.text, digest.html = (
                rendered["subject"],
                rendered["text"],
                rendered["html"],
            )
        digest.save()
        if body.changed:
            Notification.objects.create(
                organization_id=user.organization_id,
                digest=digest,
                channel=Channel.EMAIL,
                target=user.email,
                next_attempt_at=now,
            )
        DigestSettings.objects.filter(pk=row.pk).update(last_slot=slot)
    return "mailed" if body.changed else "quiet"


def followed_annotations(user, follows, first: dt.date, last: dt.date) -> list[dict]:
    """The annotations touching the local days first..last whose scope touches one of the
    followed cards, as their charts would show them (docs/annotations.md, "Elsewhere"): the
    organisation's, a followed metric's, and a dimension value's where a followed card can be
    sliced by it and is not narrowed to another value. One read for the whole digest."""
    known = [f for f in follows if f.metric in METRICS]
    if not known:
        return []
    notes = window_notes(user.organization, first, last + dt.timedelta(days=1))
    tz = user.organization.tz
    return [
        {
            "id": note["id"],
            "title": note["title"],
            "when": when_words(note, tz),
            "metric": note["metric"],
            "starts_at": note["starts_at"].isoformat(),
            "ends_at": note["ends_at"].isoformat() if note["ends_at"] else None,
        }
        for note in notes
        if any(
            applies(
                note,
                [f.metric],
                [METRICS[f.metric].source],
                tuple(sorted((f.filters or {}).items())),
            )
            for f in known
        )
    ]


def send_digests(
    now: dt.datetime | None = None,
    *,
    everything: bool = False,
    user_ids: Iterable[int] | None = None,
    annotations_for=None,
) -> Outcome:
    """Queue each due user's digest once per slot (see the module docstring). `everything`
    (`--now`): every user with follows, whatever their send time, in the current beat slot.
    `user_ids` narrows the run to those users (the benchmark)."""
    now = now or timezone.now()
    ids = None if user_ids is None else list(user_ids)
    outcome = Outcome(defaults=apply_role_defaults(ids))
    rows = (
        DigestSettings.objects.exclude(cadence=Cadence.OFF)
        .filter(user__is_active=True, user__follows__isnull=False)
        .distinct()
        .select_related("organization")
        .order_by("pk")
    )
    if ids is not None:
        rows = rows.filter(user_id__in=ids)
    for row in rows:
        slot = beat_slot(now) if everything else scheduled_slot(row, now)
        if slot is None or (row.last_slot is not None and row.last_slot >= slot):
            outcome.skipped += 1
            continue
        try:
            result = _settle(row.pk, slot, now, annotations_for)
        except (InvalidPeriod, InvalidFilter) as exc:
            log.warning("digest for user %s not built: %s", row.user_id, exc)
            outcome.skipped += 1
            continue
        if result == "skipped":
            outcome.skipped += 1
            continue
        outcome.users += 1
        if result == "mailed":
            outcome.mailed += 1
        else:
            outcome.quiet += 1
    return outcome
