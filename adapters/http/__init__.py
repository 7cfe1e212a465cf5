"""The HTTP API: ASGI (Litestar) on hypercorn's trio worker. ``create_app`` builds it; ``server.serve`` runs it."""

from __future__ import annotations

from adapters.http.app import DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_SECONDS, Limits, create_app
from adapters.http.service import WebhookSource

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_REQUEST_SECONDS", "Limits", "WebhookSource", "create_app"]
