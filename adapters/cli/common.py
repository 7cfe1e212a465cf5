"""What every sub-command shares: the store, who acts, which instant, and errors in the user's own words."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import update_wrapper
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from adapters.wallclock import WallClock

if TYPE_CHECKING:
    from core.clock import Clock
    from core.aggregates.context import Actor
    from core.errors import DomainError
    from core.service import CallrouteApp, Receipt

INVALID = 2
NOT_PERMITTED = 3
ACTOR_HINT = "name who acts with --actor PRINCIPAL or CALLROUTE_ACTOR"


class Failure(click.ClickException):
    """An error shown as one clear line; exit status 2 (bad input) unless told otherwise."""

    exit_code = INVALID

    def __init__(self, message: str, exit_code: int = INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"callroute: error: {self.message}", err=True)


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
                    "help": "The SQLite store (default: ./callroute.sqlite)."}),
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


def attach_global_options(command: click.Command) -> click.Command:
    """Let ``command`` (and every command below it) take the global options after its own name too."""
    if getattr(command, "_callroute_globals", False):
        return command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach_global_options(sub)
    else:
        own = {opt for p in command.params for opt in getattr(p, "opts", ())}
        for name, decl, spec in GLOBAL_OPTIONS:
            if decl in own:
                continue
            extra = {k: v for k, v in spec.items() if k != "envvar"}
            env = f" [env var: {spec['envvar']}]" if "envvar" in spec else ""
            extra["help"] = spec["help"] + env
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
        from adapters.bootstrap import db_path, directory_path
        from core.aggregates.context import Actor

        wiring = ctx.find_root().obj
        self.wiring: Wiring = wiring if isinstance(wiring, Wiring) else Wiring()
        self.db = db_path(setting(ctx, "db"))
        self.directory = directory_path(setting(ctx, "pbx_directory"))
        principal = setting(ctx, "actor") or os.environ.get("CALLROUTE_ACTOR") or _default_actor()
        self.actor = Actor(principal=principal, partner=setting(ctx, "partner"), operator=bool(setting(ctx, "operator")))
        self._app: CallrouteApp | None = None

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
                raise Failure(problem)
            self._app = self._open()
        return self._app

    def app_for_writes(self) -> CallrouteApp:
        """The application, creating the store (and its folder) when it does not exist yet."""
        from adapters.bootstrap import store_problem

        if self._app is None:
            problem = store_problem(self.db)
            if problem is not None and self.db.exists():
                raise Failure(problem)
            self._app = self._open()
        return self._app

    def _open(self) -> CallrouteApp:
        import msgspec

        from adapters.bootstrap import build_app

        try:
            return build_app(self.db, clock=self.clock, pin_hasher=self.wiring.pin_hasher, pbx_directory=self.directory)
        except (OSError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise Failure(f"--pbx-directory {self.directory}: {exc}") from None

    def execute(
        self,
        commands: Sequence[Any],
        *,
        actor: Actor | None = None,
        reason: str | None = None,
        flags: dict[str, tuple[str, object]] | None = None,
        creates: bool = False,
    ) -> Receipt:
        """Apply ``commands`` all or nothing; a refusal names the flag the user typed (``flags``: field → (flag, value))."""
        from core.errors import DomainError

        app = self.app_for_writes() if creates else self.app
        try:
            receipt = app.execute(commands, actor or self.actor, reason=reason)
        except DomainError as exc:
            raise Failure(refusal_text(exc, flags, self.actor), exit_code(exc)) from None
        return receipt

    def readable(self, slug: str) -> Any:
        """The tenant's view if the actor may read it; else one line with the reason and exit status."""
        from core.errors import DomainError

        try:
            return self.app.get_tenant(slug, self.actor)
        except DomainError as exc:
            raise Failure(refusal_text(exc, None, self.actor), exit_code(exc)) from None

    def zone(self, slug: str) -> ZoneInfo:
        """The tenant's IANA time zone (the actor must be allowed to read the tenant)."""
        return ZoneInfo(self.readable(slug).time_zone)

    def instant(self, value: str | None, option: str = "--at", zone: ZoneInfo | None = None) -> datetime:
        """``--at`` as given: now, an instant with an offset, or a tenant-local date or time (which is said on stderr)."""
        return parse_instant(value, self.clock, option=option, zone=zone)


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


def exit_code(exc: DomainError) -> int:
    """3 when the actor lacks a permission, 2 for every other refused input."""
    rule = getattr(exc, "rule", None)
    return NOT_PERMITTED if rule == "permission_denied" else INVALID


def refusal_text(exc: DomainError, flags: dict[str, tuple[str, object]] | None, actor: Actor) -> str:
    """A refused command in the user's words: the flag and value typed in a verb, the file's path in ``apply``."""
    from core.service import CommandRejected

    text = str(exc)
    if isinstance(exc, CommandRejected) and flags:
        path = exc.field or ""
        for field_name, (flag, value) in flags.items():
            if path == field_name or path.startswith(field_name + ".") or path.startswith(field_name + "["):
                text = f"{flag} {value}: {cause_detail(exc)}"
                break
        else:
            text = cause_detail(exc)
    if exit_code(exc) == NOT_PERMITTED:
        text += f" ({ACTOR_HINT}; now acting as {actor.principal})"
    elif isinstance(exc, CommandRejected) or not text.endswith("nothing was stored"):
        text += "; nothing was stored" if isinstance(exc, CommandRejected) else ""
    return text


def cause_detail(exc: Any) -> str:
    """What a refused command broke, without the batch position (``commands[0].x (name): …``)."""
    from core.errors import DomainError

    cause = exc.cause
    if isinstance(cause, DomainError):
        return cause.message
    message, sep, _ = str(cause).rpartition(" - at `$.")
    return message if sep else str(cause)


_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


def parse_instant(value: str | None, clock: Clock, *, option: str = "--at", zone: ZoneInfo | None = None) -> datetime:
    """``now`` (the default), ``2026-11-20T17:59:59+01:00`` or ``…Z``, or a local ``2026-11-20 17:59`` / ``2026-11-20`` in ``zone``."""
    if value is None or value.strip().lower() == "now":
        return clock.now()
    text = value.strip()
    if _LOCAL.match(text):
        if zone is None:
            raise Failure(f"{option} {value}: add an offset, e.g. {text}+01:00 or {text}Z (no tenant time zone applies here)")
        try:
            naive = datetime.fromisoformat(text) if "T" in text or " " in text else datetime.combine(date.fromisoformat(text), time())
        except ValueError:
            raise Failure(f"{option} {value}: not a date or time; write e.g. 2026-11-20, 2026-11-20T17:59 or "
                          "2026-11-20T17:59:59+01:00") from None
        instant = _localize(naive, zone)
        _check_years(instant, option, value)
        click.echo(f"callroute: {option} {value} read as {zone.key} local time: {instant.isoformat()}", err=True)
        return instant
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise Failure(f"{option} {value}: not an instant; write now, a date (2026-11-20), a local time (2026-11-20T17:59) "
                      "or an instant with an offset (2026-11-20T17:59:59+01:00)") from None
    if instant.tzinfo is None:
        raise Failure(f"{option} {value}: add an offset, e.g. +01:00 or Z")
    _check_years(instant, option, value)
    return instant


def _localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall time in ``zone``; in the spring-forward gap, the wall time that exists an hour later."""
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:
        aware = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return aware


def _check_years(instant: datetime, option: str, value: str) -> None:
    if not 1970 <= instant.year <= 2200:
        raise Failure(f"{option} {value}: outside the years 1970-2200 callroute handles")

