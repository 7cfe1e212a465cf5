"""How a command's process ends: at once, when the command says it left nothing for the interpreter's teardown.

A Python process ends by tearing the interpreter down: every module and the objects it holds are freed one by one
(some 100,000 after a ``simulate``, ~10 ms of a one-call run). Nothing a user sees depends on it unless something
still open is closed by it: a database connection (SQLite folds its write-ahead log into the file on the last close),
a file left unclosed, a thread still running. A command that leaves none of those says so (``nothing_to_close``), and
``main`` then ends the process with ``os._exit`` once its exit handlers (``atexit``) have run and its output is
flushed. Anything short of that ends the ordinary way: ``main`` called by other code than the program's own entry
point (a wrapper, a test), a tracer or profiler at work (``python -m cProfile``, a debugger, coverage), another thread
alive (rich's refresh thread after a progress display, say), an exit status that is not a small number, or output that
cannot be flushed.
"""

from __future__ import annotations

import atexit
import os
import sys

_nothing_to_close = False


def nothing_to_close() -> None:
    """Called by a command that opened no store and closes every file it writes itself: its process may end at once."""
    global _nothing_to_close
    _nothing_to_close = True


def end_at_once(code: object, *, entry_point: bool) -> None:
    """End the process now with exit status ``code`` (``SystemExit.code``) if the command allowed it and ``main`` is
    the program's entry point (``entry_point``); else return. The command's word counts once: it is cleared here."""
    global _nothing_to_close
    allowed, _nothing_to_close = _nothing_to_close, False
    if not allowed or not entry_point or sys.gettrace() is not None or sys.getprofile() is not None:
        return
    status = 0 if code is None else code
    if not isinstance(status, int) or not 0 <= status <= 255 or _other_threads():
        return
    if not _flushed():
        return  # the ordinary ending reports it as it would
    atexit._run_exitfuncs()  # what the ordinary ending runs first (and then forgets: they never run twice)
    if _flushed():  # an exit handler may have written
        os._exit(status)


def _other_threads() -> bool:
    threading = sys.modules.get("threading")
    return threading is not None and threading.active_count() > 1


def _flushed() -> bool:
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            return False
    return True
