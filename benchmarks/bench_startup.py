"""Time to first output of ``callroute --version`` and ``callroute table``, against ``python -c pass``.

Run:  python benchmarks/bench_startup.py [--runs 15]

Each command runs as a whole new process, as a person or a script runs it; the figure is
the time from starting the process to the first byte on its standard output (for
``python -c pass``, which prints nothing, to its exit). ``table`` reads the demo's store
(built once, first). callroute's bytecode is compiled first, as installing a wheel does: an
editable install leaves that to the first import, which ``PYTHONDONTWRITEBYTECODE`` stops. Medians and the
slowest run of each are printed, then one JSON line.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def first_output_seconds(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` to its first byte on stdout (or to its exit if it prints nothing)."""
    start = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env) as proc:
        assert proc.stdout is not None
        first = proc.stdout.read(1)
        elapsed = time.perf_counter() - start
        proc.stdout.read()
        if proc.wait() != 0:
            raise SystemExit(f"{argv} failed")
    return elapsed if first else time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    callroute = str(VENV_BIN / "callroute")
    for package in ("core", "simulator", "adapters"):  # bytecode written first, as a wheel's install writes it
        compileall.compile_dir(ROOT / package, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        subprocess.run([callroute, "demo", "--db", str(db)], check=True, stdout=subprocess.DEVNULL)
        env = {**os.environ, "CALLROUTE_DB": str(db), "CALLROUTE_ACTOR": "admin@nordic-dental.example"}
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "callroute --version": [callroute, "--version"],
            "callroute table": [callroute, "table", "--tenant", "nordic-dental", "--at", "2026-11-20T17:59:59+01:00"],
        }
        for argv in commands.values():  # warm the file cache once
            first_output_seconds(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so a slow spell of the machine hits every command alike
            for name, argv in commands.items():
                samples[name].append(first_output_seconds(argv, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, values in samples.items():
        print(f"{name:22} first output: median {medians[name] * 1000:6.1f} ms, slowest {max(values) * 1000:6.1f} ms "
              f"({args.runs} runs)")
    base = medians["python -c pass"]
    print(f"callroute --version takes {medians['callroute --version'] / base:.1f}x python -c pass; "
          f"callroute table {medians['callroute table'] / base:.1f}x")
    print(json.dumps({
        "benchmark": "startup",
        "ratio": round(medians["callroute table"] / base, 2),
        "target": None,
        "runs": args.runs,
        "python_pass_ms": round(base * 1000, 1),
        "version_ms": round(medians["callroute --version"] * 1000, 1),
        "table_ms": round(medians["callroute table"] * 1000, 1),
        "version_ratio": round(medians["callroute --version"] / base, 2),
    }))


if __name__ == "__main__":
    main()
