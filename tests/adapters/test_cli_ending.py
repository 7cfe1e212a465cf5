"""How a command's process ends (``adapters/cli/ending.py``): at once only when the command left nothing to close."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import ending

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# The console script's ``main`` on a command line, with an exit handler, and ``os._exit`` saying when it is called.
PROBE = """
import atexit, os, sys, threading
real_exit = os._exit
def traced_exit(status):
    os.write(2, f"os._exit({status})\\n".encode())
    real_exit(status)
os._exit = traced_exit
atexit.register(lambda: print("exit handler", file=sys.stderr))
if sys.argv[1] == "thread":
    # Alive until the main thread has ended (an ordinary ending marks it so first), however long the run takes.
    threading.Thread(target=lambda: (threading.main_thread().join(), print("thread done", file=sys.stderr))).start()
from adapters.cli import main
sys.argv = ["callroute", *sys.argv[2:]]
main()
"""


def run_probe(mode: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, mode, *args], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=120)


def test_a_simulation_ends_without_teardown_after_its_output_and_exit_handlers(tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    done = run_probe("plain", "simulate", str(EXAMPLES / "mmc.toml"), "--json", "--calls", str(calls))
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert len(calls.read_text().splitlines()) == figures["kpis"]["offered"] > 0
    assert done.stderr.splitlines() == ["exit handler", "os._exit(0)"]


def test_another_thread_alive_means_the_ordinary_ending() -> None:
    done = run_probe("thread", "simulate", str(EXAMPLES / "mmc.toml"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kpis"]["offered"] > 0
    assert done.stderr.splitlines() == ["thread done", "exit handler"]


def test_a_command_that_did_not_allow_it_ends_the_ordinary_way(tmp_path: Path) -> None:
    done = run_probe("plain", "--db", str(tmp_path / "store.db"), "table", "--tenant", "nobody")
    assert done.returncode != 0
    assert done.stderr.splitlines()[-1] == "exit handler"
    assert "os._exit" not in done.stderr


def test_a_profiled_simulation_ends_the_ordinary_way_so_the_profile_is_written(tmp_path: Path) -> None:
    profile = tmp_path / "simulate.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "adapters.cli", "simulate",
                           str(EXAMPLES / "mmc.toml"), "--json"], cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kpis"]["offered"] > 0
    assert profile.stat().st_size > 0


def test_main_called_by_other_code_returns_its_exit_as_before(tmp_path: Path) -> None:
    """A wrapper (here a module of its own, not ``__main__``) gets ``SystemExit`` back, and its ``finally`` runs."""
    (tmp_path / "wrapper.py").write_text(
        "import sys\n"
        "from adapters.cli import main\n"
        "def run(args):\n"
        "    sys.argv = ['callroute', *args]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as done:\n"
        "        print('exit status', done.code, file=sys.stderr)\n"
        "    finally:\n"
        "        print('wrapper done', file=sys.stderr)\n")
    probe = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import wrapper; wrapper.run(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", probe, "simulate", str(EXAMPLES / "mmc.toml"), "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["exit status 0", "wrapper done"]


class Ended(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The command allowed it; ``os._exit`` raises ``Ended`` instead, and what ran before it is listed."""
    steps: list[str] = []
    monkeypatch.setattr(ending, "_nothing_to_close", True)
    monkeypatch.setattr(ending.sys, "gettrace", lambda: None)  # as without a coverage tool or debugger at work
    monkeypatch.setattr(ending.sys, "getprofile", lambda: None)

    def fake_exit(status: int) -> None:
        steps.append("exit")
        raise Ended(status)

    monkeypatch.setattr(ending.os, "_exit", fake_exit)
    monkeypatch.setattr(ending.atexit, "_run_exitfuncs", lambda: steps.append("exit handlers"))
    return steps


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (1, 1), (3, 3)])
def test_the_exit_status_is_kept_and_exit_handlers_run_first(allowed: list[str], code: Any, status: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ending, "_other_threads", lambda: False)  # pytest may run threads of its own
    with pytest.raises(Ended) as ended:
        ending.end_at_once(code, entry_point=True)
    assert ended.value.status == status
    assert allowed == ["exit handlers", "exit"]


def test_a_text_exit_status_is_left_to_the_interpreter(allowed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ending, "_other_threads", lambda: False)
    ending.end_at_once("callroute: error", entry_point=True)
    assert allowed == []


def test_output_that_cannot_be_flushed_is_left_to_the_interpreter(allowed: list[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def flush(self) -> None:
            raise BrokenPipeError

    monkeypatch.setattr(ending, "_other_threads", lambda: False)
    monkeypatch.setattr(sys, "stdout", Broken())
    ending.end_at_once(0, entry_point=True)
    assert allowed == []


def test_a_live_thread_is_left_to_the_interpreter(allowed: list[str]) -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        ending.end_at_once(0, entry_point=True)
    finally:
        release.set()
        worker.join()
    assert allowed == []


def test_without_the_commands_word_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ending, "_nothing_to_close", False)
    monkeypatch.setattr(ending.os, "_exit", lambda status: pytest.fail("ended"))
    ending.end_at_once(0, entry_point=True)


@pytest.mark.parametrize("status", [256, -1])
def test_a_status_outside_0_to_255_is_left_to_the_interpreter(allowed: list[str], status: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ending, "_other_threads", lambda: False)
    ending.end_at_once(status, entry_point=True)
    assert allowed == []


def test_called_by_other_code_or_under_a_tracer_it_returns(allowed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ending, "_other_threads", lambda: False)
    ending.end_at_once(0, entry_point=False)
    monkeypatch.setattr(ending, "_nothing_to_close", True)
    monkeypatch.setattr(ending.sys, "gettrace", lambda: print)
    ending.end_at_once(0, entry_point=True)
    assert allowed == []


def test_the_commands_word_counts_once(allowed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run in-process (``CliRunner``) that allowed it must not make a later ``main`` end at once."""
    monkeypatch.setattr(ending, "_other_threads", lambda: False)
    ending.end_at_once(0, entry_point=False)
    ending.end_at_once(0, entry_point=True)
    assert allowed == []
