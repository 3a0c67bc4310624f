"""Believable operational history for the demo and for benchmarks.

One generator serves both commands: `seed_demo` writes a small organisation that looks real on
a chart, and `seed_benchmark` writes exact, large volumes. Rows come from one seeded
`random.Random`, so a seed and an anchor "now" always give the same data. Timestamps are local
business hours in the organisation's timezone, stored as UTC. Rows are written with PostgreSQL
COPY; ids for rows that others point at are reserved from the table's sequence first.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import overload
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from psycopg import sql
from tqdm import tqdm

from accounts.models import Organization, Role, User
from operations.models import Customer, InstallationJob, Product

DAY = 86_400
HOUR = 3_600
WARMUP_DAYS = 180  # pipeline that was already running when the history window opens
FUTURE_DAYS = 420  # room for planned events (scheduled jobs, closes) that fall after now
WORKDAY = (7 * HOUR + 30 * 60, 17 * HOUR + 30 * 60)
CREW_START = (7 * HOUR, 9 * HOUR + 30 * 60)

DEMO_ORG_NAME = "Renoz Energy"
DEMO_PASSWORD = "renoz-demo"  # noqa: S105 - published demo credentials
BENCH_PASSWORD = "renoz-bench"  # noqa: S105 - published benchmark credentials


@dataclass(frozen=True)
class Volume:
    """How many rows of each kind one organisation gets, over how many years."""

    customers: int
    opportunities: int
    orders: int
    activities: int
    years: int


BENCHMARK_VOLUMES = {
    "year1": Volume(customers=667, opportunities=3_333, orders=1_667, activities=33_333, years=3),
    "year3": Volume(
        customers=2_000, opportunities=10_000, orders=5_000, activities=100_000, years=3
    ),
    "year10": Volume(
        customers=20_000, opportunities=100_000, orders=50_000, activities=1_000_000, years=10
    ),
}
DEMO_VOLUME = Volume(customers=600, opportunities=3_000, orders=1_500, activities=25_000, years=3)

# --- Calendar shape -------------------------------------------------------------------------

# Weekday weights, Monday first: B2B sales happen on weekdays.
WEEKDAY_WEIGHT = (1.05, 1.1, 1.1, 1.05, 0.9, 0.12, 0.04)
# New enquiries: summer heat and bill shock (Nov-Mar) bring leads, the Christmas shutdown and
# winter quieten them.
LEAD_SEASON = {
    1: 0.8, 2: 1.2, 3: 1.15, 4: 0.95, 5: 1.0, 6: 0.95,
    7: 0.8, 8: 0.85, 9: 1.0, 10: 1.1, 11: 1.2, 12: 0.9,
}  # fmt: skip
# Repeat and add-on orders: the end-of-financial-year asset write-off rush in June.
ORDER_SEASON = {
    1: 0.7, 2: 0.95, 3: 1.05, 4: 0.95, 5: 1.15, 6: 1.9,
    7: 0.7, 8: 0.85, 9: 1.0, 10: 1.05, 11: 1.1, 12: 0.85,
}  # fmt: skip
ACTIVITY_SEASON = {
    1: 0.75, 2: 1.1, 3: 1.1, 4: 0.95, 5: 1.05, 6: 1.1,
    7: 0.85, 8: 0.9, 9: 1.0, 10: 1.05, 11: 1.1, 12: 0.85,
}  # fmt: skip
CUSTOMER_SEASON = LEAD_SEASON
# Deals that would close in July or August are often pulled into June to land in this FY.
EOFY_PULL = 0.4


def _holiday_weight(d: date) -> float:
    if (d.month, d.day) in {(12, 25), (12, 26), (1, 1), (1, 26)}:
        return 0.05
    if (d.month == 12 and d.day >= 27) or (d.month == 1 and d.day <= 5):
        return 0.35
    return 1.0


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


class Clock:
    """The local days of a history, each with the UTC epoch of its local midnight.

    Tricky: the midnight epoch is derived from the noon offset, so `base + seconds` is exact for
    any business-hours time even on the days daylight saving starts or ends (at 2-3 am).
    """

    def __init__(self, now: datetime, years: int, tz: ZoneInfo) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.tz = tz
        self.now_ts = int(now.timestamp())
        today = now.astimezone(tz).date()
        self.window_start = _years_before(today, years)
        first = self.window_start - timedelta(days=WARMUP_DAYS)
        count = (today - first).days + 1 + FUTURE_DAYS
        self.dates = [first + timedelta(days=i) for i in range(count)]
        self.bases = [
            int(datetime(d.year, d.month, d.day, 12, tzinfo=tz).timestamp()) - 12 * HOUR
            for d in self.dates
        ]
        self.weekdays = [d.weekday() for d in self.dates]
        self.today = (today - first).days
        self.start = WARMUP_DAYS
        self.first_ts = self.bases[0]
        self._cum: dict[tuple, list[float]] = {}

    def index_of(self, d: date) -> int:
        return (d - self.dates[0]).days

    def day_of(self, ts: int) -> int:
        return max(0, bisect.bisect_right(self.bases, ts) - 1)

    def is_workday(self, day: int) -> bool:
        return self.weekdays[day] < 5 and _holiday_weight(self.dates[day]) == 1.0

    def workday(self, day: int) -> int:
        """The first working day on or after `day`."""
        last = len(self.bases) - 1
        while day < last and not self.is_workday(day):
            day += 1
        return day

    def at(self, rng: Random, day: int, hours: tuple[int, int] = WORKDAY) -> int:
        return self.bases[day] + rng.randrange(*hours)

    def later(self, rng: Random, prev: int, days: float, hours: tuple[int, int] = WORKDAY) -> int:
        """A working-hours moment about `days` after `prev`, always after it."""
        target = prev + int(days * DAY)
        day = self.day_of(target)
        if day >= len(self.bases) - 8:
            return target
        ts = self.at(rng, self.workday(day), hours)
        if ts <= prev:
            ts = prev + rng.randrange(600, 2 * HOUR)
        return ts

    def sample(self, rng: Random, season: dict[int, float], growth: float, k: int, lo: int) -> list:
        """k moments in working hours from day `lo` to now, weighted by season and growth."""
        key = (id(season), growth, lo)
        cum = self._cum.get(key)
        if cum is None:
            weights = (
                season[self.dates[i].month]
                * WEEKDAY_WEIGHT[self.weekdays[i]]
                * _holiday_weight(self.dates[i])
                * growth ** ((i - self.start) / 365.25)
                for i in range(lo, self.today + 1)
            )
            cum = self._cum[key] = list(itertools.accumulate(weights))
        # Stratified rather than independent draws: each of the k moments gets its own slice of
        # the distribution, so yearly and monthly counts follow the curve without sampling noise.
        total, last = cum[-1], len(cum) - 1
        days = [
            lo + min(last, bisect.bisect_left(cum, (i + rng.random()) / k * total))
            for i in range(k)
        ]
        out = []
        now = self.now_ts
        for day in days:
            ts = self.at(rng, day)
            out.append(ts if ts <= now else now - rng.randrange(60, 3 * HOUR))
        return out


# --- Catalogue and customers ----------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueItem:
    sku: str
    name: str
    category: str
    capacity_kwh: float | None
    price_cents: int


# Ex-GST list prices; commercial lithium storage sells for roughly $1,150-1,400 per kWh.
CATALOGUE = (
    CatalogueItem("RZ-PC05", "Renoz PowerCell 5 kWh", "battery", 5.0, 695_000),
    CatalogueItem("RZ-PC10", "Renoz PowerCell 10 kWh", "battery", 10.0, 1_290_000),
    CatalogueItem("RZ-PC13", "Renoz PowerCell 13.5 kWh", "battery", 13.5, 1_690_000),
    CatalogueItem("RZ-CR15", "Renoz CommercialRack 15 kWh", "battery", 15.0, 1_890_000),
    CatalogueItem("RZ-CR20", "Renoz CommercialRack 20 kWh", "battery", 20.0, 2_440_000),
    CatalogueItem("RZ-CR25", "Renoz CommercialRack 25 kWh", "battery", 25.0, 2_980_000),
    CatalogueItem("RZ-CR30", "Renoz CommercialRack 30 kWh", "battery", 30.0, 3_490_000),
    CatalogueItem("RZ-HI05", "Hybrid inverter 5 kW single-phase", "inverter", None, 245_000),
    CatalogueItem("RZ-HI10", "Hybrid inverter 10 kW three-phase", "inverter", None, 395_000),
    CatalogueItem("RZ-HI15", "Hybrid inverter 15 kW three-phase", "inverter", None, 565_000),
    CatalogueItem("RZ-HI30", "Commercial inverter 30 kW three-phase", "inverter", None, 985_000),
    CatalogueItem("RZ-HI50", "Commercial inverter 50 kW three-phase", "inverter", None, 1_540_000),
    CatalogueItem("RZ-GW01", "Energy monitoring gateway", "accessory", None, 48_000),
    CatalogueItem("RZ-BK01", "Wall-mount bracket kit", "accessory", None, 18_500),
    CatalogueItem("RZ-DC01", "DC isolator and cabling kit", "accessory", None, 34_000),
    CatalogueItem("RZ-BU01", "Backup switchover unit (ATS)", "accessory", None, 195_000),
    CatalogueItem("RZ-EN01", "Outdoor weather enclosure IP55", "accessory", None, 115_000),
    CatalogueItem("RZ-CT01", "Three-phase CT metering kit", "accessory", None, 26_000),
)
SKU = {item.sku: i for i, item in enumerate(CATALOGUE)}
INVERTERS = [(5, SKU["RZ-HI05"]), (10, SKU["RZ-HI10"]), (15, SKU["RZ-HI15"]), (30, SKU["RZ-HI30"])]
ACCESSORIES = [SKU[s] for s in ("RZ-GW01", "RZ-BK01", "RZ-DC01", "RZ-BU01", "RZ-EN01", "RZ-CT01")]

# State populations (millions, ABS 2024), which weight where customers are.
STATES = {
    "NSW": 8.4, "VIC": 7.0, "QLD": 5.6, "WA": 3.0, "SA": 1.9, "TAS": 0.58, "ACT": 0.47, "NT": 0.25,
}  # fmt: skip
PLACES = {
    "NSW": ["Newcastle", "Wollongong", "Parramatta", "Penrith", "Tamworth", "Dubbo", "Orange",
            "Wagga Wagga", "Albury", "Coffs Harbour", "Port Macquarie", "Bathurst",
            "Hunter Valley", "Central Coast", "Illawarra", "Riverina"],
    "VIC": ["Geelong", "Ballarat", "Bendigo", "Shepparton", "Mildura", "Warrnambool",
            "Dandenong", "Traralgon", "Gippsland", "Mornington", "Yarra Valley", "Sunbury"],
    "QLD": ["Brisbane", "Gold Coast", "Sunshine Coast", "Toowoomba", "Townsville", "Cairns",
            "Mackay", "Rockhampton", "Bundaberg", "Ipswich", "Logan", "Darling Downs"],
    "WA": ["Perth", "Fremantle", "Joondalup", "Bunbury", "Geraldton", "Kalgoorlie", "Albany",
           "Mandurah", "Pilbara", "Swan Valley"],
    "SA": ["Adelaide", "Mount Gambier", "Whyalla", "Murray Bridge", "Port Lincoln", "Barossa",
           "McLaren Vale", "Clare Valley"],
    "TAS": ["Hobart", "Launceston", "Devonport", "Burnie", "Huon Valley", "Tamar Valley"],
    "ACT": ["Canberra", "Belconnen", "Tuggeranong", "Gungahlin", "Fyshwick", "Woden"],
    "NT": ["Darwin", "Alice Springs", "Katherine", "Palmerston", "Tennant Creek"],
}  # fmt: skip
SURNAMES = ["Mitchell", "Nguyen", "Papadopoulos", "O'Brien", "Kelly", "Walsh", "Chen", "Patel",
            "Rossi", "Campbell", "Morgan", "Fraser", "Hughes", "Wright", "Taylor", "Murphy",
            "Singh", "Kowalski", "Anderson", "McDonald", "Russo", "Tran", "Stewart", "Baker",
            "Harrison", "Sullivan", "Lee", "Ryan", "Marshall", "Costa"]  # fmt: skip
KINDS = {"commercial": 0.40, "industrial": 0.20, "agricultural": 0.18, "government": 0.10,
         "builder": 0.12}  # fmt: skip
BUSINESSES = {
    "commercial": ["Cold Storage", "Medical Centre", "Hotel", "Shopping Centre", "Bakery",
                   "Brewing Co", "Motors", "Dental Group", "Fitness Centre", "Supermarket",
                   "Office Park", "Veterinary Hospital", "Childcare Centre", "Data Centre"],
    "industrial": ["Engineering", "Plastics", "Steel Fabrication", "Logistics", "Packaging",
                   "Timber Mills", "Concrete", "Manufacturing", "Printing", "Foods"],
    "agricultural": ["Dairy", "Orchards", "Vineyards", "Poultry", "Grain Co-op", "Pastoral Co",
                     "Irrigation", "Greenhouses", "Cattle Co", "Aquaculture"],
    "government": ["City Council", "Shire Council", "Water Authority", "TAFE Campus",
                   "Public School", "Health Service", "SES Depot", "Library Services"],
    "builder": ["Homes", "Building Group", "Constructions", "Developments", "Residential",
                "Home Builders"],
}  # fmt: skip
SUFFIXES = ["Pty Ltd", "Pty Ltd", "Pty Ltd", "Group", "& Co", ""]
PURPOSES = {
    "commercial": ["peak-demand shaving", "solar self-consumption", "backup power"],
    "industrial": ["demand-tariff reduction", "peak-demand shaving", "power-quality upgrade"],
    "agricultural": ["irrigation pumping", "off-grid shed", "cool-room backup"],
    "government": ["community resilience hub", "solar self-consumption", "emergency backup"],
    "builder": ["home batteries", "display village", "estate stage release"],
}  # fmt: skip
# Basket sizing per customer kind: median kWh, spread, battery models to choose from.
SIZING = {
    "commercial": (45, 0.35, ["RZ-CR15", "RZ-CR20", "RZ-CR25", "RZ-CR30", "RZ-PC13"]),
    "industrial": (110, 0.35, ["RZ-CR25", "RZ-CR30", "RZ-CR20"]),
    "agricultural": (30, 0.35, ["RZ-PC10", "RZ-PC13", "RZ-CR15", "RZ-CR20"]),
    "government": (70, 0.35, ["RZ-CR20", "RZ-CR25", "RZ-CR30", "RZ-CR15"]),
    "builder": (30, 0.35, ["RZ-PC05", "RZ-PC10", "RZ-PC13"]),
}
WIN_RATE = {"commercial": 0.40, "industrial": 0.38, "agricultural": 0.42, "government": 0.30,
            "builder": 0.46}  # fmt: skip
CYCLE = {"commercial": 1.0, "industrial": 1.4, "agricultural": 0.9, "government": 1.6,
         "builder": 0.8}  # fmt: skip

# --- Pipeline -------------------------------------------------------------------------------

OPEN_STAGES = ("lead", "qualified", "quoted", "negotiation")
PROBABILITY = {"lead": 10, "qualified": 25, "quoted": 50, "negotiation": 70, "won": 100, "lost": 0}
STAGE_GAP_DAYS = ((2, 18), (4, 25), (5, 30))  # lead->qualified->quoted->negotiation
LOST_GAP_DAYS = ((3, 30), (5, 30), (7, 60), (5, 45))  # lost while in each open stage
WON_GAP_DAYS = (5, 40)
LOST_AT = (0.30, 0.30, 0.25, 0.15)
STALL_RATE = 0.02

ACTIVITY_KINDS = ("call", "email", "meeting", "site_visit", "note")
ACTIVITY_WEIGHTS = (30, 34, 12, 9, 15)
SUBJECTS = {
    "call": ["Discovery call with {c}", "Follow-up call on {o}", "Called {c} about the quote",
             "Check-in call: installation timing", "Call about demand-tariff savings",
             "Returned call from {c}", "Call about finance options"],
    "email": ["Sent quote for {o}", "Emailed battery datasheets to {c}",
              "Follow-up email on proposal", "Sent revised pricing to {c}",
              "Emailed site survey checklist", "Sent interval-data analysis to {c}"],
    "meeting": ["Proposal walkthrough with {c}", "Business-case presentation to {c}",
                "Meeting with {c} facilities manager", "Technical review of {o}",
                "EOFY budget meeting with {c}"],
    "site_visit": ["Site visit: switchboard and meter inspection", "Site survey at {c}",
                   "Plant-room inspection at {c}", "Post-install check at {c}"],
    "note": ["{c} wants the install before summer", "Waiting on DNSP export approval for {o}",
             "{c} asked about VPP participation", "{c} has a competing quote",
             "Decision maker at {c} on leave until next month", "Budget approved for next FY",
             "{c} needs backup for the cool room"],
}  # fmt: skip
INTERNAL_SUBJECTS = ["Weekly pipeline review", "Sales team stand-up", "Territory planning",
                     "CRM clean-up", "Pricing update briefing"]  # fmt: skip

CLAIM_KINDS = ("defect", "performance", "installation", "other")
CLAIM_WEIGHTS = (35, 30, 25, 10)


# --- Generated rows -------------------------------------------------------------------------


@dataclass(slots=True)
class Basket:
    lines: list[tuple[int, int, int, str]]  # (catalogue index, quantity, unit cents, kWh)
    total: int
    battery_kwh: float
    battery: int  # catalogue index of the battery line


@dataclass(slots=True)
class Opp:
    created: int
    customer: int
    owner: int | None
    name: str
    stage: str
    basket: Basket
    quoted: int | None
    closed: int | None


@dataclass(slots=True)
class OrderRow:
    ordered: int
    customer: int
    opportunity: int | None
    basket: Basket
    status: str = "draft"
    fulfilled: int | None = None


@dataclass
class Plan:
    """Everything for one organisation except activities, which are streamed."""

    customers: list[list] = field(default_factory=list)  # [created, name, kind, state, archived]
    opps: list[Opp] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    jobs: list[tuple] = field(default_factory=list)
    claims: list[tuple] = field(default_factory=list)


@dataclass(frozen=True)
class Staff:
    """Who owns the work: user ids and how often each is picked."""

    sales: Sequence[int]
    sales_weights: Sequence[float]
    technicians: Sequence[int]
    technician_weights: Sequence[float]
    lead_technician: int | None = None  # gets a good share of the live jobs


class Generator:
    """Generates one organisation's history; deterministic for a given seed label and now."""

    def __init__(
        self,
        *,
        seed: str,
        now: datetime,
        volume: Volume,
        staff: Staff,
        tz: ZoneInfo,
    ) -> None:
        self.rng = Random(seed)
        self._win_credit = self.rng.random()
        self.volume = volume
        self.staff = staff
        self.clock = Clock(now, volume.years, tz)
        # A young company grows fast; a ten-year history grows more gently.
        self.growth = 1.33 if volume.years <= 5 else 1.16

    # Baskets -------------------------------------------------------------------------------

    def basket(self, kind: str, scale: float = 1.0) -> Basket:
        rng = self.rng
        median, sigma, models = SIZING[kind]
        target = median * scale * math.exp(rng.gauss(0, sigma))
        battery = SKU[rng.choice(models)]
        cap = CATALOGUE[battery].capacity_kwh or 1.0
        qty = max(1, min(24, round(target / cap)))
        kwh = cap * qty
        discount = min(0.12, max(0.0, 0.012 * math.log2(max(kwh, 1) / 10)) + rng.uniform(0, 0.04))
        picks = [(battery, qty)]
        if rng.random() < 0.8:
            if kind == "builder":
                picks.append((SKU["RZ-HI05"], qty))
            else:
                kw = kwh / 2
                inverter = next((i for size, i in INVERTERS if kw <= size), SKU["RZ-HI50"])
                picks.append((inverter, max(1, min(6, math.ceil(kw / 50))) if kw > 30 else 1))
        extras = rng.sample(ACCESSORIES, 2)
        if rng.random() < 0.65:
            picks.append((extras[0], 1 if extras[0] != SKU["RZ-BK01"] else qty))
            if rng.random() < 0.35:
                picks.append((extras[1], 1 if extras[1] != SKU["RZ-BK01"] else qty))
        lines = []
        total = 0
        for index, quantity in picks:
            unit = round(CATALOGUE[index].price_cents * (1 - discount))
            line_kwh = f"{(CATALOGUE[index].capacity_kwh or 0) * quantity:.2f}"
            lines.append((index, quantity, unit, line_kwh))
            total += unit * quantity
        return Basket(lines, total, kwh, battery)

    # Customers -----------------------------------------------------------------------------

    def customers(self) -> list[list]:
        rng, clock, n = self.rng, self.clock, self.volume.customers
        # An opening book of customers exists before the first opportunity.
        opening = max(1, n // 8)
        times = [clock.at(rng, clock.workday(rng.randrange(0, 20))) for _ in range(opening)]
        times += clock.sample(rng, CUSTOMER_SEASON, self.growth, n - opening, 20)
        times.sort()
        states = list(STATES)
        picked_states = rng.choices(states, weights=list(STATES.values()), k=n)
        picked_states[: len(states)] = states[: min(n, len(states))]  # every state is present
        kinds = [kind for kind, share in KINDS.items() for _ in range(round(n * share))]
        kinds = (kinds + ["commercial"] * n)[:n]
        rng.shuffle(kinds)
        seen: set[str] = set()
        rows = []
        for ts, state, kind in zip(times, picked_states, kinds, strict=True):
            name = ""
            for _ in range(4):
                stem = rng.choice(PLACES[state]) if rng.random() < 0.5 else rng.choice(SURNAMES)
                suffix = "" if kind == "government" else rng.choice(SUFFIXES)
                name = f"{stem} {rng.choice(BUSINESSES[kind])} {suffix}".strip()
                if name not in seen:
                    break
            seen.add(name)
            rows.append([ts, name, kind, state, None])
        return rows

    # Opportunities -------------------------------------------------------------------------

    def _pick_customer(self, created_times: list[int], ts: int) -> int:
        k = max(1, bisect.bisect_right(created_times, ts))
        if self.rng.random() < 0.5:
            return self.rng.randrange(max(0, k - 25), k)  # new customers ask first
        return self.rng.randrange(k)

    def _eofy_pull(self, created: int, close: int, milestones: list[int]) -> tuple[int, list]:
        rng, clock = self.rng, self.clock
        closing_day = clock.dates[clock.day_of(close)]
        if closing_day.month not in (7, 8) or rng.random() >= EOFY_PULL:
            return close, milestones
        june_start = clock.index_of(date(closing_day.year, 6, 1))
        june_end = clock.index_of(date(closing_day.year, 6, 30))
        lo = max(june_start, clock.day_of(created) + 2)
        if june_start < 0 or lo > june_end:
            return close, milestones
        day = rng.randint(lo, june_end)
        while day > lo and not clock.is_workday(day):
            day -= 1
        new_close = clock.at(rng, day)
        if not created + HOUR < new_close < close:
            return close, milestones
        scale = (new_close - created) / (close - created)
        return new_close, [created + int((t - created) * scale) for t in milestones]

    def opportunity(self, created: int, customer: int, kind: str, owner: int | None) -> Opp:
        rng, clock = self.rng, self.clock
        factor = CYCLE[kind]
        stall = rng.random() < STALL_RATE
        won = False
        if not stall:
            # Dithered rather than independent: wins track the win rate closely in every
            # stretch of time, so revenue follows the growth curve instead of luck.
            self._win_credit += WIN_RATE[kind]
            if self._win_credit >= 1:
                self._win_credit -= 1
                won = True
        if stall:
            last = rng.randrange(4)
        elif won:
            last = 3
        else:
            last = rng.choices(range(4), weights=LOST_AT)[0]
        milestones = [created]
        for i in range(last):
            lo, hi = STAGE_GAP_DAYS[i]
            milestones.append(clock.later(rng, milestones[-1], rng.uniform(lo, hi) * factor))
        close = None
        if not stall:
            lo, hi = WON_GAP_DAYS if won else LOST_GAP_DAYS[last]
            close = clock.later(rng, milestones[-1], rng.uniform(lo, hi) * factor)
            if won:
                close, milestones = self._eofy_pull(created, close, milestones)
        now = clock.now_ts
        if close is not None and close <= now:
            stage, closed = ("won" if won else "lost"), close
        else:
            closed = None
            stage = OPEN_STAGES[max(i for i, t in enumerate(milestones) if t <= now)]
        quoted = milestones[2] if len(milestones) > 2 and milestones[2] <= now else None
        basket = self.basket(kind)
        return Opp(created, customer, owner, "", stage, basket, quoted, closed)

    # Orders, jobs, claims ------------------------------------------------------------------

    def _order_status(self, order: OrderRow) -> None:
        rng, clock, now = self.rng, self.clock, self.clock.now_ts
        age = now - order.ordered
        if rng.random() < 0.04 and clock.later(rng, order.ordered, rng.uniform(1, 20)) <= now:
            order.status = "cancelled"
            return
        if (age < 10 * DAY and rng.random() < 0.5) or rng.random() < 0.012:
            order.status = "draft"
            return
        fulfilled = clock.later(rng, order.ordered, rng.uniform(5, 30))
        if fulfilled <= now and rng.random() >= 0.02:
            order.status, order.fulfilled = "fulfilled", fulfilled
        else:
            order.status = "confirmed"

    def _job(self, order_index: int, order: OrderRow) -> tuple | None:
        rng, clock, now = self.rng, self.clock, self.clock.now_ts
        if order.fulfilled is None or rng.random() >= 0.97:
            return None
        kwh = order.basket.battery_kwh
        hours = min(40.0, max(4.0, 4 + kwh * 0.11 + rng.gauss(0, 2)))
        hours = round(hours * 2) / 2
        scheduled = clock.later(rng, order.fulfilled, rng.uniform(2, 21), CREW_START)
        started = completed = cancelled = None
        if rng.random() < 0.03:
            cancel_at = order.fulfilled + int(rng.random() * (scheduled - order.fulfilled))
            status = "cancelled" if cancel_at <= now else "scheduled"
            cancelled = cancel_at if status == "cancelled" else None
        elif scheduled > now:
            status = "scheduled"
        else:
            started = scheduled + rng.randrange(0, 45 * 60)
            on_site = hours / (1 if hours <= 8 else 2)
            workdays = max(1, math.ceil(on_site / 8))
            finish = started + (workdays - 1) * DAY + int(min(8.0, on_site) * HOUR * 0.95)
            if finish > now:
                status = "in_progress"
            else:
                status, completed = "completed", finish
        staff = self.staff
        if (
            staff.lead_technician
            and status in InstallationJob.OPEN_STATUSES
            and rng.random() < 0.45
        ):
            technician = staff.lead_technician
        else:
            technician = rng.choices(staff.technicians, weights=staff.technician_weights)[0]
        return (
            order_index, order.customer, technician, status, scheduled, started, completed,
            cancelled, f"{kwh:.2f}", f"{hours:.2f}", order.ordered,
        )  # fmt: skip

    def _claim(self, job: tuple, order: OrderRow) -> tuple:
        rng, clock, now = self.rng, self.clock, self.clock.now_ts
        order_index, customer, completed = job[0], job[1], job[6]
        delay = 3 + rng.expovariate(1 / 200)
        opened = clock.later(rng, completed, delay)
        if opened > now:
            opened = completed + int(rng.random() * (now - completed))
        kind = rng.choices(CLAIM_KINDS, weights=CLAIM_WEIGHTS)[0]
        outcome = "resolved" if rng.random() < 0.75 else "rejected"
        final = clock.later(rng, opened, rng.uniform(3, 75))
        resolved = None
        if final <= now:
            status, resolved = outcome, final
        elif now - opened < 3 * DAY:
            status = "open"
        elif outcome == "resolved" and now - opened > 14 * DAY:
            status = "approved"
        else:
            status = "in_review"
        cost = 0
        if status in ("resolved", "approved"):
            battery = CATALOGUE[order.basket.battery].price_cents
            cost = {
                "defect": int(round(battery * rng.uniform(0.4, 1.0), -2)),
                "performance": rng.randrange(300, 4_000) * 100,
                "installation": rng.randrange(250, 3_000) * 100,
                "other": rng.randrange(0, 800) * 100,
            }[kind]
        return (customer, order_index, order.basket.battery, kind, status, opened, resolved, cost)

    # The whole history ---------------------------------------------------------------------

    def plan(self) -> Plan:
        rng, clock, volume, now = self.rng, self.clock, self.volume, self.clock.now_ts
        plan = Plan(customers=self.customers())
        customers = plan.customers
        created_times = [c[0] for c in customers]
        staff = self.staff

        # Opportunities, oldest first, so ids follow time.
        times = sorted(clock.sample(rng, LEAD_SEASON, self.growth, volume.opportunities, 0))
        owners = rng.choices(staff.sales, weights=staff.sales_weights, k=len(times))
        for ts, owner in zip(times, owners, strict=True):
            index = self._pick_customer(created_times, ts)
            created = max(ts, customers[index][0] + 60)
            kind = customers[index][2]
            opp = self.opportunity(created, index, kind, owner)
            name = customers[index][1]
            opp.name = f"{name} – {opp.basket.battery_kwh:g} kWh {rng.choice(PURPOSES[kind])}"[:200]
            plan.opps.append(opp)

        # Orders: each won deal becomes an order; repeat and add-on orders fill the rest.
        won = []
        for i, opp in enumerate(plan.opps):
            if opp.stage == "won":
                assert opp.closed is not None  # a won opportunity has closed
                ordered = clock.later(rng, opp.closed, rng.uniform(0, 8))
                if ordered <= now:
                    won.append(OrderRow(ordered, opp.customer, i, opp.basket))
        cap = round(volume.orders * 0.8)
        if len(won) > cap:
            won = [won[i] for i in sorted(rng.sample(range(len(won)), cap))]
        won.sort(key=lambda o: o.ordered)
        won_times = [o.ordered for o in won]
        direct = []
        for ts in clock.sample(
            rng, ORDER_SEASON, self.growth, volume.orders - len(won), clock.start
        ):
            repeat = bisect.bisect_right(won_times, ts)
            if repeat and rng.random() < 0.6:
                customer = won[rng.randrange(repeat)].customer
            else:
                customer = rng.randrange(max(1, bisect.bisect_right(created_times, ts)))
            ordered = max(ts, customers[customer][0] + 60)
            kind = customers[customer][2]
            direct.append(OrderRow(ordered, customer, None, self.basket(kind, scale=0.5)))
        plan.orders = sorted(won + direct, key=lambda o: o.ordered)

        last_seen = created_times[:]
        for opp in plan.opps:
            # An open opportunity keeps its customer active.
            last_seen[opp.customer] = max(last_seen[opp.customer], opp.closed or now)
        for i, order in enumerate(plan.orders):
            self._order_status(order)
            last_seen[order.customer] = max(last_seen[order.customer], order.ordered)
            job = self._job(i, order)
            if job is None:
                continue
            plan.jobs.append(job)
            last_seen[order.customer] = max(last_seen[order.customer], job[4])
            if job[3] == "completed" and rng.random() < 0.055:
                claim = self._claim(job, order)
                plan.claims.append(claim)
                last_seen[order.customer] = max(last_seen[order.customer], claim[5])

        # Some customers go quiet and are archived a while after their last dealings.
        for i, row in enumerate(customers):
            if rng.random() < 0.2 and row[0] < now - 120 * DAY:
                archived = clock.later(rng, last_seen[i], rng.uniform(30, 300))
                if archived <= now:
                    row[4] = archived
        return plan

    def activities(self, plan: Plan) -> Iterator[tuple]:
        """(user, kind, customer index, opportunity index, subject, occurred) per activity."""
        rng, clock, now = self.rng, self.clock, self.clock.now_ts
        n = self.volume.activities
        n_opp = round(n * 0.7) if plan.opps else 0
        customers, opps, staff = plan.customers, plan.opps, self.staff
        kinds = rng.choices(ACTIVITY_KINDS, weights=ACTIVITY_WEIGHTS, k=n)
        for kind in kinds[:n_opp]:
            i = rng.randrange(len(opps))
            opp = opps[i]
            start = opp.created
            end = opp.closed or min(now, start + 240 * DAY)
            ts = start + int(rng.random() * (end - start))
            day = clock.day_of(ts)
            if clock.weekdays[day] >= 5 and rng.random() < 0.93:
                day -= clock.weekdays[day] - rng.randrange(5)  # a weekday of the same week
            ts = clock.at(rng, day)
            if not start <= ts <= end:
                ts = start + int(rng.random() * (end - start))
            user = opp.owner if rng.random() < 0.85 else rng.choice(staff.sales)
            template = rng.choice(SUBJECTS[kind])
            subject = template.format(c=customers[opp.customer][1][:60], o=opp.name[:80])
            yield (user, kind, opp.customer, i, subject, ts)
        created_times = [c[0] for c in customers]
        times = clock.sample(rng, ACTIVITY_SEASON, self.growth, n - n_opp, clock.start)
        for kind, ts in zip(kinds[n_opp:], times, strict=True):
            k = bisect.bisect_right(created_times, ts)
            customer = rng.randrange(k) if k else None
            if customer is not None and (customers[customer][4] or now + 1) < ts:
                customer = None
            user = rng.choice(staff.sales)
            if customer is None:
                yield (user, rng.choice(("meeting", "note")), None, None,
                       rng.choice(INTERNAL_SUBJECTS), ts)  # fmt: skip
                continue
            template = rng.choice(SUBJECTS[kind])
            subject = template.format(c=customers[customer][1][:60], o="the proposal")
            yield (user, kind, customer, None, subject, ts)


# --- Writing --------------------------------------------------------------------------------


@overload
def _dt(ts: int) -> datetime: ...
@overload
def _dt(ts: None) -> None: ...
@overload
def _dt(ts: int | None) -> datetime | None: ...
def _dt(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def reserve_ids(cursor, table: str, count: int) -> list[int]:
    """Take `count` ids from the table's identity sequence, ascending."""
    if count == 0:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) "
        "FROM generate_series(1, %(count)s)",
        {"table": table, "count": count},
    )
    return sorted(row[0] for row in cursor.fetchall())


