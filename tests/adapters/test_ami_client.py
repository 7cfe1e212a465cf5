"""The AMI client against a loopback Asterisk stand-in (a trio TCP server replaying recorded traffic).

Time is trio's ``MockClock`` with autojump (pytest-trio's ``autojump_clock``): pings, timeouts and
back-off waits pass instantly, and the instants the server sees are the client's waits exactly.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import msgspec
import pytest
import structlog
import trio

from adapters.pbx import IngestStats
from adapters.pbx.ami import AmiConnectionError, AmiFrame, AmiLoginFailed, AmiParser
from adapters.pbx.ami_client import AmiSettings, run_ami
from core.calls.events import CallEnded, CallStarted, LegAnswered
from core.clock import SteppingClock
from tests.adapters.test_ami import DedupSink, brief, listing, traffic

BANNER = b"Asterisk Call Manager/5.0.2\r\n"
SECRET = "s3cret"
CLOCK = SteppingClock(datetime(2024, 7, 25, 12, 0, tzinfo=UTC))


class Peer:
    """The server's end of one connection: reads the client's actions, answers as Asterisk's manager.c does."""

    def __init__(self, stream: trio.SocketStream, server: FakeAsterisk) -> None:
        self.stream = stream
        self.server = server
        self.parser = AmiParser(expect_banner=False)
        self.pending: list[AmiFrame] = []

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def action(self) -> AmiFrame | None:
        while not self.pending:
            data = await self.stream.receive_some(65536)
            if not data:
                return None
            self.pending += self.parser.feed(data)
        action = self.pending.pop(0)
        self.server.actions.append(action.name)
        return action

    async def login(self) -> bool:
        await self.send(BANNER)
        action = await self.action()
        assert action is not None and action.name == "Login"
        assert action["Events"] == "on"
        action_id = action["ActionID"]
        if action["Username"] != "callroute" or action["Secret"] != SECRET:
            # app_queue-era Asterisk (panoramisk's fixture): two ActionIDs; then manager.c closes the session.
            await self.send(f"Response: Error\r\nActionID: generated_id\r\nMessage: Authentication failed\r\n"
                            f"ActionID: {action_id}\r\n\r\n".encode())
            return False
        await self.send(f"Response: Success\r\nActionID: {action_id}\r\nMessage: Authentication accepted\r\n\r\n"
                        "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 4000\r\nLastReload: 4000\r\n"
                        "Status: Fully Booted\r\n\r\n".encode())
        return True

    async def snapshot(self, listings: dict[str, bytes | None] | None = None) -> None:
        """Answers the three snapshot actions; ``None`` for an action: ``Response: Error`` (module not loaded)."""
        for _ in range(3):
            action = await self.action()
            assert action is not None
            action_id = action["ActionID"]
            if listings is not None and action.name in listings and listings[action.name] is None:
                await self.send(f"Response: Error\r\nActionID: {action_id}\r\nMessage: Invalid/unknown command: "
                                f"{action.name}. Use Action: ListCommands to show available commands.\r\n\r\n".encode())
            elif listings is not None and action.name in listings:
                await self.send(listings[action.name].replace(b"{ActionID}", action_id.encode()))
            else:
                await self.send(empty_listing(action.name, action_id))

    async def answer_pings(self, *, answer: bool = True) -> None:
        while (action := await self.action()) is not None:
            if action.name == "Ping" and answer:
                await self.send(f"Response: Success\r\nActionID: {action['ActionID']}\r\nPing: Pong\r\n"
                                f"Timestamp: {trio.current_time():.6f}\r\n\r\n".encode())


def empty_listing(action: str, action_id: str) -> bytes:
    complete = {"CoreShowChannels": "CoreShowChannelsComplete", "QueueStatus": "QueueStatusComplete",
                "DeviceStateList": "DeviceStateListComplete"}[action]
    return (f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\nMessage: will follow\r\n\r\n"
            f"Event: {complete}\r\nActionID: {action_id}\r\nEventList: Complete\r\nListItems: 0\r\n\r\n").encode()


Script = Callable[[Peer], Awaitable[None]]


