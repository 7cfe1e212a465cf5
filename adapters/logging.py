"""structlog configuration: called only by entry points, never at import time.

structlog (and rich, which ``structlog.dev`` imports when it is installed) costs ~50 ms to import, so a command that
logs nothing does not import it: until something imports structlog, its configuration waits, and is made the moment
structlog is imported, by whoever imports it, before anything can log through it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

_handler: logging.Handler | None = None
"""The handler ``configure_logging`` put on the "callroute" logger, replaced when it runs again."""

_pending: Callable[[ModuleType], None] | None = None
"""The structlog configuration still to be made, when structlog is not imported yet."""


def configure_logging(level: str = "warning") -> None:
    """Readable console logs on a terminal, JSON lines otherwise; both on stderr."""
    global _handler
    numeric_level = getattr(logging, level.upper())
    # What configuring depends on is read now, as if structlog were configured now: the stream (a test runner may
    # replace sys.stderr for one command) and whether it is a terminal.
    stream = sys.stderr
    terminal = stream.isatty()

    def configure(structlog: Any) -> None:
        renderer: Any
        if terminal:
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
            logger_factory=structlog.PrintLoggerFactory(file=stream),
            cache_logger_on_first_use=True,
        )

    _configure_structlog(configure)
    # core logs through the standard library logger "callroute" (silent for library
    # users); its messages arrive already rendered by the processors above, so they are
    # written to stderr as they are, once each however often the entry point runs.
    core_logger = logging.getLogger("callroute")
    if _handler is not None:
        core_logger.removeHandler(_handler)
    _handler = logging.StreamHandler(stream)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    core_logger.addHandler(_handler)
    core_logger.setLevel(numeric_level)


def _configure_structlog(configure: Callable[[ModuleType], None]) -> None:
    """Configure structlog now if it is imported, else the moment it is."""
    global _pending
    structlog = sys.modules.get("structlog")
    if structlog is not None:
        _pending = None
        configure(structlog)
        return
    _pending = configure
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def _configured(module: ModuleType) -> None:
    """structlog has just been imported: make the configuration that waited for it."""
    global _pending
    configure, _pending = _pending, None
    if configure is not None:
        configure(module)


class _ConfigureOnImport:
    """An import hook (``sys.meta_path``) that configures structlog right after it is imported.

    It stays installed: it answers only for structlog, and only until structlog is imported (an import looks in
    ``sys.modules`` first), and taking it out of ``sys.meta_path`` could make another thread's import, looping over
    that list at the same moment, skip a finder. A mere look-up (``importlib.util.find_spec``) gets the wrapped spec
    and imports nothing; the import that follows is still configured."""

    def __init__(self) -> None:
        self.looking = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "structlog" or self.looking:
            return None
        from importlib.util import find_spec

        self.looking = True  # the look-up below asks the finders again, this one included
        try:
            spec = find_spec(fullname)  # by the other finders, as the import would have found it
        finally:
            self.looking = False
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader)
        return spec


class _Loader:
    """structlog's own loader, which configures it after loading it (and puts itself back in the module's place)."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _configured(module)


_FINDER = _ConfigureOnImport()
