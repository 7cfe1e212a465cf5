"""End to end from the socket to the stored call history: AMI and ESL traffic replayed by a loopback server process.

Run:  python benchmarks/bench_ingest.py [--events 1000000] [--quick] [--repeat 2] [--inline] [--protocols ami,esl]

For each protocol (Asterisk AMI, FreeSWITCH event socket) a server process on 127.0.0.1 logs
the client in, answers the snapshot, then streams generated call traffic as fast as the client
reads it (the caller's channel, the agent's leg ringing, answered, ended, the call ended: five
call events a call, from five AMI frames or seven ESL frames, FreeSWITCH destroying both
channels). This process runs the real client (``run_ami``/``run_esl``, ``once=True``) into the
ingest's sink (tenant from the dialled number, batches written by a worker thread, or with
``--inline`` on the event loop, to the call tables of an SQLite store), and then folds the
stored events into the call history.

Figures, all from this one run (baseline and storing runs alternate, ``--repeat`` times each,
and the best of each counts: the machine may be shared):
- baseline: the same client and traffic into a sink that drops the events (parse + map only);
- end to end: the same into the storing sink; events/s, and the ratio to the baseline;
- memory: the resident set (RSS) sampled at every batch written: after the first 100,000
  events and its peak over the whole run (flat: the peak is the first figure plus noise);
- history: stored events folded into call records per second, and the records' count.

The last line is one JSON object; its ``ratio`` is the headline: the slower protocol's end-to-end
rate / its baseline rate (target 0.5: storing at most doubles the cost of parsing and mapping).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trio  # noqa: E402

from adapters.call_sink import StoringSink  # noqa: E402
from adapters.call_store import CallStore  # noqa: E402
from core.calls.attribution import Attribution, Directory  # noqa: E402
from core.calls.history import call_history  # noqa: E402

START = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
TENANT = "bench"
NUMBERS = [f"+4681234{index:04d}" for index in range(100)]
AGENTS = [str(2000 + index) for index in range(100)]
EVENTS_PER_CALL = 5
CHUNK = 256 * 1024


# -- the traffic --------------------------------------------------------------------------------------------------------


def _ami_frame(pairs: list[tuple[str, str]]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def ami_calls(calls: int) -> Iterator[bytes]:
    """Five AMI events a call, with ``Timestamp`` (one call a second), as Asterisk 18 writes them."""
    for index in range(calls):
        linked, dest = f"1764000000.{2 * index}", f"1764000000.{2 * index + 1}"
        agent, number = AGENTS[index % len(AGENTS)], NUMBERS[index % len(NUMBERS)]
        t = (START + timedelta(seconds=index)).timestamp()
        caller = [("Channel", f"PJSIP/trunk-{index:08x}"), ("ChannelState", "4"), ("ChannelStateDesc", "Ring"),
                  ("CallerIDNum", "+441234567890"), ("CallerIDName", "Caller"), ("Exten", number), ("Context", "from-trunk"),
                  ("Priority", "1"), ("Uniqueid", linked), ("Linkedid", linked)]
        dial = [*caller, ("DestChannel", f"PJSIP/{agent}-{index:08x}"), ("DestChannelState", "5"), ("DestUniqueid", dest),
                ("DestLinkedid", linked), ("DialString", agent)]
        yield _ami_frame([("Event", "Newchannel"), ("Privilege", "call,all"), ("Timestamp", f"{t:.6f}"), *caller])
        yield _ami_frame([("Event", "DialBegin"), ("Privilege", "call,all"), ("Timestamp", f"{t + 0.1:.6f}"), *dial])
        yield _ami_frame([("Event", "DialEnd"), ("Privilege", "call,all"), ("Timestamp", f"{t + 3:.6f}"), *dial,
                          ("DialStatus", "ANSWER")])
        yield _ami_frame([("Event", "Hangup"), ("Privilege", "call,all"), ("Timestamp", f"{t + 60:.6f}"),
                          ("Channel", f"PJSIP/{agent}-{index:08x}"), ("Uniqueid", dest), ("Linkedid", linked), ("Cause", "16"),
                          ("Cause-txt", "Normal Clearing")])
        yield _ami_frame([("Event", "Hangup"), ("Privilege", "call,all"), ("Timestamp", f"{t + 60:.6f}"), *caller,
                          ("Cause", "16"), ("Cause-txt", "Normal Clearing")])


def _esl_frame(headers: list[tuple[str, str]]) -> bytes:
    body = "".join(f"{k}: {quote(v, safe='')}\n" for k, v in headers).encode() + b"\n"
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body


def esl_calls(calls: int) -> Iterator[bytes]:
    """Seven FreeSWITCH channel events a call (plain, URL-encoded; five call events), with the headers the mapping reads
    and a few more."""
    for index in range(calls):
        a, b = f"a1b2c3d4-0000-4000-8000-{index:012x}", f"b1b2c3d4-0000-4000-8000-{index:012x}"
        agent, number = AGENTS[index % len(AGENTS)], NUMBERS[index % len(NUMBERS)]
        us = int((START + timedelta(seconds=index)).timestamp() * 1_000_000)
        common = [("FreeSWITCH-Hostname", "fs1"), ("Core-UUID", "5b2a5c1e-3f3e-4c1d-9a52-0f3c2c1d0001")]
        yield _esl_frame([("Event-Name", "CHANNEL_CREATE"), *common, ("Event-Date-Timestamp", str(us)), ("Unique-ID", a),
                          ("variable_call_uuid", a), ("Call-Direction", "inbound"), ("Caller-Caller-ID-Number", "+441234567890"),
                          ("Caller-Destination-Number", number)])
        yield _esl_frame([("Event-Name", "CHANNEL_CREATE"), *common, ("Event-Date-Timestamp", str(us + 100_000)),
                          ("Unique-ID", b), ("Other-Type", "originator"), ("Other-Leg-Unique-ID", a),
                          ("Call-Direction", "outbound"), ("Caller-Destination-Number", agent)])
        yield _esl_frame([("Event-Name", "CHANNEL_ANSWER"), *common, ("Event-Date-Timestamp", str(us + 3_000_000)),
                          ("Unique-ID", b)])
        yield _esl_frame([("Event-Name", "CHANNEL_HANGUP_COMPLETE"), *common, ("Event-Date-Timestamp", str(us + 60_000_000)),
                          ("Unique-ID", b), ("Hangup-Cause", "NORMAL_CLEARING"),
                          ("Caller-Channel-Answered-Time", str(us + 3_000_000))])
        yield _esl_frame([("Event-Name", "CHANNEL_HANGUP_COMPLETE"), *common, ("Event-Date-Timestamp", str(us + 60_000_000)),
                          ("Unique-ID", a), ("Hangup-Cause", "NORMAL_CLEARING"), ("variable_hangup_cause_q850", "16")])
        for uid in (b, a):  # FreeSWITCH destroys each channel after its hangup: the mapper forgets the leg
            yield _esl_frame([("Event-Name", "CHANNEL_DESTROY"), *common, ("Event-Date-Timestamp", str(us + 60_100_000)),
                              ("Unique-ID", uid), ("Hangup-Cause", "NORMAL_CLEARING")])


# -- the server process -------------------------------------------------------------------------------------------------


def _read_message(connection: socket.socket, buffer: bytearray, terminator: bytes) -> bytes:
    while terminator not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("client closed")
        buffer += chunk
    end = buffer.index(terminator)
    message = bytes(buffer[:end])
    del buffer[: end + len(terminator)]
    return message


def _action_id(message: bytes) -> bytes:
    for line in message.split(b"\r\n"):
        if line.lower().startswith(b"actionid:"):
            return line.split(b":", 1)[1].strip()
    return b""


def serve(protocol: str, calls: int, ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    ready.put(listener.getsockname()[1])
    connection, _ = listener.accept()
    buffer = bytearray()
    if protocol == "ami":
        connection.sendall(b"Asterisk Call Manager/7.0.3\r\n")
        login = _read_message(connection, buffer, b"\r\n\r\n")
        connection.sendall(b"Response: Success\r\nActionID: " + _action_id(login) + b"\r\nMessage: Authentication accepted\r\n\r\n")
        for complete in (b"CoreShowChannelsComplete", b"QueueStatusComplete", b"DeviceStateListComplete"):
            action = _action_id(_read_message(connection, buffer, b"\r\n\r\n"))
            connection.sendall(b"Response: Success\r\nActionID: " + action + b"\r\nEventList: start\r\n\r\n"
                               b"Event: " + complete + b"\r\nActionID: " + action + b"\r\nEventList: Complete\r\n\r\n")
        frames = ami_calls(calls)
    else:
        connection.sendall(b"Content-Type: auth/request\n\n")
        _read_message(connection, buffer, b"\n\n")
        connection.sendall(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
        _read_message(connection, buffer, b"\n\n")
        connection.sendall(b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n")
        _read_message(connection, buffer, b"\n\n")
        empty = b'{"row_count":0}'
        connection.sendall(b"Content-Type: api/response\nContent-Length: %d\n\n" % len(empty) + empty)
        frames = esl_calls(calls)
    out = bytearray()
    for frame in frames:
        out += frame
        if len(out) >= CHUNK:
            connection.sendall(out)
            out.clear()
    connection.sendall(out)
    connection.shutdown(socket.SHUT_RDWR)
    connection.close()
    listener.close()


# -- the client side ----------------------------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class NullSink:
    """The baseline: events are handed over and dropped."""

    def __init__(self) -> None:
        self.received = 0

    async def __call__(self, events: list[object]) -> None:
        self.received += len(events)


class Sampled(StoringSink):
    """The storing sink, sampling the resident set at every batch written."""

    samples: list[tuple[int, int]]

    def _store(self, batch: list) -> None:  # type: ignore[type-arg]
        super()._store(batch)
        if not hasattr(self, "samples"):
            self.samples = []
        self.samples.append((self.stats.received, rss_bytes()))


def run_client(protocol: str, calls: int, sink: object, *, background: bool = True) -> float:
    """Seconds for the client to read every event of ``calls`` calls from a fresh server process into ``sink``."""
    from adapters.pbx.ami import AmiSettings, run_ami
    from adapters.pbx.esl_client import EslSettings, run_esl

    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(protocol, calls, ready), daemon=True)
    server.start()
    port = ready.get(timeout=30)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            if isinstance(sink, StoringSink) and background:
                await nursery.start(sink.write_in_background, 0.5)
            if protocol == "ami":
                await run_ami(AmiSettings(host="127.0.0.1", port=port, username="bench", secret="bench", pbx="ast1",
                                          ping_interval=3600), sink, once=True)  # type: ignore[arg-type]
            else:
                await run_esl(EslSettings(host="127.0.0.1", port=port, password="ClueCon", pbx="fs1"), sink,  # type: ignore[arg-type]
                              once=True)
            if isinstance(sink, StoringSink):
                await sink.finish()

    began = time.perf_counter()
    trio.run(main)
    if isinstance(sink, StoringSink):
        sink.close()
    elapsed = time.perf_counter() - began
    server.join(30)
    return elapsed


def measure(protocol: str, calls: int, db: Path, *, repeat: int, background: bool) -> dict[str, object]:
    """Baseline and storing runs alternately, ``repeat`` times each; the best of each (the machine is shared)."""
    events = calls * EVENTS_PER_CALL
    directory = Directory(numbers=dict.fromkeys(NUMBERS, TENANT), extensions={TENANT: frozenset(AGENTS)})
    baseline_seconds = seconds = float("inf")
    for attempt in range(repeat):
        null = NullSink()
        baseline_seconds = min(baseline_seconds, run_client(protocol, calls, null))
        assert null.received == events, (null.received, events)
        path = db.with_name(f"{db.stem}-{attempt}.sqlite")
        store = CallStore(path)
        store.create()
        sink = Sampled(store, Attribution(directory, known_call=store.tenant_of_call), batch_size=2000)
        rss_before = rss_bytes()
        seconds = min(seconds, run_client(protocol, calls, sink, background=background))
        assert (sink.stats.received, sink.stats.stored) == (events, events), sink.stats
        if attempt < repeat - 1:
            store.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = path
    at_100k = next((rss for received, rss in sink.samples if received >= 100_000), sink.samples[-1][1])
    peak = max(rss for _, rss in sink.samples)
    began = time.perf_counter()
    records = 0
    outcomes: dict[str, int] = {}
    for record in call_history(store.calls(TENANT)):
        records += 1
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    history_seconds = time.perf_counter() - began
    assert records == calls and outcomes == {"answered": calls}, outcomes
    verified = store.verify(TENANT)
    assert verified.intact and verified.events == events
    store.close()
    return {
        "events": events,
        "baseline_events_per_second": round(events / baseline_seconds),
        "events_per_second": round(events / seconds),
        "ratio": round(baseline_seconds / seconds, 3),
        "batches": sink.stats.batches,
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_100k_mb": round(at_100k / 2**20, 1),
        "rss_peak_mb": round(peak / 2**20, 1),
        "rss_growth_after_100k_mb": round((peak - at_100k) / 2**20, 1),
        "history_records_per_second": round(records / history_seconds),
        "history_events_per_second": round(events / history_seconds),
        "db_mb": round(db.stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="call events per protocol (five a call)")
    parser.add_argument("--quick", action="store_true", help="200,000 events per protocol")
    parser.add_argument("--repeat", type=int, default=2, help="baseline and storing runs per protocol (the best of each counts)")
    parser.add_argument("--inline", action="store_true", help="write batches on the event loop instead of a worker thread")
    parser.add_argument("--protocols", default="ami,esl", help="which of ami,esl")
    args = parser.parse_args()
    events = 200_000 if args.quick else args.events
    calls = max(1, events // EVENTS_PER_CALL)
    from adapters.logging import configure_logging

    configure_logging("error")
    figures: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for protocol in args.protocols.split(","):
            figures[protocol] = measure(protocol, calls, Path(folder) / f"{protocol}.sqlite", repeat=args.repeat,
                                        background=not args.inline)
            print(f"{protocol}: {json.dumps(figures[protocol])}", file=sys.stderr)
    ratio = min(float(f["ratio"]) for f in figures.values())  # type: ignore[arg-type]
    flat = all(float(f["rss_growth_after_100k_mb"]) <= 16 for f in figures.values())  # type: ignore[arg-type]
    print(json.dumps({"benchmark": "ingest_end_to_end", "ratio": ratio, "target": 0.5, "memory_flat": flat,
                      "memory_target_mb": 16, "events_per_protocol": calls * EVENTS_PER_CALL, "repeat": args.repeat,
                      "writer": "inline" if args.inline else "thread", **figures}))


if __name__ == "__main__":
    main()
