"""Real processes on one SQLite file: ``callroute serve`` and ``callroute project`` subprocesses on loopback, CLI processes.

The stores are made through the command line as the console script runs it (the wall clock): every change is
dated "now" by the processes themselves, so the tests hold whatever the date (``.ci/run`` shifts the clock).
A store whose dates do not matter (the projection's, read by ``callroute project`` only) is made in-process at
fixed instants. These tests are SQLite's; the same proofs on one PostgreSQL server, with several ``serve`` processes
and a kill -9 of the server itself, are in ``tests/postgres/test_processes_pg.py``, and the killed ``project
--follow`` on PostgreSQL in ``tests/postgres/test_follow_pg.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.clirun import NOW

# The stores are opened by child processes, which do not get the PostgreSQL backend's redirect (tests/backends.py).
pytestmark = pytest.mark.sqlite_only

ACME, GLOBEX = "acme", "globex"
ACME_ADMIN, GLOBEX_ADMIN = "admin@acme.example", "admin@globex.example"
EXTENSIONS = ("2001", "2002", "2003", "2004", "2005")


def _env(db: Path, actor: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLROUTE_")}
    return {**env, "CALLROUTE_DB": str(db), "CALLROUTE_ACTOR": actor}


def callroute(db: Path, *args: str, actor: str = ACME_ADMIN, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adapters.cli", *args], env=_env(db, actor), capture_output=True, text=True,
                          timeout=timeout, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.args, result.returncode, result.stdout, result.stderr)
    return result.stdout


class Process:
    """A long-running callroute subprocess whose stderr is read line by line (and always drained, so it never blocks)."""

    def __init__(self, db: Path, *args: str, actor: str = ACME_ADMIN) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "adapters.cli", *args], env=_env(db, actor), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._new:
                self.lines.append(line)
                self._new.notify_all()
        with self._new:
            self._new.notify_all()

    def wait_for(self, pattern: str, *, count: int = 1, timeout: float = 30) -> re.Match[str]:
        """The ``count``-th stderr line matching ``pattern``; fails if the process ends or the time runs out first."""
        deadline = time.monotonic() + timeout
        with self._new:
            while True:
                found = [m for m in (re.search(pattern, line) for line in self.lines) if m]
                if len(found) >= count:
                    return found[count - 1]
                assert self.process.poll() is None or self._reader.is_alive(), f"ended: {''.join(self.lines)[-2000:]}"
                left = deadline - time.monotonic()
                assert left > 0, f"no {pattern!r} in time: {''.join(self.lines)[-2000:]}"
                self._new.wait(min(left, 0.5))

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(20)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            finally:
                if self.process.poll() is None:
                    self.process.kill()
        self._reader.join(5)
        return self.process.returncode


class Server(Process):
    def __init__(self, db: Path, *args: str) -> None:
        super().__init__(db, "serve", "--port", "0", *args)
        self.url = self.wait_for(r"serving .* on (http://\S+)")[1]


def events(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]


def reasons(db: Path, slug: str) -> Counter[str]:
    """How often each reason is recorded on the tenant's changes (read through the library's recorder)."""
    from adapters.bootstrap import build_app
    from core.clock import SteppingClock
    from core.projections.history import tenant_history

    app = build_app(db, clock=SteppingClock(NOW))
    try:
        return Counter(entry.reason or "" for entry in tenant_history(app, slug) if entry.record == "tenant")
    finally:
        app.close()


def version(db: Path, slug: str) -> int:
    line = next(line for line in ok(callroute(db, "tenant", "list")).splitlines() if line.startswith(slug + " "))
    return int(line.split()[-3])


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Two tenants made by their admins through the command line (at "now"), and a token for each admin."""
    db = tmp_path / "service.sqlite"
    for slug, admin in ((ACME, ACME_ADMIN), (GLOBEX, GLOBEX_ADMIN)):
        commands = [{"command": "create_tenant", "tenant": slug, "name": slug.title(), "time_zone": "Europe/Stockholm"}]
        commands += [{"command": "add_user", "tenant": slug, "extension": ext, "name": f"User {ext}"} for ext in EXTENSIONS]
        file = tmp_path / f"{slug}.json"
        file.write_text(json.dumps({"commands": commands}))
        ok(callroute(db, "apply", str(file), "--reason", f"{slug} set up", actor=admin))
    tokens = {admin: ok(callroute(db, "token", "create", "--principal", admin, actor="ops@platform.example")).strip()
              for admin in (ACME_ADMIN, GLOBEX_ADMIN)}
    return db, tokens