def copy_rows(cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence], bar) -> int:
    """COPY rows into a table, ticking the progress bar; returns the number written."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    step = 5_000
    bar.set_postfix_str(table.removeprefix("operations_"))
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
            if count % step == 0:
                bar.update(step)
    bar.update(count % step)
    return count


TABLES = (
    "operations_product",
    "operations_customer",
    "operations_opportunity",
    "operations_order",
    "operations_orderitem",
    "operations_installationjob",
    "operations_warrantyclaim",
    "operations_activity",
)


def progress_bar(total: int | None, desc: str, enabled: bool):
    return tqdm(
        total=total,
        desc=desc,
        unit="rows",
        unit_scale=True,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
    )


def write_history(org: Organization, generator: Generator, progress: bool) -> dict[str, int]:
    """Generate and write one organisation's records; returns rows written per table."""
    bar = progress_bar(None, org.name, progress)
    bar.set_postfix_str("planning")
    plan = generator.plan()
    start = _dt(generator.clock.first_ts)
    org_id = org.pk
    items_total = sum(len(o.basket.lines) for o in plan.orders)
    total = (
        len(CATALOGUE) + len(plan.customers) + len(plan.opps) + len(plan.orders) + items_total
        + len(plan.jobs) + len(plan.claims) + generator.volume.activities
    )  # fmt: skip
    counts: dict[str, int] = {}
    bar.total = total
    bar.refresh()
    with transaction.atomic(), connection.cursor() as cursor:
        products = Product.objects.bulk_create(
            Product(
                organization=org,
                created_at=start,
                sku=item.sku,
                name=item.name,
                category=item.category,
                capacity_kwh=None
                if item.capacity_kwh is None
                else Decimal(f"{item.capacity_kwh:.2f}"),
                unit_price_cents=item.price_cents,
            )
            for item in CATALOGUE
        )
        product_ids = [p.pk for p in products]
        counts["operations_product"] = len(products)
        bar.update(len(products))

        customer_ids = reserve_ids(cursor, "operations_customer", len(plan.customers))
        opp_ids = reserve_ids(cursor, "operations_opportunity", len(plan.opps))
        order_ids = reserve_ids(cursor, "operations_order", len(plan.orders))

        counts["operations_customer"] = copy_rows(
            cursor,
            "operations_customer",
            ("id", "organization_id", "created_at", "name", "kind", "state", "archived_at"),
            (
                (cid, org_id, _dt(c[0]), c[1], c[2], c[3], _dt(c[4]))
                for cid, c in zip(customer_ids, plan.customers, strict=True)
            ),
            bar,
        )
        counts["operations_opportunity"] = copy_rows(
            cursor,
            "operations_opportunity",
            (
                "id",
                "organization_id",
                "created_at",
                "customer_id",
                "owner_id",
                "name",
                "stage",
                "value_cents",
                "probability",
                "quoted_at",
                "closed_at",
            ),  # fmt: skip
            (
                (
                    oid,
                    org_id,
                    _dt(o.created),
                    customer_ids[o.customer],
                    o.owner,
                    o.name,
                    o.stage,
                    o.basket.total,
                    PROBABILITY[o.stage],
                    _dt(o.quoted),
                    _dt(o.closed),
                )  # fmt: skip
                for oid, o in zip(opp_ids, plan.opps, strict=True)
            ),
            bar,
        )
        counts["operations_order"] = copy_rows(
            cursor,
            "operations_order",
            (
                "id",
                "organization_id",
                "created_at",
                "customer_id",
                "opportunity_id",
                "number",
                "status",
                "ordered_at",
                "total_cents",
            ),  # fmt: skip
            (
                (
                    oid,
                    org_id,
                    _dt(o.ordered),
                    customer_ids[o.customer],
                    None if o.opportunity is None else opp_ids[o.opportunity],
                    f"SO-{n:06d}",
                    o.status,
                    _dt(o.ordered),
                    o.basket.total,
                )  # fmt: skip
                for n, (oid, o) in enumerate(zip(order_ids, plan.orders, strict=True), start=1)
            ),
            bar,
        )
        counts["operations_orderitem"] = copy_rows(
            cursor,
            "operations_orderitem",
            ("organization_id", "order_id", "product_id", "quantity", "unit_price_cents", "kwh"),
            (
                (org_id, oid, product_ids[p], qty, unit, kwh)
                for oid, o in zip(order_ids, plan.orders, strict=True)
                for p, qty, unit, kwh in o.basket.lines
            ),
            bar,
        )
        counts["operations_installationjob"] = copy_rows(
            cursor,
            "operations_installationjob",
            (
                "organization_id",
                "order_id",
                "customer_id",
                "technician_id",
                "status",
                "scheduled_for",
                "started_at",
                "completed_at",
                "cancelled_at",
                "kwh",
                "labor_hours",
                "created_at",
            ),  # fmt: skip
            (
                (
                    org_id,
                    order_ids[j[0]],
                    customer_ids[j[1]],
                    j[2],
                    j[3],
                    _dt(j[4]),
                    _dt(j[5]),
                    _dt(j[6]),
                    _dt(j[7]),
                    j[8],
                    j[9],
                    _dt(j[10]),
                )  # fmt: skip
                for j in plan.jobs
            ),
            bar,
        )
        counts["operations_warrantyclaim"] = copy_rows(
            cursor,
            "operations_warrantyclaim",
            (
                "organization_id",
                "created_at",
                "customer_id",
                "order_id",
                "product_id",
                "kind",
                "status",
                "opened_at",
                "resolved_at",
                "cost_cents",
            ),  # fmt: skip
            (
                (
                    org_id,
                    _dt(c[5]),
                    customer_ids[c[0]],
                    order_ids[c[1]],
                    product_ids[c[2]],
                    c[3],
                    c[4],
                    _dt(c[5]),
                    _dt(c[6]),
                    c[7],
                )  # fmt: skip
                for c in plan.claims
            ),
            bar,
        )
        counts["operations_activity"] = copy_rows(
            cursor,
            "operations_activity",
            (
                "organization_id",
                "created_at",
                "user_id",
                "kind",
                "customer_id",
                "opportunity_id",
                "subject",
                "occurred_at",
            ),  # fmt: skip
            (
                (
                    org_id,
                    _dt(ts),
                    user,
                    kind,
                    None if customer is None else customer_ids[customer],
                    None if opp is None else opp_ids[opp],
                    subject,
                    _dt(ts),
                )  # fmt: skip
                for user, kind, customer, opp, subject, ts in generator.activities(plan)
            ),
            bar,
        )
        bar.close()
    return counts


