"""Demo scheduled reports: an executive weekly and a monthly installations report."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Organization, Role
from reports.models import ScheduledReport

DEMO_REPORTS = [
    {
        "name": "Executive weekly",
        "owner_role": Role.ADMIN,
        "recipients": ["leadership@renoz.demo", "board@renoz.demo"],
        "cadence": "weekly",
        "weekday": 0,
        "send_time": dt.time(7, 30),
        "range_preset": "last_week",  # Monday to Sunday, sent on the Monday after
        "compare": "previous_period",
        "widgets": [],  # the owner's (executive) layout
    },
    {
        "name": "Installations monthly",
        "owner_role": Role.OPERATIONS,
        "recipients": ["ops-team@renoz.demo"],
        "cadence": "monthly",
        "month_day": 1,
        "send_time": dt.time(9, 0),
        "range_preset": "last_month",
        "compare": "previous_year",
        "widgets": [
            "kpi:jobs_completed",
            "kpi:kwh_deployed",
            "kpi:labor_hours",
            "kpi:active_installations",
            "installations",
            "warranty_claims",
            "trend:kwh_deployed",
        ],
    },
]


def seed_demo_reports(organization: Organization) -> int:
    """Create the demo reports that are missing; returns how many were created."""
    created = 0
    for spec in DEMO_REPORTS:
        fields = dict(spec)
        role = fields.pop("owner_role")
        owner = organization.users.filter(role=role, is_active=True).order_by("pk").first()
        if (
            owner is None
            or ScheduledReport.objects.filter(
                organization=organization, name=fields["name"]
            ).exists()
        ):
            continue
        ScheduledReport.objects.create(
            organization=organization, owner=owner, schedule_anchor=timezone.now(), **fields
        )
        created += 1
    return created
