"""Call events on a real PostgreSQL server (started by the tests, ``tests/pgserver.py``): stored once, read back and
verified exactly as from an SQLite file (``adapters/postgres_calls.py`` beside ``adapters/call_store.py``).

The same traffic goes to an SQLite file and to a database, through the command line (ingest from loopback PBXs and
saved webhooks, ``history``, ``conformance``, ``audit verify``): every answer must be the same, down to the chains'
hashes and the calls head. Then what only a server of several connections can do: two writers at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg
import pytest
from eventsourcing.persistence import OperationalError

from adapters.bootstrap import open_call_store
from adapters.call_store import verify_calls
from adapters.postgres_calls import PostgresCallStore
from core.calls.events import CallEnded, CallEvent, CallStarted, EndpointStateChanged
from core.wiring import PostgresStore
from tests.adapters.call_sql import query, sql
from tests.adapters.test_cli import apply_seed
from tests.adapters.test_cli_calls import (
    AMI_CALLS,
    ANN,
    ESL_CALLS,
    RECEPTION,
    TELNYX_CALL,
    TENANT,
    ami_script,
    answered_by,
    at,
    call,
    confirm_live,
    ingest_ami,
    ingest_esl,
    run,
    store,
)
from tests.adapters.test_cli_verify import OPERATOR
from tests.backends import sqlite_files
from tests.pgserver import PostgresServer

pytestmark = pytest.mark.postgres

CALLS_LINE = re.compile(r"^(calls: .*|(store|tenant) calls head [0-9a-f]{64} after .*)$", re.MULTILINE)


def traffic(db: str, tmp_path: Path) -> list[str]:
    """The sample tenant confirmed live, then calls from every intake, twice over; what each ingest printed."""
    apply_seed(db)  # type: ignore[arg-type]
    confirm_live(db)  # type: ignore[arg-type]
    saved = tmp_path / "telnyx.jsonl"
    saved.write_text("\n".join(TELNYX_CALL) + "\n")
    printed = []
    for _ in range(2):  # the second time round, everything was heard before
        for code, out, err in (ingest_esl(db, ESL_CALLS), ingest_ami(db, ami_script(AMI_CALLS)),  # type: ignore[arg-type]
                               run(db, "ingest", "webhook", "--provider", "telnyx", str(saved))):  # type: ignore[arg-type]
            assert code == 0, out + err
            printed.append(out)
    store(db, [*call("c1", "2003", *answered_by("c1", "2003", 10), start=900, end=960),  # type: ignore[arg-type]
               *call("c2", RECEPTION, *answered_by("c2", "2001", 1210), start=1200, end=1260),
               EndpointStateChanged(pbx="stockholm", at=at(-30), endpoint="2004", state="unavailable", key="dev:2004")],
          tenant=TENANT)
    return printed


def answers(db: str) -> dict[str, tuple[int, str]]:
    """What every reading command answers about the calls."""
    commands = {
        "history": ("history", "--tenant", TENANT),
        "history --json": ("history", "--tenant", TENANT, "--json"),
        "history --csv": ("history", "--tenant", TENANT, "--csv"),
        "history --since": ("history", "--tenant", TENANT, "--since", "2026-11-24T10:10:00+01:00", "--json"),
        "conformance": ("conformance", "--tenant", TENANT),
        "conformance --json": ("conformance", "--tenant", TENANT, "--json"),
    }
    found = {}
    for name, args in commands.items():
        code, out, err = run(db, *args)  # type: ignore[arg-type]
        assert err == "", (name, err)
        found[name] = (code, out)
    for name, args, actor in (("verify", ("--operator",), OPERATOR), ("verify --tenant", ("--tenant", TENANT), None)):
        code, out, err = run(db, "audit", "verify", *args, **({"actor": actor} if actor else {}))  # type: ignore[arg-type]
        assert code == 0, out + err
        found[name] = (code, "\n".join(match.group(0) for match in CALLS_LINE.finditer(out)))
    return found


def test_ingest_history_conformance_and_verify_answer_on_postgres_as_on_sqlite(postgres_url: str, tmp_path: Path) -> None:
    with sqlite_files():
        sqlite = str(tmp_path / "calls.sqlite")
        on_sqlite = traffic(sqlite, tmp_path)
        expected = answers(sqlite)
    on_postgres = traffic(postgres_url, tmp_path)
    assert on_postgres == on_sqlite
    assert "14 events: 9 stored, 0 heard before" in on_postgres[0] and "14 events: 0 stored, 9 heard before" in on_postgres[3]
    found = answers(postgres_url)
    assert found == expected
    # What was compared is not empty: calls from every intake, a deviation, and the chain with its calls head.
    pbxs = {row["pbx"] for row in json.loads(found["history --json"][1])}
    assert pbxs == {"fs1", "ast1", "telnyx", "stockholm"}
    assert found["conformance"][0] == 1 and "DEVIATES" in found["conformance"][1]
    assert re.search(rf"^calls: {TENANT}: intact, \d+ call events, head [0-9a-f]{{64}}$", found["verify"][1], re.MULTILINE)
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        keys = db.execute("SELECT count(*), count(DISTINCT (pbx, key)) FROM call_events WHERE key IS NOT NULL").fetchone()
    assert keys is not None and keys[0] == keys[1] > 0  # each reported event stored once


def events(count: int, pbx: str = "ast1") -> list[CallEvent]:
    out: list[CallEvent] = []
    for index in range(count):
        out += [CallStarted(pbx=pbx, at=at(index), call_id=f"c{index}", dialled=ANN, key=f"c{index}:s"),
                CallEnded(pbx=pbx, at=at(index + 30), call_id=f"c{index}", cause=16, key=f"c{index}:e")]
    return out


def test_two_connections_ingesting_the_same_events_at_once_store_each_once(postgres_url: str) -> None:
    """Two writers, each with its own connections, hand the same 400 events in batches of 8, one from the first batch
    and one from the last, started together: every event is stored once, the one chain links in stored order."""
    batch = events(200)
    batches = [[("acme", event) for event in batch[start:start + 8]] for start in range(0, len(batch), 8)]
    stores = [PostgresCallStore(PostgresStore(postgres_url)), PostgresCallStore(PostgresStore(postgres_url))]
    stores[0].create()
    ready = threading.Barrier(2)
    results: list[list[tuple[int, int]]] = [[], []]
    failures: list[BaseException] = []

    def ingest(index: int) -> None:
        try:
            ready.wait(timeout=30)
            for items in (batches if index == 0 else list(reversed(batches))):
                appended = stores[index].append(items)
                results[index].append((appended.stored, appended.duplicates))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=ingest, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    stored = sum(s for result in results for s, _ in result)
    duplicates = sum(d for result in results for _, d in result)
    assert (stored, duplicates) == (400, 400)
    assert stores[0].count() == 400 and stores[1].verify("acme").intact
    seqs = [seq for (seq,) in query(postgres_url, "SELECT seq FROM call_events ORDER BY seq")]
    assert seqs == list(range(1, 401))  # numbered in commit order, none skipped: nothing was inserted and rolled back
    check = verify_calls(postgres_url)
    assert check is not None and check.intact and check.walk.events == 400
    assert [call[0].call_id for call in stores[0].calls("acme")] == [f"c{index}" for index in range(200)]  # type: ignore[attr-defined]
    for one in stores:
        one.close()


def test_a_writer_waits_for_the_other_and_a_lock_held_too_long_is_an_operational_error(postgres_url: str) -> None:
    calls = PostgresCallStore(PostgresStore(postgres_url), lock_timeout=0.3)
    calls.create()
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as holder:
        holder.execute("LOCK TABLE call_events IN EXCLUSIVE MODE")  # another writer's batch, never committed
        with pytest.raises(OperationalError, match="stayed locked by another writer for 0.3 s"):
            calls.append([("acme", event) for event in events(1)])
        assert calls.count() == 0 and calls.tenant_of_call("ast1", "c0") is None  # reads go on meanwhile
    assert calls.append([("acme", event) for event in events(1)]).stored == 2
    calls.close()
    patient = PostgresCallStore(PostgresStore(postgres_url), lock_timeout=30)
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as holder:
        holder.execute("LOCK TABLE call_events IN EXCLUSIVE MODE")
        holder.execute("INSERT INTO call_chain_heads VALUES ('other', %s, 0)", (bytes(32),))
        # Not threading.Timer: its timed wait never ends under faketime's shifted clock (.ci/run), time.sleep does.
        timer = threading.Thread(target=lambda: (time.sleep(0.3), holder.commit()))
        began = time.monotonic()
        timer.start()
        assert patient.append([("acme", event) for event in events(2)]).stored == 2  # c1's two: c0's were stored before
        assert time.monotonic() - began >= 0.25  # it waited for the other writer's commit
        timer.join()
    assert query(postgres_url, "SELECT tenant FROM call_chain_heads ORDER BY tenant") == [("acme",), ("other",)]
    patient.close()


def test_an_edited_call_event_on_postgres_is_named_by_audit_verify(postgres_url: str) -> None:
    apply_seed(postgres_url)  # type: ignore[arg-type]
    store(postgres_url, [*call("c1", ANN), *call("c2", ANN, start=100, end=160)])  # type: ignore[arg-type]
    code, out, err = run(postgres_url, "audit", "verify", "--tenant", TENANT)  # type: ignore[arg-type]
    assert code == 0 and f"calls: {TENANT}: intact, 4 call events" in out, out + err
    ((body,),) = query(postgres_url, "SELECT body FROM call_events WHERE seq = 3")
    sql(postgres_url, "UPDATE call_events SET body = ? WHERE seq = 3", body.replace(b"+441234567890", b"+441234567891"))
    code, out, err = run(postgres_url, "audit", "verify", "--tenant", TENANT)  # type: ignore[arg-type]
    assert code == 1, out + err
    assert (f"calls: {TENANT}: BROKEN at call event 3 of 4: altered, reordered or a row before it removed"
            in out.splitlines())
    opened = open_call_store(postgres_url)
    try:
        assert not opened.verify(TENANT).intact
    finally:
        opened.close()


async def test_a_signed_webhook_is_stored_once_in_postgres(postgres_url: str) -> None:
    from adapters.http import WebhookSource
    from adapters.pbx.webhooks import twilio_signature
    from tests.adapters.http_server import prepare, running

    apply_seed(postgres_url)  # type: ignore[arg-type]
    prepare(postgres_url)  # type: ignore[arg-type]
    body = urlencode({"CallSid": "CA1", "CallStatus": "ringing", "From": "+441234567890", "To": RECEPTION,
                      "Timestamp": "Mon, 23 Nov 2026 10:00:00 +0000"}).encode()
    async with running(postgres_url, webhooks={"twilio": WebhookSource(key="token")}) as url, \
            httpx.AsyncClient(base_url=url) as http:  # type: ignore[arg-type]
        signed = {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Twilio-Signature": twilio_signature("token", f"{url}/v1/webhooks/twilio", body)}
        first = await http.post("/v1/webhooks/twilio", content=body, headers=signed)
        again = await http.post("/v1/webhooks/twilio", content=body, headers=signed)
    assert first.status_code == 200, first.text
    assert (first.json()["stored"], again.json()["stored"], again.json()["duplicates"]) == (1, 0, 1)
    assert query(postgres_url, "SELECT tenant, pbx, call_id FROM call_events") == [(TENANT, "twilio", "CA1")]


def test_a_connection_lost_with_the_server_fails_one_call_and_the_next_reconnects(postgres_url: str,
                                                                                  postgres_server: PostgresServer) -> None:
    calls = PostgresCallStore(PostgresStore(postgres_url))
    batch = [("acme", event) for event in events(2)]
    assert calls.append(batch[:2]).stored == 2 and calls.count() == 2  # both connections open
    postgres_server.disconnect(PostgresStore(postgres_url).parts()["dbname"])  # as a restart of the server ends them
    with pytest.raises(OperationalError):
        calls.append(batch[2:])
    with pytest.raises(OperationalError):
        calls.count()
    assert calls.append(batch[2:]).stored == 2 and calls.count() == 4
    assert calls.verify("acme").intact
    calls.close()
