"""Real processes on a real PostgreSQL server: several ``callroute serve`` processes on one database, clients on loopback.

The SQLite version of these proofs is ``tests/adapters/test_processes.py``. Here the store is a database on the tests'
PostgreSQL server (``tests/pgserver.py``), except for the test that kills the server itself: that one starts a cluster
of its own (``Cluster``), kills its postmaster with SIGKILL and starts it again on the same data folder and port.

Every change is dated "now" by the processes themselves (the wall clock, faked or not: ``.ci/run`` shifts it by years),
so nothing here depends on the date; every wait has a deadline on the monotonic clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from core.wiring import PostgresStore
from tests import pgserver
from tests.adapters.test_processes import Server, callroute, divert, ok

pytestmark = pytest.mark.postgres

ACME, GLOBEX = "acme", "globex"
ACME_ADMIN, GLOBEX_ADMIN = "admin@acme.example", "admin@globex.example"
OPERATOR = "ops@platform.example"
EXTENSIONS = ("2001", "2002", "2003", "2004", "2005")
MEETING_ROUNDS = 5
"""Rounds of concurrent changes run at most until one writer loses to another (``test_three_api_processes_...``)."""
BOUND = 15.0
"""The longest a client may wait for any answer while the database is down (the servers give up on it before)."""


# -- the store: tenants and tokens made through the command line, read back with SQL -----------------------------------


def make_store(url: str, tmp: Path) -> dict[str, str]:
    """Two tenants made by their admins through the command line (at "now"), and a token for each admin and an operator."""
    for slug, admin in ((ACME, ACME_ADMIN), (GLOBEX, GLOBEX_ADMIN)):
        commands = [{"command": "create_tenant", "tenant": slug, "name": slug.title(), "time_zone": "Europe/Stockholm"}]
        commands += [{"command": "add_user", "tenant": slug, "extension": ext, "name": f"User {ext}"} for ext in EXTENSIONS]
        file = tmp / f"{slug}.json"
        file.write_text(json.dumps({"commands": commands}))
        ok(callroute(url, "apply", str(file), "--reason", f"{slug} set up", actor=admin))  # type: ignore[arg-type]
    tokens = {admin: ok(callroute(url, "token", "create", "--principal", admin, actor=OPERATOR)).strip()  # type: ignore[arg-type]
              for admin in (ACME_ADMIN, GLOBEX_ADMIN)}
    tokens[OPERATOR] = ok(callroute(url, "token", "create", "--principal", OPERATOR, "--operator", actor=OPERATOR)).strip()  # type: ignore[arg-type]
    return tokens


def sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(**PostgresStore(url).conninfo()) as db:
        return db.execute(query, args).fetchall()  # type: ignore[arg-type]


def events(url: str) -> int:
    return int(sql(url, "SELECT count(*) FROM callroute_events")[0][0])


def reasons(url: str) -> Counter[str]:
    """How often each reason is recorded on acme's changes (the stored JSON, read with SQL)."""
    rows = sql(url, "SELECT state FROM callroute_events WHERE topic = 'callroute/DivertSet'")
    return Counter(json.loads(bytes(state)).get("reason") or "" for (state,) in rows)


