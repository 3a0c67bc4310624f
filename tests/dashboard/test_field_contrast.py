"""The field view's cards, completed ones and those with a queued action included, keep text at
4.5:1 or better against their background (WCAG AA), as the CSS writes the colours: no fading
by opacity, which axe counts as a colour-contrast failure on every line of the card."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

CSS = Path(settings.BASE_DIR) / "static" / "css"


def _rules(name: str) -> dict[str, str]:
    text = re.sub(r"/\*.*?\*/", "", (CSS / name).read_text(), flags=re.S)
    return {
        selector.strip(): body
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text)
        for selector in selectors.split(",")
    }


APP, FIELD = _rules("app.css"), _rules("field.css")
TOKENS = dict(re.findall(r"--([\w-]+):(#[0-9a-fA-F]{6})", APP[":root"]))


def _value(selector: str, prop: str) -> str:
    for rules in (FIELD, APP):
        match = re.search(rf"(?:^|;)\s*{prop}:([^;]+)", rules.get(selector, ""))
        if match:
            value = match.group(1).strip()
            token = re.fullmatch(r"var\(--([\w-]+)(?:,[^)]*)?\)", value)
            return TOKENS[token.group(1)] if token else value
    raise AssertionError(f"{selector} sets no {prop}")


def _luminance(colour: str) -> float:
    if len(colour) == 4:  # "#fff"
        colour = "#" + "".join(ch * 2 for ch in colour[1:])
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_a_completed_card_is_not_faded():
    assert "opacity" not in FIELD[".card-completed"]


@pytest.mark.parametrize(
    ("text", "background"),
    [
        (".card-time", ".card-completed"),
        (".card-address", ".card-completed"),
        (".card-kwh", ".card-completed"),
        (".card-queue-waiting", ".card-completed"),
        (".card-queue-conflict", ".card-completed"),
        (".card-queue-waiting", ".card"),
        (".card-queue-conflict", ".card"),
        (".pill-completed", ".pill-completed"),
        (".notice-waiting", ".notice-waiting"),
        (".notice-error", ".notice-error"),
    ],
)
def test_card_and_notice_text_has_at_least_4_5_to_1_contrast(text, background):
    colour = _value(text, "color")
    fill = _value(background, "background")
    assert contrast(colour, fill) >= 4.5, (text, colour, background, fill)


def test_the_contrast_helper_agrees_with_the_wcag_examples():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54
