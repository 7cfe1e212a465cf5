"""Serving the HTTP API with hypercorn's trio worker (``callroute serve``, and the tests' servers on loopback)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio


def hypercorn_config(host: str, port: int, *, keep_alive_seconds: float = 5.0) -> Any:
    """hypercorn's settings: one bind, no access log (callroute logs through structlog), bounded keep-alive."""
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.keep_alive_timeout = keep_alive_seconds
    config.graceful_timeout = 3.0
    return config


async def serve(app: Any, host: str, port: int, *, shutdown_trigger: Callable[[], Awaitable[Any]] | None = None,
                task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns (or the task is cancelled); ``task_status`` gets the bound URLs."""
    from hypercorn.trio import serve as hypercorn_serve

    await hypercorn_serve(app, hypercorn_config(host, port), shutdown_trigger=shutdown_trigger, task_status=task_status)


__all__ = ["hypercorn_config", "serve"]
