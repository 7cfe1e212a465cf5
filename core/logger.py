"""core's logger: structlog's, made on first use, over the standard library logger "callroute"."""

from __future__ import annotations

import logging
import sys
from typing import Any

# A library must not print: structlog's default configuration writes to stdout, so core's
# events go to the standard library logger "callroute", silent (NullHandler) unless the
# application sets up logging. Processors and level filtering stay structlog's, read from
# the application's ``structlog.configure`` when an event is logged (wrap_logger is lazy),
# once structlog is imported; until then the standard logger's level decides (``_Logger``).
_stdlib_logger = logging.getLogger("callroute")
_stdlib_logger.addHandler(logging.NullHandler())


class _Logger:
    """``structlog.wrap_logger(_stdlib_logger)``, made on first use, so that a process that logs nothing never imports
    structlog (~50 ms with rich, which ``structlog.dev`` imports when it is installed).

    An event is left out without importing structlog only when nothing could show it: while structlog is not imported,
    nobody has configured it or captures its events (``structlog.testing.capture_logs``), so its events can only come out
    of the standard library logger, which they would reach rendered and which would drop them. Once structlog is
    imported, every event goes to it, as before.
    """

    _LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
               "error": logging.ERROR, "exception": logging.ERROR, "critical": logging.CRITICAL, "fatal": logging.CRITICAL}

    def __init__(self) -> None:
        self._wrapped: Any = None

    def _logger(self) -> Any:
        if self._wrapped is None:
            import structlog

            self._wrapped = structlog.wrap_logger(_stdlib_logger)
        return self._wrapped

    def __getattr__(self, name: str) -> Any:
        level = self._LEVELS.get(name)
        if level is None or self._wrapped is not None or "structlog" in sys.modules:
            return getattr(self._logger(), name)

        def log(*args: Any, **kwargs: Any) -> Any:
            if "structlog" not in sys.modules and not _stdlib_logger.isEnabledFor(level):
                return None
            return getattr(self._logger(), name)(*args, **kwargs)

        return log


logger: Any = _Logger()
