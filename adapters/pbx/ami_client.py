"""The Asterisk manager client: connect, log in, take a snapshot, stream events to a sink; ping; reconnect.

One connection (a *session*) goes: TCP connect, the banner (``Asterisk Call Manager/x.y``),
``Action: Login`` with ``Events: on`` (a refusal ends the run with :class:`AmiLoginFailed`: new
attempts cannot fix a wrong secret), then a snapshot — ``CoreShowChannels``, ``QueueStatus``,
``DeviceStateList``, each read up to its ``…Complete`` event (an ``Error`` answer, e.g. when
``app_queue`` is not loaded, skips that part; a part not answered within ``timeout`` ends the
snapshot) — then events until the connection ends. Once logged in, a connection the server
closes is a connection closed, whatever was under way (with ``once``: the end of the run). Every
``ping_interval`` seconds an ``Action: Ping`` must be answered within ``ping_timeout`` seconds,
or the connection is given up. Events go to the mapper as they come (the snapshot's lines
among them, in order), and the call events of each frame to the sink, in order.

After a connection ends the client connects again after ``backoff_initial`` seconds, doubling
the wait after each failed attempt up to ``backoff_max`` (the wait starts over once a session
logged in). With ``once=True`` a connection the server closes ends the run (its stats are
returned); a connection lost otherwise (refused, reset, silent) raises
:class:`AmiConnectionError`. The mapper lives as long as the run, so that the snapshot after
a reconnect is compared with what was heard before it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
import structlog
import trio

from adapters.pbx import EventSink, IngestStats
from adapters.pbx.ami import (
    DEFAULT_MAX_FRAME,
    AmiConnectionError,
    AmiError,
    AmiFrame,
    AmiLoginFailed,
    AmiParser,
    encode_action,
    login_action,
    wanted,
)
from adapters.pbx.ami_calls import AmiCallMapper
from adapters.wallclock import WallClock
from core.clock import Clock

__all__ = ["AmiConnectionError", "AmiError", "AmiLoginFailed", "AmiSettings", "run_ami"]

_Line = Annotated[str, msgspec.Meta(pattern=r"^[^\r\n]*$", max_length=256)]
_Name = Annotated[str, msgspec.Meta(pattern=r"^[^\r\n]+$", min_length=1, max_length=200)]
_Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]

_ACTION_ID = wanted(["ActionID"])

SNAPSHOT: tuple[tuple[str, str], ...] = (
    ("CoreShowChannels", "CoreShowChannelsComplete"),
    ("QueueStatus", "QueueStatusComplete"),
    ("DeviceStateList", "DeviceStateListComplete"),
)
"""The actions of a snapshot, in order, and the event that ends each one's list."""


class AmiSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the manager is, who logs in, and how the client keeps the connection (seconds)."""

    host: Annotated[str, msgspec.Meta(pattern=r"^[^\s/]+$", max_length=253)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 5038
    username: _Name
    secret: _Line
    pbx: _Name | None = None
    """The PBX's name in callroute, written into every event; the host when not given."""
    tenant: _Name | None = None
    """The tenant every call belongs to (``--tenant``); else each call's tenant is found from its dialled number."""
    ping_interval: _Seconds = 20.0
    ping_timeout: _Seconds = 10.0
    backoff_initial: _Seconds = 1.0
    backoff_max: _Seconds = 60.0
    max_frame: Annotated[int, msgspec.Meta(ge=1024, le=16 * 1024 * 1024)] = DEFAULT_MAX_FRAME
    timeout: _Seconds = 10.0
    """For connecting, the banner, the login's answer and each part of the snapshot."""

    @property
    def pbx_name(self) -> str:
        return self.pbx or self.host

    def validated(self) -> AmiSettings:
        """The same settings, checked (``msgspec.ValidationError`` names the offending field)."""
        return msgspec.convert(msgspec.structs.asdict(self), AmiSettings)

    def __repr__(self) -> str:  # never the secret
        return (f"AmiSettings(host={self.host!r}, port={self.port}, username={self.username!r}, secret='***', "
                f"pbx={self.pbx_name!r}, tenant={self.tenant!r})")


