"""Template filters of the presentation vocabulary (docs/architecture.md, section "Presentation
vocabulary"): {{ value|metric:"aud_cents" }} is the short form, {{ value|metric_exact:"kwh" }}
the exact one, {{ cents|aud }} a record's amount, {{ instant|clock:tz }} "10:34 pm" and
{{ instant|moment:tz }} "Sat 5 Dec, 10:34 pm" (never Django's "p.m.")."""

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from metrics import formatting
from presentation import svg, wording

register = template.Library()


@register.filter
def metric(value, unit: str) -> str:
    return formatting.short(value, unit)


@register.filter
def metric_exact(value, unit: str) -> str:
    return formatting.exact(value, unit)


@register.filter
def aud(cents) -> str:
    return formatting.format_aud(cents)


def _tz(tz):
    return timezone.get_current_timezone() if tz in (None, "") else tz


@register.filter
def clock(instant, tz=None) -> str:
    """The time of day: "10:34 pm" (in `tz`, else the active timezone)."""
    return wording.clock(instant, _tz(tz)) if instant else ""


@register.filter
def clock_zone(instant, tz=None) -> str:
    """The time of day with its zone: "10:34 pm AEDT"."""
    return wording.clock(instant, _tz(tz), zone=True) if instant else ""


@register.filter
def moment(instant, tz=None) -> str:
    """A weekday, date and time this year: "Sat 5 Dec, 10:34 pm"."""
    return wording.exact_time(instant, _tz(tz), year=False) if instant else ""


# The chart box by widget size (static/css/app.css, .chart): the desktop drawing fills it, and
# a second, narrow drawing is shown instead on a phone, so its text stays legible.
CHART_BOXES = {"s": (340, 220), "m": (560, 300), "l": (1100, 340)}
PHONE_BOX = (360, 260)


@register.filter
def chart_svg(figure, widget) -> str:
    """A chart's first paint: its figure drawn as SVG by the server (presentation.svg, as the
    PDF prints it), named by the widget's title and described by the chart's summary; once for
    a desktop box and once for a phone's (CSS shows one), from one reading of the figure."""
    data = widget.get("data") or {}
    plot = svg.read_figure(figure)
    out = []
    for kind, (width, height) in (
        ("wide", CHART_BOXES.get(widget.get("size"), CHART_BOXES["m"])),
        ("narrow", PHONE_BOX),
    ):
        drawn = svg.draw(
            plot,
            width=width,
            height=height,
            title=widget.get("title", ""),
            desc=data.get("summary", ""),
            ident=f"svg-{kind}-{widget['id']}",
        )
        out.append(drawn.replace('class="chart-svg"', f'class="chart-svg chart-svg-{kind}"', 1))
    return mark_safe("".join(out))  # noqa: S308 - svg.render_figure escapes every text it writes


@register.filter(is_safe=True)
def json_script_fast(value, element_id: str) -> SafeString:
    """Django's `json_script` filter, byte for byte, made cheaper: the same JSON with the same
    three characters escaped (`<`, `>`, `&` as `\\u003C`, `\\u003E`, `\\u0026`, so no text in
    it can end the script or start markup), by three `str.replace` instead of Django's
    `str.translate`, which looks each character of a chart's 3–9 KB figure up in a dict (about
    2 ms of a dashboard page's five charts)."""
    text = json.dumps(value, cls=DjangoJSONEncoder)
    text = text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    return mark_safe(  # noqa: S308 - the JSON's markup characters are escaped above
        f'<script id="{conditional_escape(element_id)}" type="application/json">{text}</script>'
    )
