"""structlog configuration: called only by entry points, never at import time."""

from __future__ import annotations

import logging
import sys

import structlog

_handler: logging.Handler | None = None
"""The handler ``configure_logging`` put on the "callroute" logger, replaced when it runs again."""


def configure_logging(level: str = "warning") -> None:
    """Readable console logs on a terminal, JSON lines otherwise; both on stderr."""
    global _handler
    numeric_level = getattr(logging, level.upper())
    renderer: structlog.types.Processor
    if sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # core logs through the standard library logger "callroute" (silent for library
    # users); its messages arrive already rendered by the processors above, so they are
    # written to stderr as they are, once each however often the entry point runs.
    core_logger = logging.getLogger("callroute")
    if _handler is not None:
        core_logger.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    core_logger.addHandler(_handler)
    core_logger.setLevel(numeric_level)