def acme_version(url: str, token: str, server: Server) -> int:
    answer = httpx.get(f"{server.url}/v1/tenants/{ACME}", headers=bearer(token), timeout=30)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["version"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def verified(url: str, server: Server, token: str) -> None:
    """The chains intact, by ``callroute audit verify --operator`` and by the verify endpoint."""
    shown = ok(callroute(url, "audit", "verify", "--operator"))  # type: ignore[arg-type]
    assert "BROKEN" not in shown and re.search(r"^store head [0-9a-f]{64} after [\d,]+ events$", shown, re.MULTILINE), shown
    answer = httpx.post(f"{server.url}/v1/tenants/{ACME}/verify", headers=bearer(token), timeout=60)
    assert answer.status_code == 200 and answer.json()["intact"] is True, answer.text


def retries(servers: list[Server]) -> int:
    """How often the servers ran a batch again after losing to another writer (their ``commands.retried`` log lines)."""
    return sum(1 for server in servers for line in server.lines if "commands.retried" in line)


def stop_all(servers: list[Server]) -> list[int]:
    return [server.stop() for server in servers]


@pytest.fixture
def store(postgres_url: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    return postgres_url, make_store(postgres_url, tmp_path)


# -- several API processes on one database --------------------------------------------------------------------------------


@pytest.mark.slow
def test_three_api_processes_change_one_tenant_concurrently(store: tuple[str, dict[str, str]]) -> None:
    url, tokens = store
    servers = [Server(url), Server(url), Server(url)]  # type: ignore[arg-type]
    token = tokens[ACME_ADMIN]
    before = acme_version(url, token, servers[0])
    accepted: dict[str, tuple[str, int]] = {}  # reason → (extension, ring seconds)
    last: dict[str, int] = {}  # extension → the ring seconds of the last change its writer had accepted
    statuses: Counter[str] = Counter()
    refused: list[str] = []  # reasons answered 409 on every try
    lock = threading.Lock()

    def writer(server: Server, name: str, extension: str, count: int) -> None:
        with httpx.Client(base_url=server.url, headers=bearer(token), timeout=60) as http:
            for i in range(count):
                reason, seconds = f"{name} #{i}", 10 + i
                for _ in range(3):  # bounded retries of a 409 (nothing was stored); the same reason each time
                    answer = http.post("/v1/commands", json={"commands": [divert(ACME, extension, seconds)], "reason": reason})
                    with lock:
                        statuses[str(answer.status_code)] += 1
                    if answer.status_code != 409:
                        break
                    assert answer.json()["error"]["rule"] == "concurrent_change", answer.text
                assert answer.status_code in (200, 409), answer.text
                with lock:
                    if answer.status_code == 200:
                        accepted[reason], last[extension] = (extension, seconds), seconds
                    else:
                        refused.append(reason)

    # Two writers per process: three on one shared user (2001, the same rows of state), three on users of their own.
    # Whether two of them meet (one reads a version another is storing) is up to timing: a round of 15 changes each
    # usually has several such losses, but a quick machine can get through one without any, so rounds are run until
    # one writer has lost to another (``MEETING_ROUNDS`` at most), and every round's changes are checked alike.
    rounds = 0
    try:
        while rounds < MEETING_ROUNDS:
            rounds += 1
            plan = [(servers[i % 3], f"w{i} r{rounds}", "2001" if i < 3 else EXTENSIONS[i - 2], 15) for i in range(6)]
            threads = [threading.Thread(target=writer, args=args) for args in plan]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 240
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            assert not any(thread.is_alive() for thread in threads), "the writers did not finish in time"
            if statuses["409"] + retries(servers) > 0:
                break
        after = acme_version(url, token, servers[2])
        verified(url, servers[1], tokens[OPERATOR])
    finally:
        codes = stop_all(servers)
    assert codes == [0, 0, 0]
    stored = reasons(url)
    lost_tries = retries(servers)
    print(f"{rounds} round(s): statuses {dict(statuses)}; {len(accepted)} accepted, {len(refused)} refused after 3 tries; "
          f"{lost_tries} in-process retries")
    assert len(accepted) + len(refused) == rounds * 6 * 15
    assert len(accepted) >= rounds * 60, statuses  # most get through the writers' own retries
    assert all(stored[reason] == 1 for reason in accepted), [r for r in accepted if stored[r] != 1]  # exactly once
    assert not any(stored[reason] for reason in refused)  # a 409 stored nothing
    assert set(stored) - {""} == set(accepted)
    assert after == before + len(accepted)  # no lost update: every accepted change is a version of its own
    assert statuses["409"] + lost_tries > 0, "no writer ever lost to another: the test did not make them meet"
    for extension, seconds in last.items():  # each writer's last accepted change is what the tenant holds
        shown = ok(callroute(url, "divert", "show", "--tenant", ACME, "--extension", extension))  # type: ignore[arg-type]
        assert re.search(rf"no answer .*ring time {seconds} s", shown), (extension, seconds, shown)


@pytest.mark.slow
def test_a_read_through_one_process_sees_a_write_committed_through_another(store: tuple[str, dict[str, str]]) -> None:
    url, tokens = store
    first, second = Server(url), Server(url)  # type: ignore[arg-type]
    headers = bearer(tokens[ACME_ADMIN])
    try:
        with httpx.Client(base_url=first.url, headers=headers, timeout=30) as a, \
                httpx.Client(base_url=second.url, headers=headers, timeout=30) as b:
            # B has read (and cached) the tenant and its tables before A writes.
            start = b.get(f"/v1/tenants/{ACME}").json()["version"]
            assert b.get(f"/v1/tenants/{ACME}/table", params={"view": "desired"}).json()["version"] == start
            for i in range(6):
                stored = a.post("/v1/commands", json={"commands": [divert(ACME, "2004", 20 + i)], "reason": f"fresh {i}"})
                assert stored.status_code == 200, stored.text
                assert stored.json()["versions"] == {ACME: start + i + 1}
                # Read through B at once, with nothing telling B what A did.
                view = b.get(f"/v1/tenants/{ACME}")
                assert (view.status_code, view.json()["version"]) == (200, start + i + 1), view.text
                table = b.get(f"/v1/tenants/{ACME}/table", params={"view": "desired"})
                assert (table.status_code, table.json()["version"]) == (200, start + i + 1), table.text
                explained = b.get(f"/v1/tenants/{ACME}/explain", params={"to": "2004", "view": "desired"})
                plan = explained.json()
                assert explained.status_code == 200, explained.text
                assert (plan["table_version"], plan["plan"]["legs"][0]["seconds"]) == (start + i + 1, 20 + i), explained.text
            history = b.get(f"/v1/tenants/{ACME}/history").json()["changes"]
            assert [c["reason"] for c in history if (c.get("reason") or "").startswith("fresh")] == [f"fresh {i}" for i in range(6)]
    finally:
        codes = stop_all([first, second])
    assert codes == [0, 0]


@pytest.mark.slow
def test_a_killed_api_process_leaves_no_partial_batch_and_the_others_go_on(store: tuple[str, dict[str, str]]) -> None:
    url, tokens = store
    headers = bearer(tokens[ACME_ADMIN])
    survivor = Server(url)  # type: ignore[arg-type]
    batch = [divert(ACME, EXTENSIONS[i % len(EXTENSIONS)], 10 + i % 100) for i in range(1000)]
    body = json.dumps({"commands": batch, "reason": "killed batch"}).encode()
    delays = (0.0, 0.05, 0.15, 0.4, 1.0)
    outcomes = []
    try:
        for delay in delays:
            victim = Server(url)  # type: ignore[arg-type]
            before = events(url)
            # The whole request is in the victim's hands (sent on a socket) before the kill: a kill mid-request.
            with _sent(victim.url, tokens[ACME_ADMIN], body) as sock:
                time.sleep(delay)
                victim.kill9()
                answer = _status(sock)
            moved = events(url) - before
            outcomes.append((delay, answer, moved))
            assert moved in (0, len(batch)), outcomes  # all or nothing
            assert answer != 200 or moved == len(batch), outcomes
            answer_after = httpx.post(f"{survivor.url}/v1/commands", headers=headers, timeout=30,
                                      json={"commands": [divert(ACME, "2005", 33)], "reason": f"after {delay}"})
            assert answer_after.status_code == 200, answer_after.text
        # The batches killed in flight left no lock, no half-open transaction: the survivor still stores batches.
        whole = httpx.post(f"{survivor.url}/v1/commands", headers=headers, timeout=60,
                           json={"commands": batch[:50], "reason": "whole batch"})
        assert whole.status_code == 200 and whole.json()["events"] == 50, whole.text
        verified(url, survivor, tokens[OPERATOR])
    finally:
        code = survivor.stop()
    assert code == 0
    print(f"outcomes (delay, status or none, events moved): {outcomes}")
    # At least one kill landed before its batch was committed (else the test proved nothing about a partial batch).
    assert any(moved == 0 for _, _, moved in outcomes), outcomes
    stored = reasons(url)
    assert stored["killed batch"] % len(batch) == 0
    assert [stored[f"after {delay}"] for delay in delays] == [1] * len(delays)
    assert stored["whole batch"] == 50


@contextmanager
def _sent(base: str, token: str, body: bytes) -> Iterator[socket.socket]:
    """A socket on which a whole ``POST /v1/commands`` of ``body`` has been sent (the answer not read yet)."""
    split = urlsplit(base)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    sock = socket.create_connection((host, port), timeout=30)
    try:
        head = (f"POST /v1/commands HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode() + body)
        yield sock
    finally:
        sock.close()


def _status(sock: socket.socket) -> int | None:
    """The status of the answer on ``sock``, or None when the connection ended without one."""
    received = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
    found = re.match(rb"HTTP/1\.[01] (\d{3}) ", received)
    return int(found[1]) if found else None


# -- the PostgreSQL server killed under the API processes -----------------------------------------------------------------


class Cluster:
    """A PostgreSQL cluster of this test's own, in a temporary folder, on a fixed port of 127.0.0.1, that it may kill.

    ``fsync`` is off (a test's data; a killed server process does not lose what it wrote to the operating system) but
    ``synchronous_commit`` is on, as a production server's: a commit the server has answered is in its write-ahead log,
    so a kill of the server after it answered loses nothing (``tests/pgserver.py``'s shared server turns it off).
    """

    def __init__(self) -> None:
        self.bin = pgserver.binaries()
        self.prefix, uid, gid = pgserver._owner()  # noqa: SLF001
        self.folder = Path(tempfile.mkdtemp(prefix="callroute-pgkill-"))
        if uid is not None:
            os.chown(self.folder, uid, gid)  # type: ignore[arg-type]
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        made = self._run("initdb", "-D", str(self.data), "-U", pgserver.SUPERUSER, "--auth-local=trust", "--auth-host=trust",
                         "-E", "UTF8", "--no-locale", "--no-sync")
        if made.returncode != 0:
            raise pgserver.ServerUnavailable(f"initdb failed: {made.stderr or made.stdout}")
        self.port = pgserver._free_port()  # noqa: SLF001
        self.start()
        self.base = f"postgresql://{pgserver.SUPERUSER}:secret@127.0.0.1:{self.port}"
        with psycopg.connect(**PostgresStore(f"{self.base}/postgres").conninfo(), autocommit=True) as db:
            db.execute("CREATE DATABASE killed")
        self.url = f"{self.base}/killed"

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, str(self.bin / program), *args], capture_output=True, text=True,
                              env=pgserver._server_env(), cwd=self.folder, check=False, timeout=120)  # noqa: SLF001

    def start(self) -> None:
        """Start the server on the data folder and port (again): refused while the killed server's processes still hold
        its shared memory, so tried until they have ended (bounded)."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} -c fsync=off "
                   "-c synchronous_commit=on -c max_connections=100 -c logging_collector=off")
        deadline = time.monotonic() + 60
        while True:
            started = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
            if started.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise pgserver.ServerUnavailable(f"pg_ctl start failed: {self.log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.5)

    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill9(self) -> list[int]:
        """SIGKILL to the postmaster only; the pids of its processes (which end on their own when they see it gone)."""
        pid = self.postmaster()
        children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == pid]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        return children

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    try:
        own = Cluster()
    except pgserver.ServerUnavailable as exc:
        pytest.fail(f"PostgreSQL cluster of the test: {exc}", pytrace=False)
    try:
        yield own
    finally:
        own.stop()


@pytest.mark.slow
def test_a_killed_database_server_gives_a_clear_503_and_the_api_processes_recover_when_it_returns(
        cluster: Cluster, tmp_path: Path) -> None:
    url = cluster.url
    tokens = make_store(url, tmp_path)
    token = tokens[ACME_ADMIN]
    servers = [Server(url, "--request-seconds", "10"), Server(url, "--request-seconds", "10")]  # type: ignore[arg-type]
    answered: dict[str, tuple[int | str, str, str, float]] = {}  # reason → (status, error rule, message, seconds taken)
    lock = threading.Lock()
    stop = threading.Event()
    down = threading.Event()
    database = f"127.0.0.1:{cluster.port}/killed"

    def writer(server: Server, name: str, extension: str) -> None:
        with httpx.Client(base_url=server.url, headers=bearer(token), timeout=BOUND + 30) as http:
            i = 0
            while not stop.is_set():
                reason = f"{name} #{i}"
                began = time.monotonic()
                try:
                    answer = http.post("/v1/commands", json={"commands": [divert(ACME, extension, 10 + i % 50)], "reason": reason})
                    status: int | str = answer.status_code
                    error = answer.json().get("error") or {}
                    rule, message = error.get("rule", ""), error.get("message", "")
                except httpx.HTTPError as exc:
                    status, rule, message = type(exc).__name__, "", ""
                with lock:
                    answered[reason] = (status, rule, message, time.monotonic() - began)
                i += 1
                time.sleep(0.05 if not down.is_set() else 0.2)

    threads = [threading.Thread(target=writer, args=(servers[i % 2], f"w{i}", EXTENSIONS[i])) for i in range(4)]
    reads: list[tuple[int, str, str, float]] = []
    before = acme_version(url, token, servers[0])

    def accepted() -> int:
        with lock:
            return sum(1 for a in answered.values() if a[0] == 200)

    try:
        for thread in threads:
            thread.start()
        _wait_for(lambda: accepted() >= 20, 120, "writes before the kill")
        children = cluster.kill9()
        down.set()
        killed_at = time.monotonic()
        # While it is down: every answer a clear 503 within the bound, from both processes, reads and writes alike.
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for server in servers:
                for path in (f"/v1/tenants/{ACME}", f"/v1/tenants/{ACME}/table?view=desired", "/healthz"):
                    began = time.monotonic()
                    answer = httpx.get(f"{server.url}{path}", headers=bearer(token), timeout=BOUND + 30)
                    took = time.monotonic() - began
                    error = answer.json().get("error") or {}
                    reads.append((answer.status_code, error.get("rule", ""), error.get("message", ""), took))
            time.sleep(0.2)
        # The postmaster's processes end on their own once it is gone (else the restart below is refused, bounded).
        _wait_for(lambda: all(_state(pid) in ("Z", "gone") for pid in children), 30, "the killed server's processes to end")
        cluster.start()  # the same data folder and port
        restarted_at = time.monotonic()
        # After it is back: the same API processes succeed again, without a restart of theirs.
        mark = accepted()
        _wait_for(lambda: accepted() >= mark + 8, 90, "writes after the restart")
        for server in servers:
            _wait_for(lambda server=server: httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200, 60, "healthz")
            assert httpx.get(f"{server.url}/v1/tenants/{ACME}", headers=bearer(token), timeout=30).status_code == 200
        stop.set()
        for thread in threads:
            thread.join(BOUND + 60)
        assert not any(thread.is_alive() for thread in threads)
        version = acme_version(url, token, servers[0])
        verified(url, servers[1], tokens[OPERATOR])
    finally:
        stop.set()
        codes = stop_all(servers)
    assert codes == [0, 0]
    outcomes = Counter(f"{status} {rule}".strip() for status, rule, _, _ in answered.values())
    print(f"writes: {dict(outcomes)}; reads while down: {Counter((s, r) for s, r, _, _ in reads)}; "
          f"down {restarted_at - killed_at:.1f} s; slowest read {max(t for *_, t in reads):.2f} s, "
          f"slowest write {max(t for *_, t in answered.values()):.2f} s; e.g. {reads[0][2]!r}")
    # While it was down: a 503 naming the database in one line, never a 500, never a hang.
    assert reads and {status for status, *_ in reads} == {503}, Counter((s, r) for s, r, _, _ in reads)
    refusals = [(m, t) for _, _, m, t in reads] + [(m, t) for s, _, m, t in answered.values() if s != 200]
    for message, _ in refusals:
        assert "\n" not in message and "PostgreSQL database" in message and database in message, message
        assert "secret" not in message
    assert max(took for _, took in refusals) < BOUND
    assert all(status in (200, 503) for status, *_ in answered.values()), outcomes
    assert max(took for *_, took in answered.values()) < BOUND
    assert outcomes.get("503 store_unavailable", 0) > 0, outcomes
    # Nothing lost, nothing written twice: every accepted change stored once; a refused one never, unless its answer said
    # that whether it was stored is not known (the connection was lost after the commit was sent), and then at most once.
    stored = reasons(url)
    accepted_reasons = [r for r, a in answered.items() if a[0] == 200]
    assert all(stored[r] == 1 for r in accepted_reasons), [(r, stored[r]) for r in accepted_reasons if stored[r] != 1]
    assert all(stored[r] <= 1 for r in answered), [(r, stored[r]) for r in answered if stored[r] > 1]
    assert all(stored[r] == 0 for r, a in answered.items() if a[0] != 200 and "nothing was stored" in a[2])
    assert set(stored) - {""} <= set(answered)
    assert version == before + sum(stored[r] for r in answered)  # one version per stored change: no lost update


def _wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds:g} s"
        time.sleep(0.1)


# -- a connection lost after the commit was sent: stored once, or said to be unknown ----------------------------------


def _lose_the_answer(monkeypatch: pytest.MonkeyPatch, app: Any) -> None:
    """The recorder's one try of an insert commits, then reports the connection lost (as when the server dies before its
    answer reaches the client)."""
    from eventsourcing.persistence import OperationalError

    function = type(app.recorder).insert_events
    raw = function.__wrapped__

    def committed_then_lost(recorder: Any, stored_events: Any, **kwargs: Any) -> Any:
        raw(recorder, stored_events, **kwargs)
        lost = psycopg.OperationalError("server closed the connection unexpectedly")
        raise OperationalError(str(lost)) from lost

    monkeypatch.setattr(function, "__wrapped__", committed_then_lost)


def test_a_batch_committed_before_its_connection_was_lost_is_stored_once(postgres_url: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from adapters.bootstrap import build_app
    from core import commands as c
    from core.aggregates.context import Actor
    from core.aggregates.targets import ToVoicemail
    from core.clock import SteppingClock
    from tests.core.conftest import FakeHasher

    admin = Actor(principal=ACME_ADMIN)
    app = build_app(postgres_url, clock=SteppingClock(datetime(2026, 11, 16, 8, tzinfo=UTC), timedelta(seconds=1)),
                    pin_hasher=FakeHasher())
    try:
        app.execute([c.CreateTenant(tenant=ACME, name="Acme", time_zone="Europe/Stockholm"),
                     c.AddUser(tenant=ACME, extension="2001", name="Ann")], admin)
        _lose_the_answer(monkeypatch, app)
        divert = [c.SetDivert(tenant=ACME, extension="2001", condition="busy", target=ToVoicemail())]
        receipt = app.execute(divert, admin, reason="answer lost")
        assert receipt.versions == {ACME: 3} and receipt.position == events(postgres_url)
        assert reasons(postgres_url)["answer lost"] == 1  # the library's retry would have clashed with it and stored it again
        # When the server cannot be asked whether it was stored, the error says so (and the API says read it first).
        from adapters.http.errors import refusal
        from adapters.postgres import DatabaseUnavailable, OutcomeUnknown

        def unreachable(stored_events: Any) -> Any:
            raise DatabaseUnavailable(PostgresStore(postgres_url), "connection refused", sent=False)

        monkeypatch.setattr(app.event_writer, "_stored_ids", unreachable)
        with pytest.raises(OutcomeUnknown) as raised:
            app.execute(divert, admin, reason="outcome unknown")
        answer = refusal(raised.value, store=PostgresStore(postgres_url)).detail
        assert (answer.status, answer.rule) == (503, "store_unavailable")
        assert "may have been stored: read the tenant before sending it again" in answer.message and "\n" not in answer.message
        assert reasons(postgres_url)["outcome unknown"] == 1  # it was: the answer says it may have been
    finally:
        app.close()
