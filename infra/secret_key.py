"""The SECRET_KEY rule: production refuses a key anyone could guess (docs/architecture.md,
"Secrets and signed links").

Everything signed (sessions, CSRF, password-reset tokens, report unsubscribe links) is only
as strong as this key; a predictable default let an unsubscribe link be forged for another
organisation's report. With DEBUG off the key must come from the environment, be at least
MIN_LENGTH characters with MIN_DISTINCT distinct ones, and not be one of our placeholders;
SECRET_KEY_FALLBACKS (old keys kept while rotating) are held to the same rule.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

MIN_LENGTH = 50
MIN_DISTINCT = 10
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
# Parts of every default this project (or Django's startproject) has shipped: a key holding
# one of them is a published key.
PLACEHOLDER_MARKERS = (
    "django-insecure",
    "dev-only-insecure",
    "local-serve-prod-",
    "not-secret",
    "compose-local-only",
    "change-me",
    "changeme",
    "placeholder",
)
# The key a DEBUG run uses when neither SECRET_KEY nor the local key file is there.
DEV_ONLY_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105


def weakness(key: str) -> str | None:
    """Why `key` is unfit to sign anything in production, or None when it is strong."""
    if len(key) < MIN_LENGTH:
        return f"it is {len(key)} characters long; it needs at least {MIN_LENGTH}"
    if len(set(key)) < MIN_DISTINCT:
        return f"it has {len(set(key))} distinct characters; it needs at least {MIN_DISTINCT}"
    lowered = key.lower()
    if marker := next((m for m in PLACEHOLDER_MARKERS if m in lowered), None):
        return f"it is a published placeholder (it contains {marker!r})"
    return None


def require_strong(name: str, key: str) -> str:
    """`key`, or ImproperlyConfigured naming `name`, saying what is wrong and how to make one."""
    if not key:
        problem = "it is not set"
    else:
        problem = weakness(key) or ""
    if problem:
        raise ImproperlyConfigured(
            f"{name} must be set to a strong random key when DEBUG is off, but {problem}. "
            f"Make one with: {HOW_TO_MAKE_ONE}"
        )
    return key


def local_key(path: Path) -> str:
    """A DEBUG run's key: the one kept in `path` (written by `make demo`), else DEV_ONLY_KEY."""
    try:
        key = path.read_text().strip()
    except OSError:
        return DEV_ONLY_KEY
    return key or DEV_ONLY_KEY


def write_local_key(path: Path) -> bool:
    """Write a new random key to `path` (owner-only) unless one is there; True if written."""
    if path.exists() and path.read_text().strip():
        return False
    path.write_text(secrets.token_urlsafe(50) + "\n")
    path.chmod(0o600)
    return True


def main(argv: list[str]) -> int:
    """`python -m infra.secret_key check`: exit 1 with the reason when $SECRET_KEY (or one of
    $SECRET_KEY_FALLBACKS) is weak (scripts/serve_prod.sh runs it first).
    `python -m infra.secret_key local PATH`: make the DEBUG runs' key file if missing."""
    import os
    import sys

    if argv[:1] == ["local"] and len(argv) == 2:
        if write_local_key(Path(argv[1])):
            print(f"Wrote a new random SECRET_KEY for local runs to {argv[1]}")
        return 0
    if argv == ["check"]:
        fallbacks = [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",")]
        try:
            require_strong("SECRET_KEY", os.environ.get("SECRET_KEY", ""))
            for old in filter(None, fallbacks):
                require_strong("Each of SECRET_KEY_FALLBACKS", old)
        except ImproperlyConfigured as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    print("usage: python -m infra.secret_key check | local PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
