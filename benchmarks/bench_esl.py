"""FreeSWITCH event-socket frames parsed and mapped to call events per second, on one core.

Run:  python benchmarks/bench_esl.py [--calls 400] [--rounds 5]

The traffic is the recording in ``tests/data/esl`` (two calls: a bridged call and a
simultaneous ring with a lost race; 25 channel events with every channel variable, a
HEARTBEAT and a CUSTOM event with a multibyte body), repeated ``--calls`` times with fresh
channel UUIDs so the mapper holds as many legs as a busy PBX, in ``text/event-plain`` and in
``text/event-json``, fed to the parser in 64 KiB reads as a socket gives them.

Figures, all from this one run (best of ``--rounds``, in CPU seconds of the one thread that
does the work, so that other load on the machine does not count against it):
- plain, json: frames per second through ``EslParser.feed`` and ``EslCallMapper.map_frame``;
- mix: both streams together (half plain, half json), the headline;
- baseline: the same frames read the usual way (greenswitch's ``ESLEvent``: URL-decode the
  whole text, split every line into a dict; ``json.loads`` for JSON), without any mapping,
  as a yardstick of this machine; ``vs_baseline`` is mix / baseline.

The last line is one JSON object; its ``ratio`` is mix / 50,000 frames per second (target 1).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.pbx.esl import EslParser  # noqa: E402
from adapters.pbx.esl_calls import EslCallMapper  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "esl"
LEGS = [b"0c6e2c3a-5d1f-4f0e-9a51-6f3b1c2d4e01", b"7f1d9a22-3b4c-4d5e-8f60-718293a4b5c6", b"3a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c61",
        b"5b6c7d8e-9f01-4a2b-8c3d-4e5f60718292", b"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b63"]
TARGET = 50_000
READ = 65536


def traffic(fmt: str, calls: int) -> bytes:
    """The recording ``calls`` times, each copy with new UUIDs of the same length (so every Content-Length still holds)."""
    recorded = (DATA / f"two_calls.{fmt}.esl").read_bytes()
    copies = []
    for i in range(calls):
        copy = recorded
        for leg in LEGS:
            copy = copy.replace(leg, str(uuid.UUID(int=(i << 32) + LEGS.index(leg) + 1)).encode())
        copies.append(copy)
    return b"".join(copies)


def run_ours(stream: bytes) -> tuple[int, int]:
    parser = EslParser()
    mapper = EslCallMapper(pbx="bench", tenant="bench")
    frames = events = 0
    for start in range(0, len(stream), READ):
        for frame in parser.feed(stream[start:start + READ]):
            mapped = mapper.map_frame(frame)
            frames += 1
            events += len(mapped or ())
    return frames, events


def run_baseline(stream: bytes) -> int:
    """greenswitch's way (``ESLEvent.parse_data``): every header into a dict, after URL-decoding the whole text."""
    parser = EslParser()
    frames = 0
    for start in range(0, len(stream), READ):
        for frame in parser.feed(stream[start:start + READ]):
            if frame.content_type == "text/event-json":
                json.loads(frame.body)
            else:
                headers = {}
                for line in unquote(frame.body.decode("utf-8")).strip().splitlines():
                    key, _, value = line.partition(": ")
                    headers[key] = value
            frames += 1
    return frames


def best(rounds: int, fn, *args) -> tuple[float, object]:
    """The best of ``rounds`` runs, in CPU seconds of this process: "per second on one core" even on a shared machine."""
    times, result = [], None
    for _ in range(rounds):
        started = time.process_time()
        result = fn(*args)
        times.append(time.process_time() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    plain, js = traffic("plain", args.calls), traffic("json", args.calls)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    plain_s, (plain_frames, plain_events) = best(args.rounds, run_ours, plain)
    json_s, (json_frames, json_events) = best(args.rounds, run_ours, js)
    base_plain_s, base_plain_frames = best(args.rounds, run_baseline, plain)
    base_json_s, base_json_frames = best(args.rounds, run_baseline, js)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert plain_events == json_events == args.calls * 12, (plain_events, json_events)

    rate_plain = plain_frames / plain_s
    rate_json = json_frames / json_s
    rate_mix = (plain_frames + json_frames) / (plain_s + json_s)
    baseline = (base_plain_frames + base_json_frames) / (base_plain_s + base_json_s)
    print(f"ESL frames parsed and mapped, one core, {args.calls} x 2 recorded calls per format "
          f"({plain_frames} frames, {len(plain) / plain_frames:.0f} B plain, {len(js) / json_frames:.0f} B json on average):")
    print(f"  plain:     {rate_plain:10,.0f} frames/s   ({plain_events} call events)")
    print(f"  json:      {rate_json:10,.0f} frames/s   ({json_events} call events)")
    print(f"  mix:       {rate_mix:10,.0f} frames/s   (target >= {TARGET:,}{'' if rate_mix >= TARGET else ': missed'})")
    print(f"  baseline:  {baseline:10,.0f} frames/s   (every header split and decoded, nothing mapped)")
    print(f"  peak RSS grew {max(0, rss_after - rss_before) / 1024:.1f} MiB while parsing")
    print(json.dumps({"benchmark": "esl", "ratio": round(rate_mix / TARGET, 3), "target": 1.0, "met": rate_mix >= TARGET,
                      "frames_per_s_mix": round(rate_mix), "frames_per_s_plain": round(rate_plain),
                      "frames_per_s_json": round(rate_json), "baseline_frames_per_s": round(baseline),
                      "vs_baseline": round(rate_mix / baseline, 3), "frames": plain_frames + json_frames,
                      "events": plain_events + json_events, "avg_frame_bytes_plain": round(len(plain) / plain_frames),
                      "avg_frame_bytes_json": round(len(js) / json_frames), "rounds": args.rounds}))


if __name__ == "__main__":
    main()
