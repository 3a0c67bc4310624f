"""Tokens at rest: Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`), keyed by
XERO_TOKEN_KEY or, when unset, a key derived from SECRET_KEY (docs/xero.md, "Tokens")."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.XERO_TOKEN_KEY
    if not key:
        digest = hashlib.sha256(b"renoz-xero-token:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt_token(token: dict) -> str:
    return _fernet().encrypt(json.dumps(token).encode()).decode()


def decrypt_token(ciphertext: str) -> dict | None:
    """The stored token, or None when there is none or it cannot be read (a rotated key)."""
    if not ciphertext:
        return None
    try:
        return json.loads(_fernet().decrypt(ciphertext.encode()))
    except (InvalidToken, ValueError):
        return None
