"""The ask tests' organisation: the seeded demo's people (operations.seeding.DEMO_USERS), so the
questions name them as Renoz does, and a clock fixed on Monday 7 December 2026, Sydney."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
import yaml

from accounts.models import Organization, User
from operations.seeding import DEMO_USERS
from tests.conftest import PASSWORD

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SYDNEY)
QUESTIONS = Path(__file__).with_name("questions.yaml")


def load_questions() -> list[dict]:
    return yaml.safe_load(QUESTIONS.read_text())["questions"]


@pytest.fixture
def ask_org(db) -> Organization:
    return Organization.objects.create(
        name="Renoz Energy", timezone="Australia/Sydney", fiscal_year_start_month=7
    )


@pytest.fixture
def people(ask_org) -> dict[str, User]:
    """Every demo person by full name, plus "sales" (Jack Thompson), "technician" (Liam
    O'Connor) and "admin" (Olivia Bennett)."""
    out = {}
    for person in DEMO_USERS:
        out[person.full_name] = User.objects.create_user(
            email=person.email.replace("renoz.demo", "ask.renoz.test"),
            password=PASSWORD,
            organization=ask_org,
            role=person.role,
            full_name=person.full_name,
        )
    out["sales"] = out["Jack Thompson"]
    out["technician"] = out["Liam O'Connor"]
    out["admin"] = out["Olivia Bennett"]
    return out
