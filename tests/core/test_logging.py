"""callroute used as a library prints nothing; its events still reach structlog's test capture and the CLI's logs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Each script runs in a fresh interpreter: structlog's and logging's configuration is
# process-wide, and the test session configures both (tests/conftest.py, the CLI tests).
APP = """
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.bootstrap import sqlite_env
from core.aggregates.context import Actor
from core.clock import SteppingClock
from core.errors import PermissionDeniedError
from core.service import CallrouteApp, CommandRejected


class Hasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin


app = CallrouteApp(
    sqlite_env(Path({db!r})),
    clock=SteppingClock(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), timedelta(seconds=1)),
    pin_hasher=Hasher(),
)
admin = Actor("admin@acme")
try:
    app.rename_tenant(actor=admin, tenant="acme", name="Nobody")
except CommandRejected:
    pass
else:
    raise SystemExit("a command on a missing tenant was not refused")
app.create_tenant(actor=admin, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
try:
    app.get_tenant("acme", Actor("mallory"))
except PermissionDeniedError:
    pass
else:
    raise SystemExit("a stranger read the tenant")
"""


def run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with its ``{app}`` line replaced by ``APP`` (at that line's indentation) in a new interpreter."""
    lines = []
    for line in textwrap.dedent(script).splitlines():
        if line.strip() == "{app}":
            lines.append(textwrap.indent(APP.format(db=str(tmp_path / "c.sqlite")), line[: len(line) - len(line.lstrip())]))
        else:
            lines.append(line)
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, cwd=root, check=False, timeout=120)


def test_a_library_user_sees_no_output_from_refused_or_applied_commands(tmp_path: Path) -> None:
    proc = run("{app}", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")


def test_capture_logs_sees_the_core_events_of_an_unconfigured_process(tmp_path: Path) -> None:
    script = """
        import json
        from structlog.testing import capture_logs

        with capture_logs() as entries:
            {app}
        print(json.dumps([(e["event"], e["log_level"]) for e in entries]))
    """
    proc = run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        ["command.rejected", "warning"],
        ["commands.applied", "info"],
        ["query.refused", "warning"],
    ]
    assert proc.stderr == ""


def test_an_application_that_configures_standard_logging_gets_core_warnings(tmp_path: Path) -> None:
    script = """
        import logging
        import sys

        logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
        {app}
    """
    proc = run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(" ", 2)[:2] for line in lines] == [["callroute", "WARNING"], ["callroute", "WARNING"]]
    assert "command.rejected" in lines[0]
    assert "query.refused" in lines[1]
    assert proc.stderr == ""