@dataclass
class _End:
    how: Literal["closed", "lost"]
    reason: str
    logged_in: bool = False


class _Lost(Exception):
    """The connection cannot go on (no answer, closed mid-conversation, a protocol surprise)."""


class _Waiter:
    """An action's answer: its ``Response``, and for a list action the event that ends the list."""

    def __init__(self, complete: str | None = None) -> None:
        self.complete = complete.lower() if complete else None
        self.response: AmiFrame | None = None
        self.closed = False
        self.done = trio.Event()


async def run_ami(settings: AmiSettings, sink: EventSink, *, once: bool = False,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED, clock: Clock | None = None) -> IngestStats:
    """Ingest the events of one Asterisk manager into ``sink`` until cancelled (or, with ``once``, until the server closes).

    ``task_status.started()`` is called once the first session is logged in and its snapshot read.
    Raises :class:`AmiLoginFailed` when the login is refused, :class:`AmiConnectionError` (``once`` only)
    when the connection is lost other than by the server closing it, ``msgspec.ValidationError``
    for settings that break a rule.
    """
    settings = settings.validated()
    log = structlog.get_logger("callroute.ami").bind(pbx=settings.pbx_name, host=settings.host, port=settings.port)
    stats = IngestStats()
    mapper = AmiCallMapper(settings.pbx_name, tenant=settings.tenant)
    ids = itertools.count(1)
    counts = _Counts()
    backoff = settings.backoff_initial
    ready = False

    def on_ready() -> None:
        nonlocal ready
        if not ready:
            ready = True
            task_status.started()

    while True:
        session = _Session(settings, sink, mapper, stats, counts, log, clock or WallClock(), ids, on_ready)
        end = await session.run()
        if once:
            if end.how == "closed":
                log.info("ami.closed", reason=end.reason, **msgspec.structs.asdict(stats))
                return stats
            raise AmiConnectionError(f"{settings.host}:{settings.port}: {end.reason}")
        delay = settings.backoff_initial if end.logged_in else backoff
        log.warning("ami.reconnecting", reason=end.reason, after_seconds=delay)
        await trio.sleep(delay)
        backoff = min(delay * 2, settings.backoff_max)


class _Counts:
    """What the parsers of every session dropped, summed (a parser lives as long as its connection)."""

    def __init__(self) -> None:
        self.malformed = 0
        self.oversize = 0


