"""Bearer tokens of the HTTP API, drawn here (core draws no random number): ``crt_<id>_<secret>``.

The id (16 hex digits, 64 random bits) is public: ``callroute token list`` shows it and ``token revoke --id``
takes it. The secret is 256 random bits (``secrets.token_urlsafe(32)``). The store keeps only the SHA-256 of
the whole token (``core/aggregates/tokens.py`` says why SHA-256 and not Argon2).
"""

from __future__ import annotations

import secrets

from core.aggregates.tokens import TOKEN_PREFIX, token_hash


def new_token() -> tuple[str, str, str]:
    """A fresh token: ``(token_id, token, its SHA-256)``; the token is shown once and never stored."""
    token_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    return token_id, token, token_hash(token)


__all__ = ["new_token"]
