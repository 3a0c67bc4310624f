"""The dashboard page in Chromium, as a person waits for it (issue 25; `manage.py bench_page`).

Playwright drives /usr/bin/chromium, signed in through the login form. Every load starts with
the browser's cache disabled (CDP Network.setCacheDisabled), so static files are downloaded
each time: the worst case. A desktop is 1280×900; a phone is 390×844 with touch, slow 4G (CDP
Network.emulateNetworkConditions) and a 4× slower CPU (CDP Emulation.setCPUThrottlingRate).
Per load: first contentful paint, when every chart was drawn (window.dashboardChartsDrawnAt:
the frame in which the server's SVG charts are first drawn, noted by an inline script right
after the grid, or by static/js/dashboard.js when a widget loaded later) and, where plotly
takes the charts over by itself (a desktop, once idle), when it had (window.dashboardSettledAt);
all in milliseconds after navigation start. `plotly_requested` says whether plotly.js was
fetched during the load.
"""

from __future__ import annotations

from collections.abc import Callable

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 60_000
PAINT = """() => {
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return [fcp ? fcp.startTime : null, window.dashboardChartsDrawnAt || null,
            window.dashboardSettledAt || null];
}"""


def _login(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/accounts/login/" in page.url:
        raise RuntimeError(f"Could not sign in as {email} in Chromium")


def _load(page, base: str, *, plotly_by_itself: bool) -> dict:
    fetched: list[str] = []

    def note(request) -> None:
        if "/static/vendor/plotly" in request.url:
            fetched.append(request.url)

    page.on("request", note)
    try:
        page.goto(f"{base}/dashboard/", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.body.dataset.settled === '1'", timeout=TIMEOUT_MS)
        first_paint, charts_drawn, settled = page.evaluate(PAINT)
        # A page that draws its charts only with plotly (before issue 25) has them drawn when
        # it has settled.
        charts_drawn = charts_drawn or settled
    finally:
        page.remove_listener("request", note)
    return {
        "first_paint_ms": round(first_paint, 1) if first_paint is not None else None,
        "charts_drawn_ms": round(charts_drawn, 1),
        "plotly_ms": round(settled, 1) if plotly_by_itself else None,
        "plotly_requested": bool(fetched),
    }


def chromium_loads(
    base: str,
    email: str,
    password: str,
    *,
    repeat: int,
    go_cold: Callable[[], None],
    slow_4g: dict,
) -> dict[str, list[dict]]:
    """{"desktop_cold"|"desktop_cached"|"phone_slow_4g_cold"|"phone_slow_4g_cached": loads}."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional and heavy

    out: dict[str, list[dict]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for device, options in (("desktop", DESKTOP), ("phone_slow_4g", PHONE)):
                context = browser.new_context(locale="en-AU", **options)
                page = context.new_page()
                _login(page, base, email, password)
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                if device == "phone_slow_4g":
                    cdp.send("Network.emulateNetworkConditions", slow_4g)
                    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
                _load(page, base, plotly_by_itself=device == "desktop")  # warm-up, not counted
                for _ in range(repeat):
                    go_cold()
                    out.setdefault(f"{device}_cold", []).append(
                        _load(page, base, plotly_by_itself=device == "desktop")
                    )
                    out.setdefault(f"{device}_cached", []).append(
                        _load(page, base, plotly_by_itself=device == "desktop")
                    )
                context.close()
        finally:
            browser.close()
    return out