@asynccontextmanager
async def guarded(seconds: float = 3600) -> AsyncIterator[trio.Nursery]:
    """A nursery that gives up after ``seconds`` (of the mock clock, under autojump): a broken client fails, never hangs."""
    with trio.fail_after(seconds):
        async with trio.open_nursery() as nursery:
            yield nursery


class FakeAsterisk:
    """A loopback TCP server: each connection runs the next script (the last one again when they run out)."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.connections: list[float] = []
        self.actions: list[str] = []
        self.port = 0

    async def start(self, nursery: trio.Nursery) -> None:
        listeners = await nursery.start(partial(trio.serve_tcp, self._handle, 0, host="127.0.0.1"))
        self.port = listeners[0].socket.getsockname()[1]

    async def _handle(self, stream: trio.SocketStream) -> None:
        self.connections.append(trio.current_time())
        script = self.scripts[min(len(self.connections), len(self.scripts)) - 1]
        async with stream:
            try:
                await script(Peer(stream, self))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    def settings(self, **changes) -> AmiSettings:
        base = dict(host="127.0.0.1", port=self.port, username="callroute", secret=SECRET, pbx="malmo",
                    ping_interval=20.0, ping_timeout=5.0, backoff_initial=1.0, backoff_max=8.0)
        return AmiSettings(**{**base, **changes})


def replay(*names: str, listings: dict[str, bytes | None] | None = None, then_close: bool = True) -> Script:
    """Log in, answer the snapshot, send the named recordings; then close (or keep answering pings)."""

    async def script(peer: Peer) -> None:
        if not await peer.login():
            return
        await peer.snapshot(listings)
        for name in names:
            await peer.send(traffic(name))
        if not then_close:
            await peer.answer_pings()

    return script


def with_action_id_placeholder(action: str) -> bytes:
    return listing(action, "{ActionID}")


@pytest.fixture
def ami_logs() -> Iterator[list[dict[str, Any]]]:
    """The client's structlog entries (tests/conftest.py filters below CRITICAL; the CLI tests cache loggers)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG), cache_logger_on_first_use=False)
    try:
        with structlog.testing.capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(**saved)


# -- tests --------------------------------------------------------------------------------------------------------------


async def test_login_events_and_once(autojump_clock):
    server = FakeAsterisk(replay("call_answered.ami", "queue_answered.ami"))
    sink = DedupSink()
    async with guarded() as nursery:
        await server.start(nursery)
        stats = await run_ami(server.settings(tenant="acme"), sink, once=True, clock=CLOCK)
        nursery.cancel_scope.cancel()
    assert server.actions == ["Login", "CoreShowChannels", "QueueStatus", "DeviceStateList"]
    assert brief([e for e in sink.stored if isinstance(e, CallStarted | CallEnded)]) == [
        ("started", "1721901000.101", "+46701234567", "+4640123456"),
        ("ended", "1721901000.101", 16, "Normal Clearing"),
        ("started", "1721901300.130", "+46705550101", "+4640123400"),
        ("ended", "1721901300.130", 16, "Normal Clearing"),
    ]
    assert all(e.pbx == "malmo" for e in sink.stored)
    assert [e.tenant for e in sink.stored if isinstance(e, CallStarted)] == ["acme", "acme"]
    assert isinstance(stats, IngestStats)
    # 1 login response + FullyBooted + 3 × (response + complete) + the recordings' frames.
    assert stats == IngestStats(connects=1, frames=8 + 28 + 94, events=len(sink.handed), malformed=0, unknown=1, oversize=0)
    assert len(sink.handed) == len(sink.stored) == 8 + 13


async def test_started_once_logged_in_and_the_snapshot_read(autojump_clock):
    server = FakeAsterisk(replay("call_busy.ami", then_close=False))
    sink = DedupSink()
    async with guarded() as nursery:
        await server.start(nursery)
        await nursery.start(partial(run_ami, server.settings(), sink))
        assert server.actions == ["Login", "CoreShowChannels", "QueueStatus", "DeviceStateList"]
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert [b[0] for b in brief(sink.stored)] == ["started", "ringing", "leg_ended", "ended"]


