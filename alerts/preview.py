"""Preview: replay a rule over the last 90 days before it is saved (docs/alerts.md)."""

from __future__ import annotations


class PreviewError(ValueError):
    pass


def preview_rule(rule):
    raise PreviewError("Preview is not available yet")
