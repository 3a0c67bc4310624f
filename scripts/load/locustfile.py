"""Locust load: signed-in people on the dashboard's widgets and the JSON API.

Run by scripts/load/run.sh (`make load`). Each simulated user logs in once as the benchmark
admin, reads the widget ids of its dashboard, then loads widgets and calls the API the way an
open dashboard does: several widget fragments per page view, and a few API reads.
"""

from __future__ import annotations

import os
import random
import re

import requests
from locust import HttpUser, between, task

EMAIL = os.environ.get("LOAD_EMAIL", "bench-admin-1@renoz.bench")
PASSWORD = os.environ.get("LOAD_PASSWORD", "renoz-bench")
RANGES = ["this_month", "last_30_days", "last_90_days", "this_quarter", "this_financial_year"]
COMPARES = ["previous_period", "previous_year", "none"]
API_METRICS = "revenue,orders,kwh_deployed,quote_win_rate,pipeline_value,active_installations"


class DashboardUser(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        # Tricky: log in outside Locust's statistics. A login is a deliberately slow password
        # hash (PBKDF2), and twenty at once on two cores would dominate the percentiles the
        # budget is about (widgets and the API).
        with requests.Session() as session:
            page = session.get(f"{self.host}/accounts/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            session.post(
                f"{self.host}/accounts/login/",
                {
                    "username": EMAIL,
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                },
            )
            self.client.cookies.update(session.cookies)
        home = self.client.get("/dashboard/", name="/dashboard/")
        self.widgets = re.findall(r'data-widget-id="([0-9a-f]+)"', home.text) or []

    def _period(self) -> str:
        return f"range={random.choice(RANGES)}&compare={random.choice(COMPARES)}"

    @task(6)
    def widget(self) -> None:
        if self.widgets:
            widget_id = random.choice(self.widgets)
            self.client.get(
                f"/dashboard/widgets/{widget_id}/?{self._period()}",
                headers={"HX-Request": "true"},
                name="/dashboard/widgets/[id]/",
            )

    @task(2)
    def api_metrics(self) -> None:
        self.client.get(
            f"/api/dashboard/metrics?{self._period()}&metrics={API_METRICS}",
            name="/api/dashboard/metrics",
        )

    @task(2)
    def api_timeseries(self) -> None:
        metric = random.choice(["revenue", "orders", "kwh_deployed", "activities"])
        interval = random.choice(["day", "week", "month"])
        self.client.get(
            f"/api/dashboard/timeseries?metric={metric}&interval={interval}&{self._period()}",
            name="/api/dashboard/timeseries",
        )

    @task(1)
    def dashboard_page(self) -> None:
        self.client.get(f"/dashboard/?{self._period()}", name="/dashboard/")
