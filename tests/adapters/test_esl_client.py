"""The event-socket client against a FreeSWITCH stand-in on loopback (trio): login, subscription, snapshot, reconnect.

The stand-in answers as ``mod_event_socket.c`` does: ``Content-Type: auth/request`` on connect;
``+OK accepted`` or ``-ERR invalid`` (then a disconnect notice and close) to ``auth``; ``+OK
event listener enabled plain|json`` to ``event``; an ``api/response`` to ``api``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import structlog
import structlog.testing
import trio

from adapters.pbx import IngestStats, esl_client
from adapters.pbx.esl import EslParser
from adapters.pbx.esl_client import DEFAULT_EVENTS, EslAuthError, EslConnectError, EslSettings, EslSubscribeError, run_esl
from core.calls.events import CallEnded, CallEvent, CallStarted, LegAnswered, LegEnded
from tests.adapters.test_esl import A2_LEG, A_LEG, B_LEG, EXPECTED, channel, event, message

DATA = Path(__file__).resolve().parents[1] / "data" / "esl"
DISCONNECT = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


class Sink:
    """Stores by key, as the store does: a key heard again is not stored twice (but counted)."""

    def __init__(self) -> None:
        self.batches: list[list[CallEvent]] = []
        self.stored: dict[str, CallEvent] = {}
        self.repeats = 0

    async def __call__(self, events: Sequence[CallEvent]) -> None:
        self.batches.append(list(events))
        for e in events:
            if e.key in self.stored:
                self.repeats += 1
            else:
                self.stored[e.key] = e


class Connection:
    """What one client connection does on the stand-in: what it sends after login, then whether it closes."""

    def __init__(self, *, events: bytes = b"", snapshot: bytes = b'{"row_count": 0}\n', close: bool = True,
                 before_greeting: bytes = b"", garbage: bytes = b"") -> None:
        self.events = events
        self.snapshot = snapshot
        self.close = close
        self.before_greeting = before_greeting
        self.garbage = garbage


class FakeFreeSwitch:
    def __init__(self, password: str, connections: list[Connection], *, subscribe_reply: str | None = None) -> None:
        self.password = password
        self.script = connections
        self.subscribe_reply = subscribe_reply
        self.commands: list[list[str]] = []
        self.connected_at: list[float] = []
        self.done = trio.Event()
        self.port = 0

    async def start(self, nursery: trio.Nursery) -> None:
        listeners = await nursery.start(partial(trio.serve_tcp, self.handle, 0, host="127.0.0.1"))
        self.port = listeners[0].socket.getsockname()[1]

    async def handle(self, stream: trio.SocketStream) -> None:
        index = len(self.connected_at)
        self.connected_at.append(trio.current_time())
        commands: list[str] = []
        self.commands.append(commands)
        plan = self.script[min(index, len(self.script) - 1)]
        async with stream:
            await stream.send_all(plan.before_greeting + b"Content-Type: auth/request\n\n")
            buffer = b""
            while True:
                while b"\n\n" not in buffer:
                    data = await stream.receive_some(4096)
                    if not data:
                        return
                    buffer += data
                command, _, buffer = buffer.partition(b"\n\n")
                text = command.decode()
                commands.append(text)
                if text.startswith("auth "):
                    if text[5:] != self.password:
                        await stream.send_all(message("command/reply", Reply_Text="-ERR invalid")
                                              + message("text/disconnect-notice", DISCONNECT))
                        return
                    await stream.send_all(message("command/reply", Reply_Text="+OK accepted"))
                elif text.startswith("event "):
                    fmt = text.split()[1]
                    reply = self.subscribe_reply or f"+OK event listener enabled {fmt}"
                    await stream.send_all(message("command/reply", Reply_Text=reply))
                elif text == "api show channels as json":
                    await stream.send_all(plan.garbage + message("api/response", plan.snapshot) + plan.events)
                    if index + 1 >= len(self.script):
                        self.done.set()
                    if plan.close:
                        await stream.send_all(message("text/disconnect-notice", DISCONNECT))
                        return
                    await trio.sleep_forever()


def settings(server: FakeFreeSwitch, **kw) -> EslSettings:
    return EslSettings(host="127.0.0.1", port=server.port, password="ClueCon", pbx="fs1", tenant="acme", **kw)


def split_frames(data: bytes) -> list[bytes]:
    """The recorded stream cut into whole messages (to replay a part of it)."""
    out, pos = [], 0
    while pos < len(data):
        head_end = data.index(b"\n\n", pos)
        length = int(data[pos:head_end].split(b"\n")[0].split(b": ")[1])
        out.append(data[pos:head_end + 2 + length])
        pos = head_end + 2 + length
    assert b"".join(out) == data and all(EslParser().feed(f) for f in out)
    return out


@pytest.mark.parametrize("fmt", ["plain", "json"])
async def test_login_subscribe_snapshot_and_stream(fmt):
    recorded = (DATA / f"two_calls.{fmt}.esl").read_bytes()
    server = FakeFreeSwitch("ClueCon", [Connection(events=recorded)])
    sink = Sink()
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        with trio.fail_after(10):
            stats = await run_esl(settings(server, format=fmt), sink, once=True)
        nursery.cancel_scope.cancel()
    assert server.commands == [["auth ClueCon", f"event {fmt} {' '.join(DEFAULT_EVENTS)}", "api show channels as json"]]
    assert [(type(e).__name__, e.key) for batch in sink.batches for e in batch] == [(kind, key) for kind, key, *_ in EXPECTED]
    assert sink.repeats == 0
    # auth/request, 2 replies, the snapshot, 27 events, the disconnect notice
    assert stats == IngestStats(connects=1, frames=32, events=len(EXPECTED), malformed=0, unknown=2, oversize=0)


async def test_a_wrong_password_is_a_clear_error_and_no_reconnect_loop(autojump_clock):
    server = FakeFreeSwitch("ClueCon", [Connection()])
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        with trio.fail_after(60), pytest.raises(EslAuthError, match=r"refused the event-socket password \(-ERR invalid\)"):
            await run_esl(EslSettings(host="127.0.0.1", port=server.port, password="wrong", pbx="fs1"), Sink())
        nursery.cancel_scope.cancel()
    assert server.commands == [["auth wrong"]]


async def test_a_refused_subscription_is_a_clear_error(autojump_clock):
    server = FakeFreeSwitch("ClueCon", [Connection()], subscribe_reply="-ERR no keywords supplied")
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        with trio.fail_after(60), pytest.raises(EslSubscribeError, match="no keywords supplied"):
            await run_esl(settings(server), Sink())
        nursery.cancel_scope.cancel()
    assert len(server.commands) == 1


async def test_a_rude_rejection_is_an_auth_error(autojump_clock):
    rejection = message("text/rude-rejection", b"Access Denied, go away.\n")
    server = FakeFreeSwitch("ClueCon", [Connection(before_greeting=rejection)])
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        with trio.fail_after(60), pytest.raises(EslAuthError, match="Access Denied"):
            await run_esl(settings(server), Sink())
        nursery.cancel_scope.cancel()


async def test_once_with_no_server_is_a_connect_error():
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    with trio.fail_after(10), pytest.raises(EslConnectError, match=f"127.0.0.1:{port}"):
        await run_esl(EslSettings(host="127.0.0.1", port=port, password="x"), Sink(), once=True)


@pytest.mark.parametrize("fmt", ["plain", "json"])
async def test_a_reconnect_resubscribes_and_its_snapshot_neither_loses_nor_doubles(fmt, autojump_clock):
    """Connection 1 hears call 1 up to B's answer and call 2's start, then drops. While it is down call 2 ends, call 1 is
    bridged and a call 3 starts; connection 2's snapshot lists call 1's two legs and call 3, then the rest of call 1 follows."""
    frames = split_frames((DATA / f"two_calls.{fmt}.esl").read_bytes())
    first = b"".join(frames[:3]) + frames[14]  # A, B created, B answered; A2 created
    snapshot = (DATA / "show_channels_call1_bridged.json").read_bytes()
    snapshot = snapshot.replace(b'"row_count":2,"rows":[', b'"row_count":3,"rows":[{"uuid":"c3","direction":"inbound",'
                                                          b'"created_epoch":"1763280100","cid_num":"0709","dest":"+4681234599",'
                                                          b'"callstate":"RINGING","call_uuid":""},')
    call3_end = event(fmt, channel("CHANNEL_HANGUP_COMPLETE", "c3", 130, Hangup__Cause="ORIGINATOR_CANCEL",
                                   variable_hangup_cause_q850="487"))
    second = b"".join(frames[3:12]) + call3_end  # A answered, bridged ... destroyed
    server = FakeFreeSwitch("ClueCon", [Connection(events=first), Connection(events=second, snapshot=snapshot, close=False)])
    sink = Sink()
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        stats_box: list[IngestStats] = []

        async def client() -> None:
            stats_box.append(await run_esl(settings(server, format=fmt, backoff_initial=2.0), sink))

        nursery.start_soon(client)
        with trio.fail_after(60):
            await server.done.wait()
            while not any(isinstance(e, CallEnded) and e.call_id == "c3" for e in sink.stored.values()):
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert [c[1:] for c in server.commands] == [[f"event {fmt} {' '.join(DEFAULT_EVENTS)}", "api show channels as json"]] * 2
    assert server.connected_at[1] - server.connected_at[0] == pytest.approx(2.0, abs=0.1)  # the backoff, on trio's clock
    assert sink.repeats == 0  # the client remembered what it had reported: nothing is sent twice
    kinds = [(type(e).__name__, e.key) for e in sink.stored.values()]
    call1 = [(kind, key) for kind, key, call, *_ in EXPECTED if call == A_LEG]
    assert [k for k in kinds if A_LEG in k[1] or B_LEG in k[1]] == call1  # no loss, no double
    assert ("CallEnded", f"esl:{A2_LEG}:call_ended") in kinds  # call 2 ended while disconnected
    assert sink.stored[f"esl:{A2_LEG}:call_ended"].cause_text == "ended while disconnected"
    started3 = sink.stored["esl:c3:started"]
    assert isinstance(started3, CallStarted) and (started3.dialled, started3.caller, started3.tenant) == ("+4681234599", "0709", "acme")
    assert sink.stored["esl:c3:call_ended"].cause == 487


async def test_snapshot_after_a_restart_repeats_keys_the_sink_already_has(autojump_clock):
    """A new process (no memory) reconnecting mid-call re-reports its legs with the keys they had: stored once."""
    frames = split_frames((DATA / "two_calls.plain.esl").read_bytes())
    sink = Sink()
    for events, snapshot in ((b"".join(frames[:5]), b'{"row_count": 0}'), (b"".join(frames[5:12]),
                                                                           (DATA / "show_channels_call1_bridged.json").read_bytes())):
        server = FakeFreeSwitch("ClueCon", [Connection(events=events, snapshot=snapshot)])
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            with trio.fail_after(60):
                await run_esl(settings(server), sink, once=True)
            nursery.cancel_scope.cancel()
    assert sink.repeats == 3  # CallStarted, LegRinging, LegAnswered of call 1 again, from the snapshot
    assert [(type(e).__name__, e.key) for e in sink.stored.values()] == [(k, key) for k, key, call, *_ in EXPECTED if call == A_LEG]
    ended = [e for e in sink.stored.values() if isinstance(e, LegEnded)]
    assert [e.status for e in ended] == ["answered"]
    assert isinstance(sink.stored[f"esl:{B_LEG}:answered"], LegAnswered)


async def test_a_successful_login_resets_the_backoff(autojump_clock):
    server = FakeFreeSwitch("ClueCon", [Connection()] * 6 + [Connection(close=False)])
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        nursery.start_soon(run_esl, settings(server, backoff_initial=1.0, backoff_max=4.0), Sink())
        with trio.fail_after(600):
            await server.done.wait()
        nursery.cancel_scope.cancel()
    gaps = [round(b - a, 1) for a, b in zip(server.connected_at, server.connected_at[1:], strict=False)]
    # Each connection logs in (which resets the backoff) and is then closed by the server: 1 s each time.
    assert gaps == [1.0] * 6


async def test_failed_connects_back_off_exponentially_to_the_cap(autojump_clock):
    attempts: list[float] = []

    async def refuse(stream: trio.SocketStream) -> None:
        attempts.append(trio.current_time())
        await stream.aclose()  # closed before the greeting: a lost connection, not a refusal of the password

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, refuse, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        nursery.start_soon(run_esl, EslSettings(host="127.0.0.1", port=port, password="x", backoff_initial=0.5,
                                                backoff_max=4.0), Sink())
        with trio.fail_after(600):
            while len(attempts) < 7:
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    gaps = [round(b - a, 1) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@pytest.fixture
def esl_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The client's structlog entries (tests/conftest.py filters below CRITICAL; the CLI tests cache loggers)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG), cache_logger_on_first_use=False)
    monkeypatch.setattr(esl_client, "log", structlog.get_logger("callroute.esl"))
    try:
        with structlog.testing.capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(**saved)


async def test_garbage_and_oversize_frames_are_counted_logged_and_skipped(esl_logs):
    big = message("text/event-plain", b"Event-Name: CUSTOM\n" + b"x" * 4000)
    garbage = b"\x00\x01not a header at all\n\n"
    events = (garbage + big + event("json", channel("CHANNEL_CREATE", "a1", 0, Caller__Destination__Number="200"))
              + event("plain", [("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "a2")])  # no timestamp: cannot be mapped
              + message("log/data", b"a log line\n"))
    server = FakeFreeSwitch("ClueCon", [Connection(events=events)])
    sink = Sink()
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        with trio.fail_after(10):
            stats = await run_esl(settings(server, max_frame=2048), sink, once=True)
        nursery.cancel_scope.cancel()
    assert [e.key for e in sink.stored.values()] == ["esl:a1:started"]
    assert (stats.malformed, stats.oversize, stats.unknown, stats.events) == (2, 1, 1, 1)
    bad = [entry for entry in esl_logs if entry["event"] == "esl.malformed"]
    assert len(bad) == 3 and all(len(entry["sample"]) <= 200 for entry in bad)
    assert bad[0]["sample"].startswith(b"\x00\x01not a header") and bad[1]["oversize"]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="port"):
        EslSettings(host="h", port=0, password="p")
    with pytest.raises(ValueError, match="password"):
        EslSettings(host="h", password="two\nlines")
    with pytest.raises(ValueError, match="format"):
        EslSettings(host="h", password="p", format="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backoff"):
        EslSettings(host="h", password="p", backoff_initial=5, backoff_max=1)


async def test_task_status_reports_the_first_login():
    server = FakeFreeSwitch("ClueCon", [Connection(close=False)])
    async with trio.open_nursery() as nursery:
        await server.start(nursery)
        with trio.fail_after(10):
            await nursery.start(run_esl, settings(server), Sink())
        assert server.commands[0][:2] == ["auth ClueCon", f"event plain {' '.join(DEFAULT_EVENTS)}"]
        nursery.cancel_scope.cancel()
