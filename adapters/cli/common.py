"""What every sub-command shares: the store, who acts, which instant, and errors in the user's own words."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, update_wrapper
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from adapters.cli.errors import ACTOR_HINT, Failure, before_nothing_stored, exit_code, refusal_text, schema_text
from adapters.cli.instants import parse_instant
from adapters.wallclock import WallClock

if TYPE_CHECKING:
    from core.aggregates.context import Actor
    from core.clock import Clock
    from core.errors import DomainError
    from core.service import CallrouteApp, Receipt
    from core.wiring import PostgresStore


# A hyphen that textwrap does not break at: help text is wrapped with it, then it is put back.
_KEPT_HYPHEN = "\u2011"
_WORD_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")


class HelpFormatter(click.HelpFormatter):
    """click's help formatter, except that it never breaks a word at a hyphen (``mon-`` / ``fri``, ``nordic-`` / ``dental``)."""

    def write_text(self, text: str) -> None:
        super().write_text(_WORD_HYPHEN.sub(_KEPT_HYPHEN, text))

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(a, _WORD_HYPHEN.sub(_KEPT_HYPHEN, b)) for a, b in rows], col_max, col_spacing)

    def getvalue(self) -> str:
        return super().getvalue().replace(_KEPT_HYPHEN, "-")


class CallrouteContext(click.Context):
    """Every callroute command's context: help comes from ``HelpFormatter``."""

    formatter_class = HelpFormatter


@dataclass
class Wiring:
    """The parts an entry point hands the command line: the console script uses the wall clock, tests a fixed one."""

    clock: Clock = field(default_factory=WallClock)
    pin_hasher: Any = None


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


# (parameter name, option declaration, help). The root group reads the environment variables;
# every sub-command accepts the same options again, after its own name, and those win.
GLOBAL_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("db", "--db", {"metavar": "PATH", "envvar": "CALLROUTE_DB",
                    "help": "SQLite file or postgresql:// URL (default: ./callroute.sqlite)."}),
    ("actor", "--actor", {"metavar": "PRINCIPAL", "envvar": "CALLROUTE_ACTOR",
                          "help": "Who makes the change or reads (default: cli:$USER)."}),
    ("partner", "--partner", {"metavar": "PARTNER", "help": "The channel partner the actor acts for, if any."}),
    ("operator", "--operator", {"is_flag": True, "default": None,
                                "help": "Act as platform operator, who may act for every tenant."}),
    ("pbx_directory", "--pbx-directory", {"metavar": "FILE", "envvar": "CALLROUTE_PBX_DIRECTORY",
                                          "help": "A TOML list of SIP PBXs and their internal numbers."}),
    ("log_level", "--log-level", {"type": click.Choice(["debug", "info", "warning", "error"]),
                                  "help": "How much to log on stderr (default: error; warning adds refused commands as log lines)."}),
)
_OVERRIDES = "callroute.overrides"


def root_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The global options on the root group, with their environment variables shown in --help."""
    for name, decl, spec in reversed(GLOBAL_OPTIONS):
        function = click.option(decl, name, show_envvar="envvar" in spec, **spec)(function)
    return function


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None:
        ctx.find_root().meta.setdefault(_OVERRIDES, {})[param.name] = value
    if param.name == "log_level":
        from adapters.logging import configure_logging

        configure_logging(setting(ctx, "log_level") or "error")


_REFUSED = "_callroute_refused_globals"


def refuses_globals(why: str, *names: str) -> Callable[[click.Command], click.Command]:
    """Mark a command that has no use for the global options ``names`` (``actor``, ``partner``, ``operator``): they are
    left out of its help, and typed before or after its name they are refused in one line, ``--actor: {why}``, exit 2.
    Their environment variables are not read by it (a shell may export them for the other commands)."""

    def mark(command: click.Command) -> click.Command:
        setattr(command, _REFUSED, {name: why for name in names})
        return command

    return mark


def _refuse(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option the command has no use for: refused when typed, after its name (``value``) or before it."""
    root = ctx.find_root()
    typed_before = root is not ctx and root.get_parameter_source(param.name or "") == click.core.ParameterSource.COMMANDLINE
    if value is not None or typed_before:
        why = getattr(ctx.command, _REFUSED)[param.name]
        raise Failure(f"{param.opts[0]}: {why.format(flag=param.opts[0])}")


def attach_global_options(command: click.Command) -> click.Command:
    """Let ``command`` (and every command below it) take the global options after its own name too."""
    if getattr(command, "_callroute_globals", False):
        return command
    command.context_class = CallrouteContext
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach_global_options(sub)
    else:
        own = {opt for p in command.params for opt in getattr(p, "opts", ())}
        refused = getattr(command, _REFUSED, {})
        for name, decl, spec in GLOBAL_OPTIONS:
            if decl in own:
                continue
            extra = {k: v for k, v in spec.items() if k != "envvar"}
            env = f" [env var: {spec['envvar']}]" if "envvar" in spec else ""
            extra["help"] = spec["help"] + env
            if name in refused:  # accepted only to be refused in callroute's words, and not shown in the help
                command.params.append(click.Option([decl, name], expose_value=False, callback=_refuse, hidden=True,
                                                   **extra))
                continue
            command.params.append(click.Option([decl, name], expose_value=False, callback=_remember, **extra))
    command._callroute_globals = True  # type: ignore[attr-defined]
    return command


