"""Serving the HTTP API with hypercorn's trio worker (``callroute serve``, and the tests' servers on loopback)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import trio

_LEVELS = ("debug", "info", "warning", "error")


class ListenError(Exception):
    """The server cannot listen on ``host:port`` (the port is taken, the address is not this machine's, …): one line."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        self.host, self.port, self.cause = host, port, cause
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        super().__init__(f"{where}: {_listen_words(cause)}")


def _listen_words(cause: OSError) -> str:
    """Why a bind failed, in words: the OS's own words (``address already in use``), with what they mean where they are
    not plain."""
    if isinstance(cause, socket.gaierror):
        return f"not a host name or address this machine can resolve ({cause.strerror or cause})"
    words = (cause.strerror or str(cause)).strip().rstrip(".")
    words = words[:1].lower() + words[1:]
    if cause.errno == errno.EADDRNOTAVAIL:
        return f"not an address of this machine ({words})"
    if cause.errno == errno.EACCES:
        return f"{words} (a port below 1024 needs privileges)"
    return words


_BIND_ERRORS = {errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES, errno.EAFNOSUPPORT}


def _bind_error(exc: BaseException) -> OSError | None:
    """The failed bind that ``exc`` is, or that its nested exception groups hold as their one exception; else ``None``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, socket.gaierror) or (isinstance(exc, OSError) and exc.errno in _BIND_ERRORS):
        return exc
    return None


def hypercorn_config(host: str, port: int, *, keep_alive_seconds: float = 5.0, log_level: str = "error") -> Any:
    """hypercorn's settings: one bind, no access log (callroute logs through structlog), bounded keep-alive.

    hypercorn's own log (plain text on stderr) takes ``log_level`` but never info: its one info line, ``Running on …``,
    says what ``callroute serve`` says in its own words (``callroute: serving … on URL``).
    """
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.loglevel = max(log_level, "warning", key=_LEVELS.index).upper()
    config.keep_alive_timeout = keep_alive_seconds
    config.graceful_timeout = 3.0
    return config


class _Started:
    """``task_status``, remembering whether the server got as far as listening."""

    def __init__(self, status: trio.TaskStatus[list[str]]) -> None:
        self.status = status
        self.listening = False

    def started(self, value: list[str]) -> None:
        self.listening = True
        self.status.started(value)


async def serve(app: Any, host: str, port: int, *, shutdown_trigger: Callable[[], Awaitable[Any]] | None = None,
                task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED, log_level: str = "error") -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns (or the task is cancelled); ``task_status`` gets the bound URLs.

    An address it cannot listen on (a port in use, an address that is not this machine's) is ``ListenError``, not
    hypercorn's nested exception groups.
    """
    from hypercorn.trio import serve as hypercorn_serve

    started = _Started(task_status)
    try:
        await hypercorn_serve(app, hypercorn_config(host, port, log_level=log_level), shutdown_trigger=shutdown_trigger,
                              task_status=started)  # type: ignore[arg-type]
    except BaseException as exc:
        cause = None if started.listening else _bind_error(exc)
        if cause is None:
            raise
        raise ListenError(host, port, cause) from None


__all__ = ["ListenError", "hypercorn_config", "serve"]
