"""The entry points' logging: core's events as JSON lines on stderr, or readable lines on a terminal, at the chosen level."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter per run: structlog's and logging's configuration is process-wide.
SCRIPT = """
import sys
from datetime import UTC, datetime, timedelta

from adapters.logging import configure_logging
from core.aggregates.context import Actor
from core.clock import SteppingClock
from core.service import CallrouteApp, CommandRejected


class Hasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin


for level in sys.argv[1:]:  # as often as an entry point may run in one process (the CLI's tests)
    configure_logging(level)
app = CallrouteApp(
    {"PERSISTENCE_MODULE": "eventsourcing.popo"},
    clock=SteppingClock(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), timedelta(seconds=1)),
    pin_hasher=Hasher(),
)
admin = Actor("admin@acme")
try:
    app.rename_tenant(actor=admin, tenant="acme", name="Nobody")
except CommandRejected:
    pass
app.create_tenant(actor=admin, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
"""


def run(*levels: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, *levels], capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)


def test_core_events_are_json_lines_on_stderr_when_not_on_a_terminal() -> None:
    proc = run("info")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [(r["event"], r["level"]) for r in records] == [("command.rejected", "warning"), ("commands.applied", "info")]
    assert records[0]["command"] == "rename_tenant"
    assert records[0]["rule"] == "permission_denied"  # a tenant that does not exist, refused as one the actor may not read
    assert records[1]["versions"] == {"acme": 1}
    assert all(r["timestamp"].endswith("Z") for r in records)


def test_events_below_the_level_are_left_out() -> None:
    proc = run("warning")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["event"] for line in proc.stderr.splitlines()] == ["command.rejected"]
    assert run("error").stderr == ""


def test_configuring_again_replaces_the_level_and_writes_each_event_once() -> None:
    proc = run("error", "info", "info")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["event"] for line in proc.stderr.splitlines()] == ["command.rejected", "commands.applied"]


def test_core_events_are_readable_lines_on_a_terminal() -> None:
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, "info"], stdout=subprocess.PIPE, stderr=secondary, cwd=ROOT, check=False, timeout=120
        )
        os.close(secondary)
        output = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # Linux reports the closed terminal as EIO once it is drained
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(primary)
    assert proc.returncode == 0
    assert proc.stdout == b""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", output.decode()).splitlines()  # without the colours
    assert len(lines) == 2
    assert re.fullmatch(r"\S+Z \[warning +\] command\.rejected +command=rename_tenant .*rule=permission_denied.*", lines[0])
    assert re.fullmatch(r"\S+Z \[info +\] commands\.applied +actor=admin@acme .*versions=\{'acme': 1\}", lines[1])


LOOKED_UP_FIRST = """
import importlib.util, sys
from adapters.logging import configure_logging
configure_logging("info")
importlib.util.find_spec("structlog")  # a look-up that imports nothing
assert "structlog" not in sys.modules, "configuring must not import structlog"
import structlog
structlog.get_logger().info("after the look-up")
"""


def test_structlog_imported_after_a_mere_look_up_is_still_configured() -> None:
    """The configuration waits for structlog's import (it is not imported by a command that logs nothing): a look-up of
    it before the import must not lose it (the event is a JSON line on stderr, not console text on stdout)."""
    done = subprocess.run([sys.executable, "-c", LOOKED_UP_FIRST], capture_output=True, text=True, cwd=ROOT, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    event = json.loads(done.stderr.strip().splitlines()[-1])
    assert (event["event"], event["level"]) == ("after the look-up", "info")
