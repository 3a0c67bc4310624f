"""Whose widgets a delivery prints when it names none: its owner's dashboard layout.

Saved layouts belong to the dashboard (dashboard.layouts), and deliveries do not import the
screens (docs/architecture.md, section "Presentation vocabulary"). So the dashboard registers
its layout reader here when its app loads (dashboard.apps), and a report asks this module.
"""

from __future__ import annotations

from collections.abc import Callable

_readers: list[Callable[[object], list[dict]]] = []


def register_layout_reader(reader: Callable[[object], list[dict]]) -> None:
    """Install the function that returns a user's layout (its widgets); the last one wins."""
    _readers.append(reader)


def user_layout(user) -> list[dict]:
    """The widgets of `user`'s dashboard (their own, or their role's default)."""
    if not _readers:
        raise RuntimeError("No layout reader registered: is the dashboard app installed?")
    return _readers[-1](user)
