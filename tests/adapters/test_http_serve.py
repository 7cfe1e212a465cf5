"""``callroute serve``: as a process of its own it serves the store of ``CALLROUTE_DB`` and stops on SIGTERM; what it says
when it cannot serve (no serve extra, an address it cannot listen on, flags it takes none of); what it logs."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.adapters.clirun import invoke
from tests.adapters.http_server import ADMIN, LATER, SLUG, bearer, prepare, serve_command, serve_process
from tests.backends import for_child


@pytest.mark.slow
def test_callroute_serve_answers_on_its_port_and_stops_on_sigterm(db: Path) -> None:
    prepare(db)
    env = {**os.environ, "CALLROUTE_DB": for_child(db)}  # the database's URL on the PostgreSQL backend
    with serve_process([sys.executable, "-m", "adapters.cli", "serve", "--port", "0"], env, within=30) as (process, url):
        health = httpx.get(f"{url}/healthz", timeout=10)
        tenant = httpx.get(f"{url}/v1/tenants/{SLUG}", headers=bearer("admin"), timeout=10)
        assert (health.status_code, tenant.status_code) == (200, 200)
        assert tenant.json()["slug"] == SLUG
    assert process.returncode == 0


# -- what serve says instead of a traceback --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another socket listens on: a serve run in this process that gets past its checks stops there,
    with an error, instead of serving until interrupted."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_without_the_serve_extra_serve_says_which_extra_to_install(tmp_path: Path) -> None:
    # None in sys.modules makes `import litestar` raise ImportError, as in a venv installed without the extra; a process
    # of its own, so that nothing this test run imported already hides it.
    probe = ("import sys; sys.modules['litestar'] = None; sys.argv = ['callroute', 'serve', '--port', '0']; "
             "from adapters.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CALLROUTE_DB": str(tmp_path / "none.sqlite")})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("callroute: error: serve needs the serve extra (litestar is not installed): "
                           "pip install 'callroute[serve]'\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("host", "words"), [
    ("127.0.0.1", "address already in use"),
    ("192.0.2.1", "not an address of this machine (cannot assign requested address)"),  # TEST-NET-1: on no machine
])
def test_an_address_serve_cannot_listen_on_is_one_line_exit_2(db: Path, taken_port: int, host: str, words: str) -> None:
    result = invoke(["--db", str(db), "serve", "--host", host, "--port", str(taken_port)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"callroute: error: {host}:{taken_port}: {words}\n"


@pytest.mark.parametrize("args", [
    ["serve", "--actor", ADMIN], ["--actor", ADMIN, "serve"], ["serve", "--partner", "telia"], ["--operator", "serve"],
])
def test_serve_refuses_the_flags_of_who_acts_as_each_request_acts_as_its_token(db: Path, taken_port: int,
                                                                              args: list[str]) -> None:
    flag = next(arg for arg in args if arg.startswith("--"))
    result = invoke(["--db", str(db), *args, "--port", str(taken_port)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"callroute: error: {flag}: serve acts as each request's bearer token (callroute token "
                             f"create), not as {flag}; leave it out\n")


def test_serve_help_lists_no_flag_of_who_acts() -> None:
    out = invoke(["serve", "--help"]).stdout
    about, options = out.split("Options:")
    assert "--db PATH" in options and "--log-level" in options and "--pbx-directory" in options
    assert "--actor" not in options and "--partner" not in options and "--operator" not in options
    assert "Each request acts as its bearer token, so serve takes no --actor, --partner or --operator." in " ".join(about.split())


def test_callroute_actor_in_the_environment_does_not_stop_serve(db: Path, taken_port: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's shell exports CALLROUTE_ACTOR for the other commands, then runs serve: only typed flags are refused."""
    monkeypatch.setenv("CALLROUTE_ACTOR", ADMIN)
    result = invoke(["--db", str(db), "serve", "--port", str(taken_port)])
    assert result.stderr == f"callroute: error: 127.0.0.1:{taken_port}: address already in use\n", result.output


# -- logs ------------------------------------------------------------------------------------------------------------


def served_logs(db: Path, level: str) -> list[str]:
    """What ``callroute serve --log-level LEVEL`` writes to stderr, from its start to its stop, around one stored command
    and one refused read."""
    env = {**os.environ, "CALLROUTE_DB": for_child(db)}
    command = serve_command(LATER, "--port", "0", "--log-level", level)  # its clock after the store's last change
    seen: list[str] = []
    with serve_process(command, env, within=30, seen=seen) as (process, url):
        stored = httpx.post(f"{url}/v1/commands", headers=bearer("admin"), timeout=10, json={"commands": [
            {"command": "set_divert", "tenant": SLUG, "extension": "2002", "condition": "busy", "target": {"kind": "voicemail"}}]})
        refused = httpx.get(f"{url}/v1/tenants/{SLUG}", headers=bearer("outsider"), timeout=10)
        assert (stored.status_code, refused.status_code) == (200, 404), stored.text
    assert process.returncode == 0 and process.stderr is not None
    return "".join(seen).splitlines() + process.stderr.read().splitlines()


@pytest.mark.slow
def test_serve_logs_at_the_level_asked_and_hypercorn_does_not_repeat_where_it_serves(db: Path) -> None:
    prepare(db)
    # error, the default: where it serves (in callroute's words only: hypercorn's "[INFO] Running on" is not repeated)
    # and that it stops, nothing else.
    serving = re.compile(r"callroute: serving \S+ on http://127\.0\.0\.1:\d+")
    lines = served_logs(db, "error")
    assert len(lines) == 2 and serving.fullmatch(lines[0]) and lines[1] == "callroute: SIGTERM: stopping", lines
    # warning adds the refused read, as a JSON line (stderr is no terminal); still no info line.
    lines = served_logs(db, "warning")
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert [(entry["level"], entry["event"]) for entry in logged] == [("warning", "query.refused")], lines
    others = [line for line in lines if not line.startswith("{")]
    assert len(others) == 2 and serving.fullmatch(others[0]) and others[1] == "callroute: SIGTERM: stopping", lines