@pytest.mark.parametrize("graceful", [True, False])
async def test_a_minimal_manager_that_answers_only_the_login(autojump_clock, graceful):
    """A stand-in that answers the login without an ActionID, ignores the snapshot, streams a call and closes: the
    call is ingested and ``once`` ends normally — also when it closes with our actions unread (the kernel then
    resets the connection, and what it sent last may be lost: only the normal end is certain)."""

    async def minimal(peer: Peer) -> None:
        await peer.send(BANNER)
        await peer.action()
        await peer.send(b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n")
        # Longer than the client waits for the snapshot's first part (10 s), shorter than until its first Ping (10 + 20 s):
        # at 30 s the Ping and the close fell on the same instant, and which of them came first was left to chance.
        await trio.sleep(15)
        await peer.send(traffic("call_busy.ami"))
        if graceful:
            await peer.stream.send_eof()
            while await peer.action() is not None:
                pass

    server = FakeAsterisk(minimal)
    sink = DedupSink()
    async with guarded() as nursery:
        await server.start(nursery)
        stats = await run_ami(server.settings(), sink, once=True, clock=CLOCK)
        nursery.cancel_scope.cancel()
    assert stats.connects == 1 and server.actions[0] == "Login"
    if graceful:
        assert [b[0] for b in brief(sink.stored)] == ["started", "ringing", "leg_ended", "ended"]


class ResetAfterLogin(trio.abc.Stream):
    """The client's end of a connection the server resets once it has logged the client in, at the client's action
    ``reset_at``: writing it raises the reset (as a socket's ``send`` does), and the reader waits on, not yet told.

    No socket: what the kernel would do, and when, is decided here, so the test cannot depend on the order in which the
    reader, the pinger and the snapshot meet the reset."""

    def __init__(self, reset_at: str) -> None:
        self.reset_at = f"Action: {reset_at}\r\n".encode()
        self.inbox = [BANNER]
        self.arrived = trio.Event()
        self.sent: list[bytes] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        self.sent.append(bytes(data))
        if bytes(data).startswith(self.reset_at):
            raise trio.BrokenResourceError("socket connection broken: [Errno 104] Connection reset by peer") from \
                ConnectionResetError(104, "Connection reset by peer")
        if data.startswith(b"Action: Login\r\n"):  # a manager that answers without an ActionID, and nothing after it
            self.inbox.append(b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n")
            self.arrived.set()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        while not self.inbox:
            await self.arrived.wait()
            self.arrived = trio.Event()
        return self.inbox.pop(0)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


@pytest.mark.parametrize(("reset_at", "closed"), [("CoreShowChannels", True), ("Ping", True), ("Login", False)])
async def test_a_reset_met_by_a_write_after_the_login_is_the_server_closing(autojump_clock, monkeypatch, reset_at, closed):
    """The reader treats a reset after the login as the server closing (with ``once``: the end); a write that meets the
    reset first (a snapshot action, a Ping) must say the same. Before the login a reset is a connection lost."""
    stream = ResetAfterLogin(reset_at)

    async def connect(host: str, port: int) -> trio.abc.Stream:
        return stream

    monkeypatch.setattr(trio, "open_tcp_stream", connect)
    settings = AmiSettings(host="127.0.0.1", port=5038, username="callroute", secret=SECRET, ping_interval=20.0)
    with trio.fail_after(3600):
        if closed:
            stats = await run_ami(settings, DedupSink(), once=True, clock=CLOCK)
            assert stats.connects == 1
        else:
            with pytest.raises(AmiConnectionError, match="Connection reset by peer"):
                await run_ami(settings, DedupSink(), once=True, clock=CLOCK)
    assert stream.sent[-1].startswith(f"Action: {reset_at}\r\n".encode())


async def test_a_refused_login_is_an_error_without_retries(autojump_clock, ami_logs):
    server = FakeAsterisk(replay())
    async with guarded() as nursery:
        await server.start(nursery)
        with pytest.raises(AmiLoginFailed, match="Authentication failed") as err:
            await run_ami(server.settings(secret="wrong"), DedupSink())
        nursery.cancel_scope.cancel()
    logs = ami_logs
    assert err.value.exit_code == 2
    assert len(server.connections) == 1 and server.actions == ["Login"]
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == ["ami.login_refused"]
    assert not [entry for entry in logs if entry["log_level"] in ("error", "critical")]  # the raised error says it, once
    assert not any("wrong" in repr(entry) for entry in logs)  # the secret is never logged
    assert "wrong" not in repr(server.settings(secret="wrong"))


async def test_reconnect_with_a_call_in_progress_loses_nothing_and_counts_nothing_twice(autojump_clock):
    """The server drops the connection while a queue call is talking and another rings; the client reconnects after
    ``backoff_initial``, takes a snapshot (the talking call, a call that began meanwhile; the ringing one is gone), and
    hears the rest. The sink stores each happening once, and every call starts and ends exactly once."""
    done = trio.Event()
    listings = {action: with_action_id_placeholder(action) for action in ("CoreShowChannels", "QueueStatus", "DeviceStateList")}

    async def second(peer: Peer) -> None:
        await replay("reconnect_after.ami", listings=listings, then_close=False)(peer)

    server = FakeAsterisk(replay("reconnect_before.ami"), second)
    sink = DedupSink()

    async def watching(events) -> None:
        await sink(events)
        if any(isinstance(e, CallEnded) and e.call_id == "1721902000.200" for e in events):
            done.set()

    async with guarded() as nursery:
        await server.start(nursery)
        nursery.start_soon(run_ami, server.settings(), watching)
        await done.wait()
        nursery.cancel_scope.cancel()
    assert len(server.connections) == 2
    assert server.connections[1] - server.connections[0] == pytest.approx(1.0, abs=0.01)  # backoff_initial
    keyed = [e.key for e in sink.handed if e.key]
    assert len(keyed) == len(set(keyed))  # nothing handed twice
    started = [e.call_id for e in sink.stored if isinstance(e, CallStarted)]
    ended = [e.call_id for e in sink.stored if isinstance(e, CallEnded)]
    assert sorted(started) == sorted(ended) == ["1721902000.200", "1721902000.210", "1721902060.220"]
    assert [(e.leg, e.answered_by) for e in sink.stored if isinstance(e, LegAnswered)] == [
        ("1721902000.201", "agent"), ("1721902060.221", "extension")]


async def test_a_missing_pong_reconnects(autojump_clock, ami_logs):
    async def silent(peer: Peer) -> None:
        assert await peer.login()
        await peer.snapshot()
        await peer.answer_pings(answer=False)

    second_session = trio.Event()

    async def answering(peer: Peer) -> None:
        second_session.set()
        await replay(then_close=False)(peer)

    server = FakeAsterisk(silent, answering)
    async with guarded() as nursery:
        await server.start(nursery)
        nursery.start_soon(run_ami, server.settings(ping_interval=20.0, ping_timeout=5.0), DedupSink())
        await second_session.wait()
        await trio.sleep(100)  # the second session answers its pings: it is kept
        nursery.cancel_scope.cancel()
    logs = ami_logs
    assert server.connections[1] - server.connections[0] == pytest.approx(20.0 + 5.0 + 1.0, abs=0.01)
    assert len(server.connections) == 2
    assert "ami.ping_timeout" in [entry["event"] for entry in logs]
    assert server.actions.count("Ping") >= 1 + 4


async def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_login(autojump_clock):
    async def slam(peer: Peer) -> None:
        return  # accept and close at once: no banner, no session

    server = FakeAsterisk(slam, slam, slam, slam, slam, slam, replay(), slam, slam, replay(then_close=False))
    async with guarded() as nursery:
        await server.start(nursery)
        nursery.start_soon(run_ami, server.settings(backoff_initial=1.0, backoff_max=5.0), DedupSink())
        while len(server.connections) < 10 or server.actions[-1] != "DeviceStateList":
            await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    gaps = [round(b - a, 3) for a, b in zip(server.connections, server.connections[1:], strict=False)]
    assert gaps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0] + [1.0, 2.0, 4.0]  # the 7th connection logged in: from 1 s again


async def test_once_ends_with_an_error_when_the_connection_is_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = AmiSettings(host="127.0.0.1", port=port, username="callroute", secret=SECRET)
    with pytest.raises(AmiConnectionError, match="cannot connect"):
        await run_ami(settings, DedupSink(), once=True)


async def test_framing_slips_garbage_and_oversize_frames_on_the_wire(autojump_clock, ami_logs):
    """The recordings with CRLF-LF frame ends, bare LF lines, garbage, an oversize frame and Latin-1 bytes among them:
    the calls still come out whole, and what was dropped is counted and logged with its first bytes (bounded)."""
    busy = traffic("call_busy.ami")
    slipped = busy.replace(b"\r\n\r\nEvent: DialBegin", b"\r\n\nEvent: DialBegin").replace(
        b"\r\n\r\nEvent: DialEnd", b"\n\nEvent: DialEnd").replace(b"CallerIDName: Bo Ek", b"CallerIDName: Bo \xc5k\xe9")
    big = b"Event: UserEvent\r\n" + b"Data: " + b"x" * 70000 + b"\r\n\r\n"
    garbage = b"\x00\xff\xfe GET / HTTP/1.1\r\nHost: x\r\n\r\n"

    cut = slipped.index(b"Event: DialBegin")
    stream = slipped[:cut] + garbage + big + slipped[cut:] + traffic("call_voicemail.ami")

    async def script(peer: Peer) -> None:
        assert await peer.login()
        await peer.snapshot()
        for i in range(0, len(stream), 333):  # in pieces, as TCP delivers it
            await peer.send(stream[i:i + 333])

    server = FakeAsterisk(script)
    sink = DedupSink()
    async with guarded() as nursery:
        await server.start(nursery)
        stats = await run_ami(server.settings(), sink, once=True, clock=CLOCK)
        nursery.cancel_scope.cancel()
    logs = ami_logs
    assert [b[0] for b in brief(sink.stored)] == ["started", "ringing", "leg_ended", "ended"] + [
        "started", "ringing", "leg_ended", "voicemail", "ended"]
    # The big frame; the garbage frame and each frame with the Latin-1 name (kept, with replacement characters).
    assert (stats.oversize, stats.malformed) == (1, 1 + stream.count(b"CallerIDName: Bo \xc5k\xe9"))
    dropped = [entry for entry in logs if entry["event"] in ("ami.malformed_frame", "ami.oversize_frame",
                                                             "ami.undecodable_frame")]
    assert {entry["event"] for entry in dropped} == {"ami.malformed_frame", "ami.oversize_frame", "ami.undecodable_frame"}
    assert all(len(entry["head"]) <= 4 * 200 for entry in dropped)
    assert any(entry["head"].startswith("Event: UserEvent") and entry["size"] > 64 * 1024 for entry in dropped)


@pytest.mark.parametrize("lacking", ["QueueStatus", "CoreShowChannels"])
async def test_a_snapshot_part_the_server_lacks_is_skipped(autojump_clock, ami_logs, lacking):
    listings: dict[str, bytes | None] = {lacking: None, "DeviceStateList": with_action_id_placeholder("DeviceStateList")}
    server = FakeAsterisk(replay("call_busy.ami", listings=listings))
    sink = DedupSink()
    async with guarded() as nursery:
        await server.start(nursery)
        await run_ami(server.settings(), sink, once=True, clock=CLOCK)
        nursery.cancel_scope.cancel()
    logs = ami_logs
    assert [entry["action"] for entry in logs if entry["event"] == "ami.snapshot_unavailable"] == [lacking]
    assert [b[0] for b in brief(sink.stored)] == ["endpoint"] * 3 + ["started", "ringing", "leg_ended", "ended"]


async def test_a_sink_that_fails_stops_the_run_with_its_error(autojump_clock):
    server = FakeAsterisk(replay("call_busy.ami", then_close=False))

    async def failing(events) -> None:
        raise RuntimeError("store unavailable")

    async with guarded() as nursery:
        await server.start(nursery)
        with pytest.raises(RuntimeError, match="store unavailable"):
            await run_ami(server.settings(), failing)
        nursery.cancel_scope.cancel()
    assert len(server.connections) == 1


def test_settings_are_checked_and_keep_the_secret_out_of_sight():
    good = AmiSettings(host="pbx.example", username="callroute", secret=SECRET)
    assert good.validated() == good and good.pbx_name == "pbx.example" and SECRET not in repr(good)
    for bad in (dict(port=0), dict(port=70000), dict(username=""), dict(secret="a\r\nAction: Originate"),
                dict(ping_interval=0), dict(host="a b")):
        with pytest.raises(msgspec.ValidationError):
            AmiSettings(**{"host": "pbx.example", "username": "callroute", "secret": SECRET, **bad}).validated()