def analyze_tables() -> None:
    """Refresh planner statistics after a bulk load."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, TABLES)))
        )


def progress_enabled(no_progress: bool) -> bool:
    return not no_progress and sys.stderr.isatty()


# --- Demo -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    is_staff: bool = False


DEMO_USERS = (
    DemoUser("admin@renoz.demo", "Olivia Bennett", Role.ADMIN, is_staff=True),
    DemoUser("sales@renoz.demo", "Jack Thompson", Role.SALES),
    DemoUser("ops@renoz.demo", "Priya Sharma", Role.OPERATIONS),
    DemoUser("tech@renoz.demo", "Liam O'Connor", Role.TECHNICIAN),
    DemoUser("viewer@renoz.demo", "Grace Nguyen", Role.VIEWER),
    DemoUser("chloe.walker@renoz.demo", "Chloe Walker", Role.SALES),
    DemoUser("mitchell.harris@renoz.demo", "Mitchell Harris", Role.SALES),
    DemoUser("aisha.rahman@renoz.demo", "Aisha Rahman", Role.SALES),
    DemoUser("ben.kowalski@renoz.demo", "Ben Kowalski", Role.TECHNICIAN),
    DemoUser("sam.papadopoulos@renoz.demo", "Sam Papadopoulos", Role.TECHNICIAN),
    DemoUser("kai.tanaka@renoz.demo", "Kai Tanaka", Role.TECHNICIAN),
    DemoUser("dylan.murray@renoz.demo", "Dylan Murray", Role.TECHNICIAN),
)
ROLE_LOGINS = DEMO_USERS[:5]
# Apps whose admin pages the demo admin (staff, not superuser) may use for their own org.
ADMIN_APPS = ("accounts", "operations", "dashboard", "targets", "reports", "insights")


@dataclass
class SeedResult:
    organization: Organization
    counts: dict[str, int]
    seconds: float
    logins: list[tuple[str, str, str]]  # (email, password, role)


class AlreadySeeded(Exception):
    """The organisation already has its data; nothing was written."""


def seed_demo(*, seed: int, now: datetime, progress: bool) -> SeedResult:
    """Create the "Renoz Energy" demo organisation, its users and about three years of data."""
    started = time.perf_counter()
    org = Organization.objects.filter(name=DEMO_ORG_NAME).order_by("pk").first()
    if org is not None and _has_records(org):
        raise AlreadySeeded(f'Organisation "{DEMO_ORG_NAME}" already exists; nothing to do.')
    tz = ZoneInfo("Australia/Sydney")
    taken = set(
        User.objects.filter(email__in=[u.email for u in DEMO_USERS]).values_list("email", flat=True)
    )
    if taken:
        raise AlreadySeeded(f"Demo users already exist ({', '.join(sorted(taken))}); not seeding.")
    with transaction.atomic():
        clock_start = _dt(Clock(now, DEMO_VOLUME.years, tz).first_ts)
        if org is None:
            org = Organization.objects.create(
                name=DEMO_ORG_NAME,
                timezone="Australia/Sydney",
                fiscal_year_start_month=7,
                created_at=clock_start,
            )
        password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
        users = User.objects.bulk_create(
            User(
                email=u.email,
                full_name=u.full_name,
                organization=org,
                role=u.role,
                is_staff=u.is_staff,
                password=password,
                date_joined=clock_start,
            )
            for u in DEMO_USERS
        )
        by_email = {u.email: u for u in users}
        admin_perms = Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
        by_email["admin@renoz.demo"].user_permissions.set(admin_perms)
        sales = [u.pk for u in users if u.role == Role.SALES]
        techs = [u.pk for u in users if u.role == Role.TECHNICIAN]
        lead_tech = by_email["tech@renoz.demo"].pk
        staff = Staff(
            sales=sales,
            sales_weights=[1.3] + [1.0] * (len(sales) - 1),
            technicians=techs,
            technician_weights=[1.7 if pk == lead_tech else 1.0 for pk in techs],
            lead_technician=lead_tech,
        )
        generator = Generator(seed=f"demo:{seed}", now=now, volume=DEMO_VOLUME, staff=staff, tz=tz)
        counts = write_history(org, generator, progress)
        add_field_details(org)
    analyze_tables()
    counts = {"accounts_user": len(users), **counts}
    logins = [(u.email, DEMO_PASSWORD, u.role) for u in ROLE_LOGINS]
    return SeedResult(org, counts, time.perf_counter() - started, logins)


_STREETS = ("George St", "Parramatta Rd", "Pacific Hwy", "Hume Hwy", "King St", "Victoria Rd",
            "Princes Hwy", "Military Rd", "Church St", "Great Western Hwy", "Botany Rd", "Elizabeth St")  # fmt: skip
_SUBURBS = {
    "NSW": "Parramatta NSW 2150", "VIC": "Dandenong VIC 3175", "QLD": "Eagle Farm QLD 4009",
    "WA": "Welshpool WA 6106", "SA": "Wingfield SA 5013", "TAS": "Glenorchy TAS 7010",
    "ACT": "Fyshwick ACT 2609", "NT": "Winnellie NT 0820",
}  # fmt: skip
_AREA = {"NSW": "02", "ACT": "02", "VIC": "03", "TAS": "03", "QLD": "07", "WA": "08", "SA": "08",
         "NT": "08"}  # fmt: skip
_NOTES = (
    "Site contact meets the crew at the front gate. Switchboard is in the plant room.",
    "Forklift on site for the battery cabinet. Check the slab before unloading.",
    "Induction required on arrival (15 min). Hi-vis and steel caps.",
    "Customer asked for a walk-through of the monitoring app after commissioning.",
    "",
)


def add_field_details(org: Organization) -> None:
    """Site addresses, phone numbers and notes for the field view, derived from each record's
    id and state so a re-seed gives the same values (one statement per table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE operations_customer c
               SET phone = (%(area)s::jsonb ->> c.state) || ' ' || lpad((c.id * 7919 %% 10000)::text, 4, '0')
                           || ' ' || lpad((c.id * 104729 %% 10000)::text, 4, '0')
             WHERE c.organization_id = %(org)s
            """,
            {"org": org.pk, "area": json.dumps(_AREA)},
        )
        cursor.execute(
            """
            UPDATE operations_installationjob j
               SET site_address = (1 + j.id %% 240)::text || ' '
                                  || (%(streets)s::text[])[1 + j.id %% %(n_streets)s] || ', '
                                  || (%(suburbs)s::jsonb ->> c.state),
                   notes = (%(notes)s::text[])[1 + j.id %% %(n_notes)s]
              FROM operations_customer c
             WHERE c.id = j.customer_id AND j.organization_id = %(org)s
            """,
            {
                "org": org.pk,
                "streets": list(_STREETS),
                "n_streets": len(_STREETS),
                "suburbs": json.dumps(_SUBURBS),
                "notes": list(_NOTES),
                "n_notes": len(_NOTES),
            },
        )


def _has_records(org: Organization) -> bool:
    return Customer.objects.filter(organization=org).exists()


# --- Benchmark ------------------------------------------------------------------------------


def benchmark_names(volume: str, seed: int, n: int) -> tuple[str, str]:
    """The organisation name and admin email for one benchmark organisation."""
    if seed == 42:
        name = f"Benchmark {volume} #{n}"
        email = f"bench-admin-{n}@renoz.bench" if volume == "year3" else None
    else:
        name = f"Benchmark {volume} #{n} (seed {seed})"
        email = None
    return name, email or f"bench-admin-{volume}-s{seed}-{n}@renoz.bench"


def seed_benchmark_org(
    *, volume_name: str, n: int, seed: int, now: datetime, progress: bool
) -> SeedResult | None:
    """Write one benchmark organisation; None when it already exists."""
    started = time.perf_counter()
    volume = BENCHMARK_VOLUMES[volume_name]
    name, email = benchmark_names(volume_name, seed, n)
    if Organization.objects.filter(name=name).exists():
        return None
    if User.objects.filter(email=email).exists():
        raise AlreadySeeded(f"{email} already belongs to another organisation")
    tz = ZoneInfo("Australia/Sydney")
    with transaction.atomic():
        org = Organization.objects.create(
            name=name,
            timezone="Australia/Sydney",
            fiscal_year_start_month=7,
            created_at=_dt(Clock(now, volume.years, tz).first_ts),
        )
        admin = User.objects.create(
            email=email,
            full_name=f"Benchmark admin {n}",
            organization=org,
            role=Role.ADMIN,
            password=_bench_password(),
            date_joined=org.created_at,
        )
        staff = Staff(
            sales=[admin.pk], sales_weights=[1.0], technicians=[admin.pk], technician_weights=[1.0]
        )
        generator = Generator(
            seed=f"bench:{volume_name}:{seed}:{n}", now=now, volume=volume, staff=staff, tz=tz
        )
        counts = write_history(org, generator, progress)
    counts = {"accounts_user": 1, **counts}
    return SeedResult(
        org, counts, time.perf_counter() - started, [(email, BENCH_PASSWORD, "admin")]
    )


_BENCH_HASH: list[str] = []


def _bench_password() -> str:
    if not _BENCH_HASH:
        _BENCH_HASH.append(make_password(BENCH_PASSWORD))
    return _BENCH_HASH[0]
