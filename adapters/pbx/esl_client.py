"""The FreeSWITCH event-socket client (inbound mode), on trio.

One connection: wait for ``auth/request``, answer ``auth <password>`` (a ``-ERR`` reply is a
wrong password: ``EslAuthError``, and no retry), subscribe with ``event plain|json <events>``,
ask for a snapshot (``api show channels as json``), then read the stream until the server
closes it, handing each frame's call events to the sink. After a lost or closed connection it
connects again after a capped exponential backoff, subscribes again and takes a new snapshot;
``once=True`` returns when the server closes the connection instead.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import msgspec
import structlog
import trio

from adapters.pbx import EventSink, IngestStats
from adapters.pbx.esl import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DEFAULT_MAX_FRAME,
    DISCONNECT_NOTICE,
    EVENT_JSON,
    EVENT_PLAIN,
    RUDE_REJECTION,
    SAMPLE_BYTES,
    EslFrame,
    EslItem,
    EslMalformed,
    EslParser,
)
from adapters.pbx.esl_calls import CALLCENTER_SUBCLASS, CHANNEL_EVENTS, EslCallMapper, EslMappingError

DEFAULT_EVENTS: tuple[str, ...] = (*CHANNEL_EVENTS, "CUSTOM", CALLCENTER_SUBCLASS)
"""Channel events, and mod_callcenter's queue events (harmless where mod_callcenter is not loaded)."""

log = structlog.get_logger("callroute.esl")


class EslError(Exception):
    """A FreeSWITCH event-socket failure that retrying will not cure."""


class EslAuthError(EslError):
    """The server refused the password (or the connection, by its ACL)."""


class EslSubscribeError(EslError):
    """The server refused the event subscription (``esl-allowed-events``, a bad event name)."""


class EslConnectError(EslError):
    """``once=True`` and the server could not be reached."""


class _ConnectionLost(Exception):
    pass


class EslSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how to listen to one FreeSWITCH."""

    host: str
    port: int = 8021
    password: str
    pbx: str = "freeswitch"
    """The name the events are reported under (``pbx`` of every call event)."""
    tenant: str | None = None
    format: Literal["plain", "json"] = "plain"
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_frame: int = DEFAULT_MAX_FRAME
    connect_timeout: float = 10.0
    reply_timeout: float = 10.0
    events: tuple[str, ...] = DEFAULT_EVENTS

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is not a TCP port")
        if not self.password or any(c in self.password for c in "\r\n"):
            raise ValueError("the event-socket password must be one non-empty line")
        if self.format not in ("plain", "json"):
            raise ValueError(f"format {self.format!r} is neither plain nor json")
        if not 0 < self.backoff_initial <= self.backoff_max:
            raise ValueError("backoff_initial must be positive and at most backoff_max")
        if self.max_frame < 1024:
            raise ValueError("max_frame below 1024 bytes would refuse ordinary events")


class _Connection:
    def __init__(self, stream: trio.SocketStream, settings: EslSettings, stats: IngestStats, mapper: EslCallMapper,
                 sink: EventSink) -> None:
        self.stream = stream
        self.settings = settings
        self.stats = stats
        self.mapper = mapper
        self.sink = sink
        self.parser = EslParser(max_frame=settings.max_frame)
        self.pending: deque[EslItem] = deque()
        self.eof = False
        self.snapshot_pending = False

    async def send(self, command: str) -> None:
        try:
            await self.stream.send_all(f"{command}\n\n".encode())
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as error:
            raise _ConnectionLost(str(error)) from error

    async def next_frame(self) -> EslFrame | None:
        """The next frame (malformed ones are counted and logged on the way); ``None`` when the server closed the stream."""
        while True:
            while self.pending:
                item = self.pending.popleft()
                if isinstance(item, EslMalformed):
                    self.malformed(item.reason, item.sample, oversize=item.oversize)
                    continue
                self.stats.frames += 1
                return item
            if self.eof:
                return None
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as error:
                raise _ConnectionLost(str(error)) from error
            if not data:
                self.eof = True
                self.pending.extend(self.parser.close())
            else:
                self.pending.extend(self.parser.feed(data))

    def malformed(self, reason: str, sample: bytes, *, oversize: bool = False) -> None:
        if oversize:
            self.stats.oversize += 1
        else:
            self.stats.malformed += 1
        log.warning("esl.malformed", pbx=self.settings.pbx, reason=reason, oversize=oversize, sample=sample[:SAMPLE_BYTES])

    async def expect(self, content_type: str, what: str) -> EslFrame:
        with trio.move_on_after(self.settings.reply_timeout) as scope:
            while True:
                frame = await self.next_frame()
                if frame is None:
                    raise _ConnectionLost(f"the server closed the connection while we waited for {what}")
                if frame.content_type == content_type:
                    return frame
                if frame.content_type == RUDE_REJECTION:
                    raise EslAuthError(f"FreeSWITCH at {self.settings.host}:{self.settings.port} refused the connection: "
                                       f"{frame.body[:SAMPLE_BYTES].decode('utf-8', 'replace').strip()}")
                await self.handle(frame)
        assert scope.cancelled_caught
        raise _ConnectionLost(f"no {what} within {self.settings.reply_timeout} s")

    async def login(self) -> None:
        s = self.settings
        await self.expect(AUTH_REQUEST, "the auth/request greeting")
        await self.send(f"auth {s.password}")
        reply = await self.expect(COMMAND_REPLY, "the reply to auth")
        if not reply.reply_ok:
            raise EslAuthError(f"FreeSWITCH at {s.host}:{s.port} refused the event-socket password ({reply.reply_text or 'no reply text'})")
        await self.send(f"event {s.format} {' '.join(s.events)}")
        reply = await self.expect(COMMAND_REPLY, "the reply to the event subscription")
        if not reply.reply_ok:
            raise EslSubscribeError(f"FreeSWITCH at {s.host}:{s.port} refused the subscription "
                                    f"'event {s.format} ...' ({reply.reply_text or 'no reply text'})")
        self.snapshot_pending = True
        await self.send("api show channels as json")

    async def run(self) -> None:
        while (frame := await self.next_frame()) is not None:
            await self.handle(frame)

    async def handle(self, frame: EslFrame) -> None:
        ctype = frame.content_type
        if ctype in (EVENT_PLAIN, EVENT_JSON):
            try:
                events = self.mapper.map_frame(frame)
            except EslMappingError as error:
                self.malformed(f"event: {error}", frame.body)
                return
            if events is None:
                self.stats.unknown += 1
            elif events:
                await self.deliver(events)
        elif ctype == API_RESPONSE and self.snapshot_pending:
            self.snapshot_pending = False
            try:
                events, rejected = self.mapper.map_snapshot(frame.body)
            except EslMappingError as error:
                self.malformed(f"snapshot: {error}", frame.body)
                return
            for _ in range(rejected):
                self.malformed("snapshot row with values over the limits", frame.body)
            log.info("esl.snapshot", pbx=self.settings.pbx, events=len(events), legs=self.mapper.legs)
            if events:
                await self.deliver(events)
        elif ctype == DISCONNECT_NOTICE:
            log.info("esl.disconnect_notice", pbx=self.settings.pbx, text=frame.body[:SAMPLE_BYTES].decode("utf-8", "replace"))
        elif ctype != COMMAND_REPLY:
            self.stats.unknown += 1

    async def deliver(self, events: list) -> None:
        self.stats.events += len(events)
        await self.sink(events)


async def run_esl(settings: EslSettings, sink: EventSink, *, once: bool = False,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> IngestStats:
    """Listen to one FreeSWITCH until cancelled (or, with ``once``, until it closes the connection); returns what was counted.

    ``task_status.started()`` is called once the first connection is logged in and subscribed.
    A wrong password (``EslAuthError``) or a refused subscription (``EslSubscribeError``) ends
    the run at once; with ``once``, so does a server that cannot be reached (``EslConnectError``).
    Backoff sleeps use trio's clock, so tests run them on a ``MockClock``.
    """
    stats = IngestStats()
    mapper = EslCallMapper(pbx=settings.pbx, tenant=settings.tenant)
    backoff = settings.backoff_initial
    started = False
    while True:
        try:
            with trio.fail_after(settings.connect_timeout):
                stream = await trio.open_tcp_stream(settings.host, settings.port)
        except (OSError, trio.TooSlowError) as error:
            if once:
                raise EslConnectError(f"cannot reach FreeSWITCH at {settings.host}:{settings.port}: {error or 'timed out'}") from error
            log.warning("esl.connect_failed", pbx=settings.pbx, host=settings.host, port=settings.port, error=str(error),
                        retry_in=backoff)
            await trio.sleep(backoff)
            backoff = min(backoff * 2, settings.backoff_max)
            continue
        stats.connects += 1
        mapper.connection_started()
        connection = _Connection(stream, settings, stats, mapper, sink)
        try:
            async with stream:
                await connection.login()
                log.info("esl.connected", pbx=settings.pbx, host=settings.host, port=settings.port, connects=stats.connects)
                backoff = settings.backoff_initial
                if not started:
                    started = True
                    task_status.started()
                await connection.run()
                log.info("esl.closed", pbx=settings.pbx, frames=stats.frames, events=stats.events)
        except _ConnectionLost as error:
            log.warning("esl.connection_lost", pbx=settings.pbx, error=str(error))
        if once:
            return stats
        await trio.sleep(backoff)
        backoff = min(backoff * 2, settings.backoff_max)


__all__ = ["DEFAULT_EVENTS", "EslAuthError", "EslConnectError", "EslError", "EslSettings", "EslSubscribeError", "run_esl"]
