"""Asterisk AMI frames parsed and mapped to call events per second, on one core; memory over a long stream.

Run:  python benchmarks/bench_ami.py [--frames 300000] [--rounds 3]
      python benchmarks/bench_ami.py --frames 1000000   (the issue's "memory flat over 1,000,000 events")

The traffic is the recorded scenarios of tests/data/ami (an answered call, a busy one, one to
voicemail, a ring-all queue call with two rounds of Local agents, an abandoned queue call,
presence changes), repeated with fresh ``Uniqueid``s so that each repetition is new calls: about
half the frames are call events the mapping correlates, the rest dialplan and bridge chatter
(``Newexten``, ``VarSet``, ``Bridge*``), as real servers send. The bytes are fed to the parser in
64 KiB chunks (what a socket read gives), every frame goes through the mapper, as in the client.

Figures, all from this one run:
- ``frames_per_s``: parse + map, the best of ``--rounds`` passes over the buffer;
- ``parse_per_s``: the parser alone, same bytes;
- ``naive_split_per_s``: the baseline, a naive parser of the same bytes (split on ``\\r\\n\\r\\n``,
  decode, split lines, ``partition(": ")`` into a dict): no framing slips, no limits, no repeats;
- memory: resident set size before and after streaming ``--frames`` frames (generated on the
  fly, never held at once), and the mapper's state left (calls and channels in progress).

The last line is one JSON object with every figure; its ``ratio`` is the headline:
``frames_per_s`` / the 50,000 frames/s target (met at 1.0 or more).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.logging import configure_logging  # noqa: E402
from adapters.pbx.ami import AmiParser  # noqa: E402
from adapters.pbx.ami_calls import AmiCallMapper  # noqa: E402

TARGET = 50_000
DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ami"
SCENARIOS = ["queue_answered.ami", "call_answered.ami", "call_busy.ami", "call_voicemail.ami", "queue_abandoned.ami",
             "presence.ami"]
_UID = re.compile(rb"\b(17219\d{5})\.(\d+)\b")
CHUNK = 65536
NOW = datetime(2024, 7, 25, 12, 0, tzinfo=UTC)


def repetition(template: bytes, k: int) -> bytes:
    """The scenarios again, as new calls: every ``Uniqueid``/``Linkedid`` moved ``k`` hours on."""
    return _UID.sub(lambda m: b"%d.%s" % (int(m[1]) + 3600 * k, m[2]), template)


def template() -> bytes:
    return b"".join((DATA / name).read_bytes() for name in SCENARIOS)


def parse_and_map(buffer: bytes) -> tuple[int, int, float]:
    parser = AmiParser(expect_banner=False)
    mapper = AmiCallMapper("bench")
    frames = events = 0
    start = time.process_time()
    for i in range(0, len(buffer), CHUNK):
        for frame in parser.feed(buffer[i:i + CHUNK]):
            frames += 1
            events += len(mapper.map(frame, NOW))
    return frames, events, time.process_time() - start


def parse_only(buffer: bytes, pairs: bool) -> tuple[int, float]:
    """The parser alone: framing and each frame's kind and name (what the client pays for every frame), and with
    ``pairs`` every frame's ``(key, value)`` pairs too (what a consumer reading every field pays)."""
    parser = AmiParser(expect_banner=False)
    frames = 0
    start = time.process_time()
    for i in range(0, len(buffer), CHUNK):
        for frame in parser.feed(buffer[i:i + CHUNK]):
            if pairs:
                frame.as_dict()
            frames += 1
    return frames, time.process_time() - start


def naive_split(buffer: bytes) -> tuple[int, float]:
    frames = 0
    start = time.process_time()
    for raw in buffer.split(b"\r\n\r\n"):
        if not raw:
            continue
        fields = {}
        for line in raw.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(": ")
            fields[key] = value
        frames += 1
    return frames, time.process_time() - start


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def stream(total: int, base: bytes, per_rep: int) -> dict[str, object]:
    """``total`` frames through one parser and one mapper, generated repetition by repetition; RSS sampled."""
    parser = AmiParser(expect_banner=False)
    mapper = AmiCallMapper("bench")
    gc.collect()
    before = rss_mib()
    samples = []
    frames = events = 0
    k = 0
    seconds = 0.0
    while frames < total:
        k += 1
        chunk = repetition(base, 1000 + k)
        start = time.process_time()
        for i in range(0, len(chunk), CHUNK):
            for frame in parser.feed(chunk[i:i + CHUNK]):
                frames += 1
                events += len(mapper.map(frame, NOW))
        seconds += time.process_time() - start
        if k % max(1, total // per_rep // 10) == 0:
            samples.append(round(rss_mib(), 1))
    gc.collect()
    return {"stream_frames": frames, "stream_events": events, "stream_frames_per_s": round(frames / seconds),
            "rss_mib_before": round(before, 1), "rss_mib_after": round(rss_mib(), 1), "rss_mib_samples": samples,
            "calls_left": mapper.calls_in_progress, "channels_left": mapper.channels, "unknown": mapper.unknown,
            "invalid": mapper.invalid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300_000, help="frames streamed for the memory figure")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging("error")
    base = template()
    per_rep = len(AmiParser(expect_banner=False).feed(base))
    reps = max(1, 100_000 // per_rep)
    buffer = b"".join(repetition(base, k) for k in range(reps))
    best = parse_map = None
    for _ in range(args.rounds):
        frames, events, seconds = parse_and_map(buffer)
        if best is None or seconds < best:
            best, parse_map = seconds, (frames, events)
    assert parse_map is not None and best is not None
    frames, events = parse_map
    frame_seconds = min(parse_only(buffer, False)[1] for _ in range(args.rounds))
    pairs_seconds = min(parse_only(buffer, True)[1] for _ in range(args.rounds))
    naive_frames, naive_seconds = min((naive_split(buffer) for _ in range(args.rounds)), key=lambda r: r[1])
    per_s = frames / best
    size = len(buffer)
    print(f"{frames} frames ({size / 2**20:.1f} MiB, {events} call events): parse + map {per_s:,.0f} frames/s "
          f"(target {TARGET:,});\n  parser alone {frames / frame_seconds:,.0f}/s, with every pair {frames / pairs_seconds:,.0f}/s; "
          f"naive split parse {naive_frames / naive_seconds:,.0f}/s")
    del buffer
    memory = stream(args.frames, base, per_rep)
    print(f"streamed {memory['stream_frames']:,} frames ({memory['stream_events']:,} events): RSS {memory['rss_mib_before']} "
          f"→ {memory['rss_mib_after']} MiB, samples {memory['rss_mib_samples']}, calls left {memory['calls_left']}")
    print(json.dumps({"benchmark": "ami", "ratio": round(per_s / TARGET, 3), "target": 1.0, "target_frames_per_s": TARGET,
                      "frames": frames, "events": events, "bytes": size, "frames_per_s": round(per_s),
                      "parser_per_s": round(frames / frame_seconds), "parser_all_pairs_per_s": round(frames / pairs_seconds),
                      "naive_split_per_s": round(naive_frames / naive_seconds),
                      "parse_map_vs_naive": round(per_s / (naive_frames / naive_seconds), 3), **memory}))


if __name__ == "__main__":
    main()
