"""The ``callroute`` command line (click: composable sub-commands, exit status 2 on usage errors, shell completion).

Sub-commands live in one module per area and are imported only when run, so that a query
such as ``callroute table`` never loads the simulator, trio or matplotlib.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys
from typing import Any

import click

from adapters.cli.common import CallrouteContext, Wiring, attach_global_options, root_options
from adapters.cli.ending import end_at_once
from adapters.cli.errors import Failure

__all__ = ["Failure", "Wiring", "cli", "main"]

# command name → "module:attribute" under adapters.cli
_COMMANDS = {
    "apply": "ledger:apply_file",
    "tenant": "ledger:tenant",
    "demo": "ledger:demo",
    "user": "users:user",
    "divert": "users:divert",
    "out-of-hours": "users:out_of_hours",
    "group": "groups:group",
    "queue": "services:queue",
    "ivr": "services:ivr",
    "scheme": "services:scheme",
    "number": "services:number",
    "closure": "closures:closure",
    "explain": "routing:explain",
    "table": "routing:table_command",
    "pending": "routing:pending",
    "provision": "routing:provision",
    "audit": "audit:audit",
    "simulate": "simulate:simulate",
    "ingest": "calls:ingest",
    "history": "calls:history",
    "conformance": "calls:conformance",
    "migrate": "migrate:migrate",
    "token": "tokens:token",
    "serve": "serve:serve",
    "project": "project:project",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use (the pattern in click's documentation)."""

    context_class = CallrouteContext

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | {n for n in _COMMANDS if _available(n)})

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; a store that is not what was written, or cannot be read, is one line and exit 1.

        Here rather than in ``main()``, so that every way of running the group (the console script, the tests'
        ``CliRunner``) answers the same.
        """
        try:
            return super().invoke(ctx)
        except Exception as exc:  # noqa: BLE001 - only the store's faults are mapped; anything else is raised again
            failure = store_failure(ctx, exc)
            if failure is None:
                raise
            raise failure from None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        finally:
            _started()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS or not _available(cmd_name):
            return super().get_command(ctx, cmd_name)
        module_name, attribute = _COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(f"adapters.cli.{module_name}"), attribute)
        return attach_global_options(command)


def store_failure(ctx: click.Context, exc: Exception) -> Failure | None:
    """The one line (and exit status) for ``exc`` if it is a fault of the store: ``None`` for anything else.

    - what was read is not what was written (``StoreIntegrityError``: an edited, missing or forged event,
      snapshot or projection row), or a stored event cannot be decoded: exit 1, pointing at ``audit verify``;
    - the SQLite file is damaged, truncated or not SQLite at all: exit 1, naming the file and SQLite's words;
    - the file stayed locked by another writer: exit 4 (try again).
    """
    import sqlite3

    from eventsourcing.persistence import MapperDeserialisationError, PersistenceError, RecordConflictError

    from adapters.bootstrap import UnsupportedStore, damaged_text
    from adapters.cli.errors import BROKEN, CONFLICT
    from core.errors import StoreIntegrityError

    path = _store_path(ctx)
    if isinstance(exc, UnsupportedStore):
        return Failure(str(exc))
    if isinstance(exc, StoreIntegrityError):
        return Failure(f"{path}: {exc} — run: callroute audit verify", BROKEN)
    if isinstance(exc, MapperDeserialisationError):
        return Failure(f"{path}: a stored event cannot be read ({exc}) — run: callroute audit verify", BROKEN)
    if isinstance(exc, RecordConflictError):
        return Failure(f"{path}: another writer stored a change to the same record first; nothing was stored, retry", CONFLICT)
    if isinstance(exc, sqlite3.DatabaseError | PersistenceError):
        words = " ".join(str(exc).split())
        if "locked" in words or "busy" in words:
            return Failure(f"{path}: the store stayed locked by another writer ({words}); try again", CONFLICT)
        return Failure(damaged_text(path, exc), BROKEN)
    return None


def _store_path(ctx: click.Context) -> Any:
    env = ctx.find_root().meta.get("callroute.env")
    if env is not None:
        return env.db
    from adapters.bootstrap import db_path
    from adapters.cli.common import setting

    return db_path(setting(ctx, "db"))


def _available(name: str) -> bool:
    module_name, attribute = _COMMANDS[name].split(":")
    if importlib.util.find_spec(f"adapters.cli.{module_name}") is None:
        return False
    return hasattr(importlib.import_module(f"adapters.cli.{module_name}"), attribute)


@click.group("callroute", cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="callroute", message="%(prog)s %(version)s")
@root_options
@click.pass_context
def cli(ctx: click.Context, **_: Any) -> None:
    """callroute: the routing core of a hosted phone system.

    Every change to a tenant's call routing is kept as a hash-chained event. These commands
    change it, show it as saved and as live on the PBX, explain where a call goes, audit its
    history, and simulate calls. Global options may also follow the command's name.
    """
    if ctx.obj is None:
        ctx.obj = Wiring()
    if ctx.invoked_subcommand is None:
        # Bare ``callroute``: the help, as a successful answer.
        click.echo(ctx.get_help())
        ctx.exit(0)


_starting = False
"""Whether ``main`` turned the cyclic garbage collector off for the start-up (until the sub-command is imported)."""


def _started() -> None:
    """The sub-command is imported: what start-up made is frozen (``gc.freeze``: kept, never walked again) and the
    collector is on again, for the command's own work. A cycle that start-up left as garbage (an import's caught
    ``ImportError`` and its traceback, say) is frozen with the rest: a few kilobytes kept for the process's life, which
    a full collection first (~10 ms) would free at the price of what the freeze saves."""
    global _starting
    if _starting:
        _starting = False
        gc.freeze()
        gc.enable()


def main() -> None:
    """Console-script entry point: the wall clock and Argon2, as wired by ``Wiring()`` (faults of the store: ``LazyGroup.invoke``)."""
    global _starting
    # Importing a command makes some 100,000 objects (modules, classes, functions) that live as long as the process; the
    # cyclic collector would walk them some 60 times meanwhile (~10 ms of a command's start). It is off until the
    # command is imported (``_started``).
    if gc.isenabled():
        gc.disable()
        _starting = True
    # Called by the console script or ``python -m adapters.cli`` (whose module is ``__main__``), not by other code that
    # expects control back: only then may the process end at once.
    entry_point = sys._getframe(1).f_globals.get("__name__") == "__main__"
    try:
        cli(prog_name="callroute", obj=Wiring())
    except SystemExit as done:  # click ends every command so, its exit status in ``code``
        end_at_once(done.code, entry_point=entry_point)  # when the command left nothing to close (``adapters/cli/ending.py``)
        raise
    finally:
        _started()