def divert(slug: str, extension: str, seconds: int) -> dict[str, Any]:
    return {"command": "set_divert", "tenant": slug, "extension": extension, "condition": "no_answer", "ring_seconds": seconds,
            "target": {"kind": "voicemail"}}


def ring_seconds(db: Path, slug: str, extension: str) -> int:
    shown = ok(callroute(db, "divert", "show", "--tenant", slug, "--extension", extension))
    found = re.search(r"no answer .*ring time (\d+) s", shown)
    assert found, shown
    return int(found[1])


@pytest.mark.slow
def test_two_api_processes_and_two_cli_processes_change_one_tenant_concurrently(store: tuple[Path, dict[str, str]]) -> None:
    db, tokens = store
    before = version(db, ACME)
    servers = [Server(db), Server(db)]
    accepted: dict[str, tuple[str, int]] = {}  # reason → (extension, ring seconds)
    last: dict[str, int] = {}  # extension → the ring seconds of its writer's last accepted change
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    def http_writer(server: Server, extension: str, count: int) -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens[ACME_ADMIN]}"}, timeout=30) as http:
            for i in range(count):
                reason, seconds = f"http {extension} #{i}", 10 + i
                for _ in range(4):  # bounded retries of a 409 (nothing was stored)
                    answer = http.post("/v1/commands", json={"commands": [divert(ACME, extension, seconds)], "reason": reason})
                    with lock:
                        statuses[f"http {answer.status_code}"] += 1
                    if answer.status_code != 409:
                        break
                assert answer.status_code in (200, 409), answer.text
                if answer.status_code == 200:
                    assert answer.json()["position"] > 0
                    with lock:
                        accepted[reason], last[extension] = (extension, seconds), seconds

    def cli_writer(extension: str, count: int) -> None:
        for i in range(count):
            reason, seconds = f"cli {extension} #{i}", 10 + i
            result = callroute(db, "divert", "set", "--tenant", ACME, "--extension", extension, "--when", "no_answer",
                               "--to", "voicemail", "--ring-seconds", str(seconds), "--reason", reason)
            assert result.returncode in (0, 4), result.stderr  # 4: another writer kept the store or the tenant; nothing stored
            with lock:
                statuses[f"cli exit {result.returncode}"] += 1
                if result.returncode == 0:
                    accepted[reason], last[extension] = (extension, seconds), seconds

    try:
        writers = [threading.Thread(target=http_writer, args=(servers[0], "2001", 30)),
                   threading.Thread(target=http_writer, args=(servers[1], "2002", 30)),
                   threading.Thread(target=cli_writer, args=("2003", 6)), threading.Thread(target=cli_writer, args=("2004", 6))]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(120)
        assert not any(writer.is_alive() for writer in writers)
    finally:
        codes = [server.stop() for server in servers]
    assert codes == [0, 0]
    stored = reasons(db, ACME)
    assert len(accepted) >= 50, statuses
    assert all(stored[reason] == 1 for reason in accepted), [r for r in accepted if stored[r] != 1]  # each stored exactly once
    assert {r for r in stored if r.startswith(("http ", "cli "))} == set(accepted)  # nothing refused was stored
    assert version(db, ACME) == before + len(accepted)  # no lost update: every accepted change is a version of its own
    for extension, seconds in last.items():  # each writer's last change is what the tenant holds
        assert ring_seconds(db, ACME, extension) == seconds
    ok(callroute(db, "audit", "verify", "--operator"))
    print(f"statuses: {dict(statuses)}")