class _Session:
    def __init__(self, settings: AmiSettings, sink: EventSink, mapper: AmiCallMapper, stats: IngestStats, counts: _Counts,
                 log: structlog.typing.FilteringBoundLogger, clock: Clock, ids: itertools.count[int],
                 on_ready: Callable[[], None]) -> None:
        self.settings = settings
        self.sink = sink
        self.mapper = mapper
        self.stats = stats
        self.counts = counts
        self.log = log
        self.clock = clock
        self.ids = ids
        self.on_ready = on_ready
        self.parser = AmiParser(settings.max_frame)
        self.waiters: dict[str, _Waiter] = {}
        self.banner = trio.Event()
        self.eof = trio.Event()
        self.send_lock = trio.Lock()
        self.end: _End | None = None
        self.fatal: BaseException | None = None
        self.logged_in = False
        self.stream: trio.SocketStream | None = None

    async def run(self) -> _End:
        settings = self.settings
        try:
            with trio.fail_after(settings.timeout):
                self.stream = await trio.open_tcp_stream(settings.host, settings.port)
        except (OSError, trio.TooSlowError) as exc:
            return _End("lost", f"cannot connect: {exc or 'timed out'}")
        self.stats.connects += 1
        self.log.info("ami.connected")
        async with self.stream, trio.open_nursery() as nursery:
            nursery.start_soon(self._read, nursery.cancel_scope)
            try:
                await self._converse(nursery)
            except _Lost as exc:
                self._finish("lost", str(exc))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self._broken(exc)
            except AmiLoginFailed as exc:
                self.fatal = exc
            nursery.cancel_scope.cancel()
        if self.fatal is not None:
            raise self.fatal
        end = self.end or _End("lost", "connection ended")
        end.logged_in = self.logged_in
        return end

    def _finish(self, how: Literal["closed", "lost"], reason: str) -> None:
        if self.end is None:
            self.end = _End(how, reason)

    def _broken(self, exc: BaseException) -> None:
        """A read or a write failed. Once logged in, a reset is the server closing with our last actions unread: closed,
        not lost, whichever of the reader, the pinger or the snapshot meets it first; anything else is a connection lost."""
        if self.logged_in and isinstance(exc.__cause__ or exc, ConnectionResetError | BrokenPipeError):
            self._finish("closed", "the server reset the connection")
        else:
            self._finish("lost", f"connection broken: {exc or type(exc).__name__}")

    # -- the conversation --------------------------------------------------------------------------------------------

    async def _converse(self, nursery: trio.Nursery) -> None:
        settings = self.settings
        with trio.move_on_after(settings.timeout) as waiting:
            await self.banner.wait()
        if waiting.cancelled_caught:
            raise _Lost(f"no banner within {settings.timeout:g} s")
        if self.parser.banner is None:
            raise _Lost("the server did not greet as an Asterisk manager")
        self.log.info("ami.banner", banner=self.parser.banner)
        action_id = self._next_id()
        waiter = self._expect(action_id)
        await self._send(login_action(settings.username, settings.secret, action_id=action_id))
        await self._await(waiter, "Login")
        response = waiter.response
        if response is None:
            raise _Lost("the server closed the connection before answering the login")
        if response.name.lower() != "success":
            message = response.get("Message") or response.name
            # A warning, not an error: the error is raised (the command line prints it, once), this is for the log.
            self.log.warning("ami.login_refused", username=settings.username, message=message)
            raise AmiLoginFailed(f"{settings.host}:{settings.port} refused the login of {settings.username!r}: {message}")
        self.logged_in = True
        self.log.info("ami.logged_in", username=settings.username)
        await self._snapshot()
        self.on_ready()
        if not self.eof.is_set():
            nursery.start_soon(self._ping, nursery.cancel_scope)
            await self.eof.wait()

    async def _snapshot(self) -> None:
        """Each part in turn; a part refused is skipped, a part not answered in time ends the snapshot (the stream goes
        on: a manager that does not answer will show it by not answering ``Ping`` either)."""
        self.mapper.begin_snapshot()
        for action, complete in SNAPSHOT:
            action_id = self._next_id()
            waiter = self._expect(action_id, complete)
            await self._send(encode_action(action, action_id=action_id))
            with trio.move_on_after(self.settings.timeout) as waiting:
                await waiter.done.wait()
            if waiting.cancelled_caught or waiter.closed:
                self.waiters.pop(action_id, None)
                if self.mapper.snapshot_pending and action == "CoreShowChannels":
                    self.mapper.abandon_snapshot()
                if not waiter.closed:
                    self.log.warning("ami.snapshot_unanswered", action=action, seconds=self.settings.timeout)
                return
            if waiter.response is not None and waiter.response.name.lower() != "success":
                self.log.warning("ami.snapshot_unavailable", action=action, message=waiter.response.get("Message"))
                if action == "CoreShowChannels":
                    self.mapper.abandon_snapshot()
        self.log.info("ami.snapshot_read", calls=self.mapper.calls_in_progress, channels=self.mapper.channels)

    async def _ping(self, scope: trio.CancelScope) -> None:
        settings = self.settings
        while True:
            await trio.sleep(settings.ping_interval)
            action_id = self._next_id()
            waiter = self._expect(action_id)
            try:
                await self._send(encode_action("Ping", action_id=action_id))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self._broken(exc)
                scope.cancel()
                return
            with trio.move_on_after(settings.ping_timeout) as waiting:
                await waiter.done.wait()
            self.waiters.pop(action_id, None)
            if waiting.cancelled_caught:
                self.log.warning("ami.ping_timeout", seconds=settings.ping_timeout)
                self._finish("lost", f"no answer to Ping within {settings.ping_timeout:g} s")
                scope.cancel()
                return
            if waiter.closed:
                return

    def _next_id(self) -> str:
        return f"callroute-{next(self.ids)}"

    def _expect(self, action_id: str, complete: str | None = None) -> _Waiter:
        waiter = self.waiters[action_id] = _Waiter(complete)
        return waiter

    async def _await(self, waiter: _Waiter, action: str) -> None:
        with trio.move_on_after(self.settings.timeout) as waiting:
            await waiter.done.wait()
        if waiting.cancelled_caught:
            raise _Lost(f"no answer to {action} within {self.settings.timeout:g} s")

    async def _send(self, data: bytes) -> None:
        assert self.stream is not None
        async with self.send_lock:
            await self.stream.send_all(data)

    # -- reading -----------------------------------------------------------------------------------------------------

    async def _read(self, scope: trio.CancelScope) -> None:
        assert self.stream is not None
        try:
            while True:
                data = await self.stream.receive_some(65536)
                if not data:
                    self._finish("closed", "the server closed the connection")
                    break
                frames = self.parser.feed(data)
                self._note_problems()
                if not self.banner.is_set() and not self.parser.banner_pending:
                    self.banner.set()
                for frame in frames:
                    await self._dispatch(frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._broken(exc)
            scope.cancel()
        except Exception as exc:  # the sink failed (or a bug): the run stops, with that error
            self.fatal = exc
            scope.cancel()
        finally:
            for waiter in self.waiters.values():
                waiter.closed = True
                waiter.done.set()
            self.banner.set()
            self.eof.set()

    def _note_problems(self) -> None:
        for problem in self.parser.drain_problems():
            if problem.kind == "oversize":
                self.counts.oversize += 1
            else:
                self.counts.malformed += 1
            self.log.warning(f"ami.{problem.kind}_frame", size=problem.size,
                             head=problem.head.decode("utf-8", "backslashreplace"))
        self.stats.oversize = self.counts.oversize
        self.stats.malformed = self.counts.malformed + self.mapper.invalid

    async def _dispatch(self, frame: AmiFrame) -> None:
        self.stats.frames += 1
        if frame.kind == "response":
            # Asterisk echoes the ActionID (twice, in a failed login's answer); a manager that does not answers the
            # oldest action waiting.
            action_ids = frame.action_ids or list(self.waiters)[:1]
            for action_id in action_ids:
                waiter = self.waiters.get(action_id)
                if waiter is not None:
                    waiter.response = frame
                    if waiter.complete is None or frame.name.lower() != "success":
                        self._done(action_id, waiter)
            return
        if frame.kind != "event":
            return
        events = self.mapper.map(frame, self.clock.now())
        for event_name, error in self.mapper.drain_problems():
            self.log.warning("ami.invalid_event", ami_event=event_name, error=error[:200])
        self.stats.unknown = self.mapper.unknown
        self.stats.malformed = self.counts.malformed + self.mapper.invalid
        if events:
            await self.sink(events)
            self.stats.events += len(events)
        name = frame.name.lower()
        if name == "shutdown":
            self.log.warning("ami.server_shutdown", shutdown=frame.get("Shutdown"), restart=frame.get("Restart"))
        if self.waiters and name.endswith("complete"):
            action_id = frame.fields(_ACTION_ID).get("ActionID")
            waiter = self.waiters.get(action_id) if action_id is not None else None
            if waiter is not None and waiter.complete == name:
                self._done(action_id, waiter)

    def _done(self, action_id: str, waiter: _Waiter) -> None:
        self.waiters.pop(action_id, None)
        waiter.done.set()