def setting(ctx: click.Context, name: str) -> Any:
    """A global option: given after the sub-command, else before it (or from its environment variable)."""
    root = ctx.find_root()
    overrides = root.meta.get(_OVERRIDES, {})
    if name in overrides:
        return overrides[name]
    return root.params.get(name)


class Env:
    """What every sub-command gets: the store, who acts, the clock; the application is opened on first use."""

    def __init__(self, ctx: click.Context) -> None:
        from core.aggregates.context import Actor
        from core.aggregates.identifiers import NAME_RULE, Principal, name_problem, rule_problem

        wiring = ctx.find_root().obj
        self.wiring: Wiring = wiring if isinstance(wiring, Wiring) else Wiring()
        self._options = (setting(ctx, "db"), setting(ctx, "pbx_directory"))
        principal = setting(ctx, "actor") or os.environ.get("CALLROUTE_ACTOR") or _default_actor()
        partner = setting(ctx, "partner")
        for flag, value in (("--actor", principal), ("--partner", partner)):
            # The rule a command's actor keeps (characters, 1 to 200 of them), for reads as well as changes.
            if value is not None and (problem := name_problem(value) or rule_problem(value, Principal, NAME_RULE)):
                shown = repr(value) if len(value) <= 60 else repr(value[:57]) + "…"
                raise Failure(f"{flag} {shown}: {problem}")
        self.actor = Actor(principal=principal, partner=partner, operator=bool(setting(ctx, "operator")))
        self._app: CallrouteApp | None = None
        self._created: list[Path] = []

    # The store and the directory are worked out on first use: ``adapters.bootstrap`` (SQLite, the projection store,
    # Argon2) is not imported by a command that opens no store, such as ``simulate``.
    @cached_property
    def db(self) -> Path | PostgresStore:
        from adapters.bootstrap import db_path

        return db_path(self._options[0])

    @cached_property
    def directory(self) -> Path | None:
        from adapters.bootstrap import directory_path

        return directory_path(self._options[1])

    @property
    def clock(self) -> Clock:
        """The injected clock: the wall clock for the console script."""
        return self.wiring.clock

    @property
    def app(self) -> CallrouteApp:
        """The application on an existing store; a missing or foreign file is one clear line, and nothing is created."""
        from adapters.bootstrap import store_problem

        if self._app is None:
            problem = store_problem(self.db)
            if problem is not None:
                raise Failure(problem, problem.exit_code)
            self._app = self._open()
        return self._app

    def app_for_writes(self) -> CallrouteApp:
        """The application, creating the store (and its folder) when it does not exist yet.

        What this creates is remembered, so that a refused first command leaves nothing behind.
        """
        from adapters.bootstrap import store_problem

        if self._app is None:
            problem = store_problem(self.db)
            if problem is not None and not problem.missing:  # nothing there yet (no file, or a database without tables)
                raise Failure(problem, problem.exit_code)
            if isinstance(self.db, Path) and not self.db.exists():
                self._created = [self.db] + [folder for folder in self.db.absolute().parents if not folder.exists()]
            self._app = self._open()
        return self._app

    def _open(self) -> CallrouteApp:
        from adapters.bootstrap import build_app

        self._check_directory()
        return build_app(self.db, clock=self.clock, pin_hasher=self.wiring.pin_hasher, pbx_directory=self.directory)

    def _check_directory(self) -> None:
        """Read the SIP PBX directory file, if one is given; a problem with it is one line naming --pbx-directory."""
        from adapters.directory import load_directory_file
        from adapters.inputs import InputError

        if self.directory is None:
            return
        try:
            load_directory_file(self.directory, where=f"--pbx-directory {self.directory}")
        except InputError as exc:
            raise Failure(schema_text(str(exc))) from None

    def _forget_created_store(self) -> None:
        """Remove the store this invocation created, with its -wal/-shm files and new folders, if nothing is stored in it."""
        from adapters.bootstrap import stored_aggregate_ids

        if not self._created or self._app is None:
            return
        try:
            if stored_aggregate_ids(self.db):
                return
        except Exception:  # noqa: BLE001 - not readable as a store: leave it alone
            return
        self._app.close()
        self._app = None
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        for folder in self._created[1:]:
            try:
                folder.rmdir()
            except OSError:
                break
        self._created = []

    def execute(
        self,
        commands: Sequence[Any],
        *,
        actor: Actor | None = None,
        reason: str | None = None,
        flags: dict[str, tuple[str, object]] | None = None,
        creates: bool = False,
        zone: ZoneInfo | None = None,
        where: str | None = None,
    ) -> Receipt:
        """Apply ``commands`` all or nothing; a refusal names the flag the user typed (``flags``: field → (flag, value)).

        Instants in a refusal are shown in ``zone`` when given (the tenant's); ``where`` (a command file) comes first.
        """
        from core.errors import DomainError

        if flags is not None:
            flags = {"reason": ("--reason", None), **flags}
        app = self.app_for_writes() if creates else self.app
        try:
            receipt = app.execute(commands, actor or self.actor, reason=reason)
        except DomainError as exc:
            text = self.refusal(exc, flags, zone)
            if where is not None:
                text = f"{where}: {text}"
            self._forget_created_store()
            raise Failure(text, exit_code(exc)) from None
        return receipt

    def refusal(self, exc: DomainError, flags: dict[str, tuple[str, object]] | None, zone: ZoneInfo | None = None) -> str:
        """``refusal_text``, with what helps next: the tenants the actor may read, where SIP PBXs are listed."""
        from core.errors import TenantNotVisibleError

        text = refusal_text(exc, flags, self.actor, zone)
        rule = getattr(exc, "rule", None)
        if rule == "unknown_tenant":
            text = before_nothing_stored(text, f"; {self.tenants_hint()}")
        elif isinstance(getattr(exc, "cause", exc), TenantNotVisibleError):
            # Unknown and forbidden read the same: the hint depends on the actor only, never on the tenant named.
            text = _before_actor_hint(text, f"; {self.tenants_hint()}")
        elif rule == "not_found" and "SIP PBX" in text and self.directory is None:
            text = before_nothing_stored(text, "; SIP PBXs and their internal numbers are listed in the file named by "
                                                "--pbx-directory FILE or CALLROUTE_PBX_DIRECTORY, and none was given")
        return text

    def tenants_hint(self) -> str:
        """``tenants you may read: a, b`` (or ``none``)."""
        readable = self.app.list_tenants(self.actor)
        return f"tenants you may read: {', '.join(sorted(readable)) or 'none'}"

    def unknown_tenant(self, slug: str) -> str:
        """The line for a tenant that does not exist, as every command says it.

        Only an operator, who may read every tenant, is told that it does not exist; anyone else gets the line for a
        tenant they may not read (``no_tenant`` gives the exit status that goes with it).
        """
        return self.no_tenant(slug).message

    def no_tenant(self, slug: str) -> Failure:
        """The failure for a tenant that does not exist: exit 2 for an operator, else the same as a forbidden one (exit 3)."""
        from core.aggregates.access import not_visible
        from core.errors import UnknownTenantError

        error = UnknownTenantError(f"no tenant {slug!r}", field="tenant") if self.actor.operator else not_visible(self.actor, slug)
        return Failure(self.refusal(error, {"tenant": ("--tenant", slug)}), exit_code(error))

    def readable(self, slug: str) -> Any:
        """The tenant's view if the actor may read it; else one line naming --tenant, with the reason and exit status."""
        return self.check_tenant(slug, "read")

    def check_tenant(self, slug: str, action: str = "read") -> Any:
        """The tenant's view if the actor may ``action`` ("read" or "verify") it; else the one line and exit status.

        A tenant that does not exist and one the actor may not read give the same line and exit 3, unless the actor
        is an operator (exit 2, "no tenant").
        """
        from core.errors import DomainError

        try:
            return self.app.get_tenant(slug, self.actor, action=action)  # type: ignore[arg-type]
        except DomainError as exc:
            raise Failure(self.refusal(exc, {"tenant": ("--tenant", slug)}), exit_code(exc)) from None

    def zone(self, slug: str) -> ZoneInfo:
        """The tenant's IANA time zone (the actor must be allowed to read the tenant)."""
        return ZoneInfo(self.readable(slug).time_zone)

    def instant(self, value: str | None, option: str = "--at", zone: ZoneInfo | None = None) -> datetime:
        """``--at`` as given: now, an instant with an offset, or a tenant-local date or time (which is said on stderr)."""
        return parse_instant(value, self.clock, option=option, zone=zone)


def _before_actor_hint(text: str, extra: str) -> str:
    """``text`` with ``extra`` added before the closing "(name who acts with --actor …)" of a permission refusal."""
    at = text.rfind(f" ({ACTOR_HINT}")
    return text + extra if at < 0 else text[:at] + extra + text[at:]


def pass_env(function: Callable[..., Any]) -> Callable[..., Any]:
    """Hand the command an ``Env`` built from the global options (once per invocation)."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        root = ctx.find_root()
        env = root.meta.get("callroute.env")
        if env is None:
            env = root.meta["callroute.env"] = Env(ctx)
        return ctx.invoke(function, env, *args, **kwargs)

    return update_wrapper(wrapper, function)