@pytest.mark.slow
def test_a_killed_api_process_leaves_no_partial_batch_and_the_other_goes_on(store: tuple[Path, dict[str, str]]) -> None:
    db, tokens = store
    headers = {"Authorization": f"Bearer {tokens[ACME_ADMIN]}"}
    survivor = Server(db)
    batch = [divert(ACME, EXTENSIONS[i % len(EXTENSIONS)], 10 + i % 100) for i in range(400)]
    outcomes = []
    try:
        for delay in (0.02, 0.06, 0.15, 0.3):
            victim = Server(db)
            before = events(db)
            answers: list[Any] = []

            def post(url: str = victim.url, answers: list[Any] = answers) -> None:
                try:
                    answers.append(httpx.post(f"{url}/v1/commands", json={"commands": batch, "reason": "killed batch"},
                                              headers=headers, timeout=30).status_code)
                except httpx.HTTPError as exc:
                    answers.append(type(exc).__name__)

            sender = threading.Thread(target=post)
            sender.start()
            time.sleep(delay)
            victim.kill9()
            sender.join(30)
            after = events(db)
            outcomes.append((delay, answers, after - before))
            assert after - before in (0, len(batch)), outcomes  # all or nothing
            assert answers != [200] or after - before == len(batch)
            answer = httpx.post(f"{survivor.url}/v1/commands", json={"commands": [divert(ACME, "2005", 33)], "reason": f"after {delay}"},
                                headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
    finally:
        assert survivor.stop() == 0
    assert any(moved == 0 for _, _, moved in outcomes) or any(answers != [200] for _, answers, _ in outcomes), outcomes
    ok(callroute(db, "audit", "verify", "--operator"))
    stored = reasons(db, ACME)
    assert stored["killed batch"] % len(batch) == 0
    assert [stored[f"after {delay}"] for delay in (0.02, 0.06, 0.15, 0.3)] == [1, 1, 1, 1]


def projection_position(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        row = connection.execute("SELECT position FROM projection_position WHERE name = 'routing'").fetchone()
    return row[0] if row else 0


@pytest.fixture
def busy_store(tmp_path: Path) -> Path:
    """A store of 12,000 events (fixed instants: only the projection reads it), confirmed live now and then."""
    from adapters.bootstrap import build_app
    from core import commands as c
    from core.aggregates.context import Actor
    from core.aggregates.targets import ToVoicemail
    from core.clock import SteppingClock

    db = tmp_path / "busy.sqlite"
    app = build_app(db, clock=SteppingClock(NOW - timedelta(days=30), timedelta(seconds=1)))
    admin = Actor(principal=ACME_ADMIN)
    try:
        app.execute([c.CreateTenant(tenant=ACME, name="Acme", time_zone="Europe/Stockholm"),
                     *(c.AddUser(tenant=ACME, extension=ext, name=f"User {ext}") for ext in EXTENSIONS)], admin)
        for step in range(120):
            receipt = app.execute([c.SetDivert(tenant=ACME, extension=EXTENSIONS[i % len(EXTENSIONS)], condition="no_answer",
                                               ring_seconds=10 + (step + i) % 50, target=ToVoicemail())
                                   for i in range(100)], admin, reason=f"step {step}")
            if step % 10 == 9:
                app.execute([c.ConfirmProvisioning(tenant=ACME, version=receipt.versions[ACME])], admin)
    finally:
        app.close()
    return db


@pytest.mark.slow
def test_a_killed_projection_process_resumes_from_its_position(busy_store: Path) -> None:
    db = busy_store
    head = events(db)
    follower = Process(db, "project", "--follow", "--batch-size", "40", "--interval", "0.1")
    try:
        follower.wait_for(r"projection at position (\d+)", count=3)
        follower.kill9()  # between or in the middle of its batches: SQLite rolls back one not committed
    finally:
        follower.stop()
    killed_at = projection_position(db)
    assert 0 < killed_at < head, (killed_at, head)  # it was killed while it had more to do
    restarted = ok(callroute(db, "project"))
    assert restarted.strip() == f"projection: at position {head} ({head - killed_at} events processed now)"
    assert ok(callroute(db, "project")).strip() == f"projection: at position {head} (0 events processed now)"
    verified = ok(callroute(db, "audit", "verify", "--operator"))  # the rows agree with a rebuild from the events
    assert "projection: the rows of 1 tenant agree with the events" in verified, verified


@pytest.mark.slow
def test_project_follows_new_writes_and_stops_on_sigterm(store: tuple[Path, dict[str, str]]) -> None:
    db, _ = store
    follower = Process(db, "project", "--follow", "--interval", "0.05")
    try:
        follower.wait_for(r"following .* from position (\d+)")
        ok(callroute(db, "divert", "set", "--tenant", ACME, "--extension", "2001", "--when", "always", "--to", "voicemail",
                     "--reason", "followed"))
        head = events(db)
        follower.wait_for(rf"projection at position {head}\b")
    finally:
        code = follower.stop()
    assert code == 0
    assert follower.process.stdout is not None and follower.process.stdout.read().strip() == f"projection: at position {head}"
    assert projection_position(db) == head


@pytest.mark.slow
def test_a_read_after_a_write_sees_it_beside_a_projection_process_and_waits_a_bounded_time(
        store: tuple[Path, dict[str, str]]) -> None:
    db, tokens = store
    ok(callroute(db, "project"))
    follower = Process(db, "project", "--follow", "--interval", "0.05")
    servers = [Server(db, "--after-seconds", "1"), Server(db, "--after-seconds", "1")]
    headers = {"Authorization": f"Bearer {tokens[ACME_ADMIN]}"}
    try:
        follower.wait_for(r"following .* from position")
        with httpx.Client(base_url=servers[0].url, headers=headers, timeout=30) as first, \
                httpx.Client(base_url=servers[1].url, headers=headers, timeout=30) as second:
            table = f"/v1/tenants/{ACME}/table"
            start = second.get(table, params={"view": "desired"}).json()["version"]
            for i in range(5):  # written through one process, read through the other at once
                stored = first.post("/v1/commands", json={"commands": [divert(ACME, "2003", 40 + i)], "reason": f"ryw {i}"})
                position = stored.json()["position"]
                assert position == events(db)
                read = second.get(table, params={"view": "desired"}, headers={"X-Callroute-After": str(position)})
                assert (read.status_code, read.json()["version"]) == (200, start + i + 1), read.text
                also = second.get(f"/v1/tenants/{ACME}/pending", params={"after": str(position)})
                assert also.status_code == 200, also.text
            # A position the store has not reached (yet): 503 after the bound, saying when to retry; nothing is served.
            began = time.monotonic()
            behind = second.get(table, headers={"X-Callroute-After": str(position + 1000)})
            waited = time.monotonic() - began
            assert (behind.status_code, behind.headers.get("retry-after"), behind.json()["error"]["rule"]) == (
                503, "1", "projection_behind")
            assert 0.9 <= waited < 10
            bad = second.get(table, headers={"X-Callroute-After": "soon"})
            assert (bad.status_code, bad.json()["error"]["field"]) == (422, "after")
            stranger = httpx.get(f"{servers[1].url}{table}", headers={"X-Callroute-After": str(position + 1000)}, timeout=30)
            assert stranger.status_code == 401  # refused before any waiting
    finally:
        codes = [server.stop() for server in servers] + [follower.stop()]
    assert codes == [0, 0, 0]
    # The API processes and the projection process kept one projection: whoever committed first, it ends at the head.
    assert follower.process.stdout is not None and follower.process.stdout.read().strip() == f"projection: at position {position}"
    assert projection_position(db) == position
    ok(callroute(db, "audit", "verify", "--operator"))


@pytest.mark.slow
def test_a_principal_of_one_tenant_reaches_nothing_of_another_through_the_api_processes(store: tuple[Path, dict[str, str]]) -> None:
    db, tokens = store
    server = Server(db)
    reads = [("GET", ""), ("GET", "/table"), ("GET", "/table?view=desired"), ("GET", "/explain?to=2001"), ("GET", "/pending"),
             ("GET", "/history"), ("GET", "/as-of"), ("GET", "/diff?from=1&to=2"), ("POST", "/verify")]
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens[GLOBEX_ADMIN]}"}, timeout=30) as eve, \
                httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens[ACME_ADMIN]}"}, timeout=30) as own:
            before = events(db)
            for method, path in reads:
                answers = [eve.request(method, f"/v1/tenants/{slug}{path}") for slug in (ACME, "no-such-tenant")]
                assert [a.status_code for a in answers] == [404, 404], (path, [a.text for a in answers])
                assert answers[0].content.replace(ACME.encode(), b"?") == answers[1].content.replace(b"no-such-tenant", b"?")
                assert own.request(method, f"/v1/tenants/{ACME}{path}").status_code in (200, 422), path  # the test can fail
            for command in (divert(ACME, "2001", 20), {"command": "remove_user", "tenant": ACME, "extension": "2001"},
                            {"command": "add_user", "tenant": ACME, "extension": "2999", "name": "Guessed"}):
                changed = eve.post("/v1/commands", json={"commands": [command]})
                assert changed.status_code == 404, changed.text
            # A batch that mixes its own tenant with another's stores nothing of either.
            mixed = eve.post("/v1/commands", json={"commands": [divert(GLOBEX, "2001", 20), divert(ACME, "2001", 20)]})
            assert mixed.status_code == 404 and events(db) == before
            assert eve.post("/v1/commands", json={"commands": [divert(GLOBEX, "2001", 20)]}).status_code == 200  # its own: yes
    finally:
        assert server.stop() == 0
