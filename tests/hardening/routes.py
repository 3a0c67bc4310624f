"""Every URL pattern of the site, found from the resolver, with the values to fill it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the pattern itself when unnamed
    pattern: str  # "dashboard/targets/<int:pk>/edit/"


def all_routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace or namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                name = entry.name or pattern
                found.append(Route(f"{namespace}:{name}" if namespace else name, pattern))

    walk(get_resolver().url_patterns, "", None)
    return found


def fill(pattern: str, values: dict[str, str]) -> str:
    """'dashboard/targets/<int:pk>/edit/' with {'pk': '3'} → '/dashboard/targets/3/edit/'."""
    import re

    def one(match: re.Match) -> str:
        return values[match.group(2)]

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", one, pattern)


def make_job(org, technician):
    """An installation job of `org`, assigned to `technician`, for routes that take a job id."""
    import datetime as dt

    from django.utils import timezone

    from operations.models import Customer, InstallationJob, Order

    customer = Customer.objects.create(
        organization=org, name="Site", kind="commercial", state="NSW"
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        number="O-ROUTE",
        status="fulfilled",
        ordered_at=timezone.now() - dt.timedelta(days=10),
        total_cents=1,
    )
    return InstallationJob.objects.create(
        organization=org,
        order=order,
        customer=customer,
        technician=technician,
        status="scheduled",
        scheduled_for=timezone.now() + dt.timedelta(hours=2),
    )


def make_report_with_run(org, owner):
    """A scheduled report of `org` with one sent run and its stored PDF."""
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from reports.models import ReportRun, ScheduledReport

    report = ScheduledReport.objects.create(
        organization=org,
        owner=owner,
        name="Weekly numbers",
        recipients=["ceo@client.test"],
        cadence="daily",
        send_time=dt.time(8, 0),
        range_preset="last_7_days",
        compare="previous_period",
        widgets=["kpi:revenue"],
    )
    run = ReportRun.objects.create(report=report, slot=timezone.now(), status="sent")
    run.pdf.save("route-test.pdf", ContentFile(b"%PDF-1.4 route test"), save=True)
    return report, run


def make_alert(org, owner):
    """An alert rule of `org`, owned by `owner` (an admin), with one event in its history."""
    from django.utils import timezone

    from alerts.models import AlertEvent, AlertRule

    rule = AlertRule.objects.create(
        organization=org,
        owner=owner,
        name="Revenue dropped",
        metric="revenue",
        condition="below",
        threshold=100_000,
        recipients=[owner.email],
        last_seq=1,
    )
    AlertEvent.objects.create(
        rule=rule, seq=1, from_state="ok", to_state="firing", notice="fired", at=timezone.now()
    )
    return rule
