"""``audit verify`` covers the call events: each tenant's chain, the ``calls`` table, and a calls head apart from the store head.

Every tamper here is made with SQL on the stored rows, as someone with the file (or the database, on the PostgreSQL
backend: ``call_sql.py``) would; each must be named in one line and exit 1, except the removal of the last rows with the
chain's recorded head put back, which only a calls head kept earlier can show (as for the configuration's events and the
store head).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from adapters.bootstrap import open_call_store
from core.calls import log
from core.calls.events import CallEvent
from tests.adapters.call_sql import query, sql
from tests.adapters.test_cli_calls import ANN, TENANT, at, call, run, store
from tests.adapters.test_cli_verify import OPERATOR, STORE_HEAD

OTHER = "acme-other"
"""A second tenant's call events, stored directly (the call store's ``append``): its name need not be a tenant of the store."""
CALLS_HEAD = re.compile(r"^(store|tenant) calls head ([0-9a-f]{64}) after ([\d,]+) call events?$", re.MULTILINE)


def verify(db: Path, *args: str) -> tuple[int, str, str]:
    """``audit verify`` of the whole store (the operator's), or with ``--tenant`` as the tenant's administrator."""
    if "--tenant" in args:
        return run(db, "audit", "verify", *args)
    return run(db, "audit", "verify", "--operator", *args, actor=OPERATOR)


def calls_head(db: Path, *args: str) -> str:
    code, out, err = verify(db, *args)
    assert code == 0, out + err
    match = CALLS_HEAD.search(out)
    assert match is not None, out
    return match.group(2)


def stored(db: Path) -> None:
    """Two calls of the sample tenant (4 rows: seq 1-4), then one of another tenant (2 rows: seq 5-6)."""
    store(db, [*call("c1", ANN), *call("c2", ANN, start=100, end=160)])
    append(db, OTHER, call("x1", "+4940123456", start=200, end=230))


def append(db: Path, tenant: str, events: list[CallEvent]) -> None:
    calls = open_call_store(db)
    try:
        calls.append([(tenant, event) for event in events])
    finally:
        calls.close()


def rows(db: Path) -> list[tuple[int, str, str, bytes, bytes]]:
    return query(db, "SELECT seq, tenant, topic, body, hash FROM call_events ORDER BY seq")  # type: ignore[return-value]


# -- what is printed, and what is not ---------------------------------------------------------------------------------


def test_a_store_without_call_tables_prints_nothing_about_calls_and_keeps_its_store_head(db: Path) -> None:
    code, before, err = verify(db)
    assert code == 0, err
    assert "call" not in before.lower()
    head = STORE_HEAD.search(before)
    assert head is not None
    stored(db)
    code, after, err = verify(db)
    assert code == 0, after + err
    assert STORE_HEAD.search(after).group(0) == head.group(0)  # type: ignore[union-attr]  # call events are not in it
    assert after.startswith(before)  # what it printed before, then the calls


def test_each_tenants_chain_is_one_line_and_the_calls_head_is_the_running_hash_over_every_row(db: Path) -> None:
    stored(db)
    code, out, err = verify(db)
    assert code == 0, out + err
    hashes = {tenant: hash_ for _, tenant, _, _, hash_ in rows(db)}  # each tenant's last row
    assert f"calls: {OTHER}: intact, 2 call events, head {hashes[OTHER].hex()}" in out.splitlines()
    assert f"calls: {TENANT}: intact, 4 call events, head {hashes[TENANT].hex()}" in out.splitlines()
    head = bytes(32)
    for *_, hash_ in rows(db):
        head = hashlib.sha256(head + hash_).digest()
    assert out.splitlines()[-1] == f"store calls head {head.hex()} after 6 call events"
    # One tenant: its chain, and the running hash over its rows only.
    code, out, err = verify(db, "--tenant", TENANT)
    assert code == 0, out + err
    assert OTHER not in out
    head = bytes(32)
    for *_, hash_ in (row for row in rows(db) if row[1] == TENANT):
        head = hashlib.sha256(head + hash_).digest()
    assert out.splitlines()[-2:] == [f"calls: {TENANT}: intact, 4 call events, head {hashes[TENANT].hex()}",
                                     f"tenant calls head {head.hex()} after 4 call events"]


def test_a_tenant_without_call_events_says_so(db: Path) -> None:
    append(db, OTHER, call("x1", "+4940123456"))
    code, out, err = verify(db, "--tenant", TENANT)
    assert code == 0, out + err
    assert out.splitlines()[-2:] == [f"calls: {TENANT}: no call events", f"tenant calls head {'0' * 64} after 0 call events"]


# -- tampering --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rehash", [False, True])
def test_an_edited_body_breaks_its_tenants_chain(db: Path, rehash: bool) -> None:
    stored(db)
    _, _, topic, body, _ = rows(db)[2]  # the second call's start
    edited = body.replace(b"+441234567890", b"+441234567891")  # its caller
    assert edited != body
    sql(db, "UPDATE call_events SET body = ? WHERE seq = 3", edited)
    if rehash:  # its own hash recomputed: the row after it no longer links to it
        sql(db, "UPDATE call_events SET hash = ? WHERE seq = 3", log.link(rows(db)[1][4], topic, edited))
    for args in ((), ("--tenant", TENANT)):
        code, out, err = verify(db, *args)
        assert code == 1, out + err
        problem = "altered, reordered or a row before it removed"
        assert f"calls: {TENANT}: BROKEN at call event {4 if rehash else 3} of 4: {problem}" in out.splitlines()
    assert f"calls: {OTHER}: intact, 2 call events" in verify(db)[1]


def test_a_deleted_middle_row_breaks_the_chain_at_the_row_after_it(db: Path) -> None:
    stored(db)
    sql(db, "DELETE FROM call_events WHERE seq = 2")
    code, out, err = verify(db)
    assert code == 1, out + err
    assert f"calls: {TENANT}: BROKEN at call event 2 of 3: altered, reordered or a row before it removed" in out.splitlines()


def test_a_deleted_last_row_shows_against_the_recorded_count(db: Path) -> None:
    stored(db)
    sql(db, "DELETE FROM call_events WHERE seq = 4")
    code, out, err = verify(db, "--tenant", TENANT)
    assert code == 1, out + err
    assert f"calls: {TENANT}: BROKEN at call event 4 of 3: the store recorded 4 call events, 3 are there" in out.splitlines()


def test_a_deleted_last_row_with_its_recorded_head_put_back_shows_only_against_a_kept_calls_head(db: Path) -> None:
    stored(db)
    kept_store, kept_tenant = calls_head(db), calls_head(db, "--tenant", TENANT)
    third = rows(db)[2][4]
    sql(db, "DELETE FROM call_events WHERE seq = 4")
    sql(db, "UPDATE call_chain_heads SET hash = ?, events = 3 WHERE tenant = ?", third, TENANT)
    code, out, err = verify(db)
    assert code == 0, out + err  # every chain is whole as far as the rows and the recorded heads go
    assert f"calls: {TENANT}: intact, 3 call events, head {third.hex()}" in out.splitlines()
    for args, kept, what in (((), kept_store, "store"), (("--tenant", TENANT), kept_tenant, "tenant")):
        code, out, err = verify(db, *args, "--expect-calls-head", kept)
        assert code == 1, out + err
        assert out.splitlines()[-1] == (f"the kept calls head {kept} is none of the {what} calls heads of these "
                                        f"{5 if what == 'store' else 3} call events: the call events it covered were removed "
                                        "or rewritten")


def test_a_chain_rewritten_to_its_end_shows_only_against_a_kept_calls_head(db: Path) -> None:
    stored(db)
    kept = calls_head(db)
    mine = [row for row in rows(db) if row[1] == TENANT]
    previous = log.GENESIS
    for seq, _, topic, body, _ in mine:  # the first call's number changed, every hash after it recomputed, the head too
        body = body.replace(b"+441234567890", b"+441234567891")
        previous = log.link(previous, topic, body)
        sql(db, "UPDATE call_events SET body = ?, hash = ? WHERE seq = ?", body, previous, seq)
    sql(db, "UPDATE call_chain_heads SET hash = ? WHERE tenant = ?", previous, TENANT)
    assert verify(db)[0] == 0
    code, out, err = verify(db, "--expect-calls-head", kept)
    assert code == 1 and "is none of the store calls heads" in out, out + err


@pytest.mark.parametrize(("column", "value"), [("call_id", "c2"), ("pbx", "elsewhere"), ("at", 0), ("key", None)])
def test_a_column_that_disagrees_with_the_body_breaks_the_chain(db: Path, column: str, value: object) -> None:
    """The history selects rows by these columns, which the chain hash does not cover: each is checked against the body."""
    stored(db)
    sql(db, f"UPDATE call_events SET {column} = ? WHERE seq = 1", value)  # noqa: S608 - a column name from the list above
    code, out, err = verify(db)
    assert code == 1, out + err
    assert f"calls: {TENANT}: BROKEN at call event 1 of 4: its {column} column disagrees with its body" in out.splitlines()


def test_the_calls_table_is_checked_against_the_events(db: Path) -> None:
    stored(db)
    sql(db, "DELETE FROM calls WHERE call_id = 'c1'")
    sql(db, "UPDATE calls SET started = started + 1000000 WHERE call_id = 'c2'")
    sql(db, "UPDATE calls SET tenant = ? WHERE call_id = 'x1'", TENANT)
    code, out, err = verify(db)
    assert code == 1, out + err
    started = at(100).isoformat().replace("+00:00", "Z")
    assert [line for line in out.splitlines() if line.startswith("calls: stockholm")] == [
        "calls: stockholm call c1 has no row in the calls table: history and conformance do not see it",
        f"calls: stockholm call c2: the calls table says it started at {at(101).isoformat().replace('+00:00', 'Z')}, "
        f"its first event is at {started}",
        f"calls: stockholm call x1: the calls table gives it to {TENANT}, its events are {OTHER}'s",
    ]
    code, out, _ = verify(db, "--tenant", TENANT)  # the tenant's own calls, and the row given to it
    assert code == 1
    assert sum(line.startswith("calls: stockholm") for line in out.splitlines()) == 3


def test_a_dropped_chain_head_table_shows(db: Path) -> None:
    stored(db)
    sql(db, "DROP TABLE call_chain_heads")
    code, out, err = verify(db)
    assert code == 1, out + err
    assert f"calls: {TENANT}: BROKEN at call event 5 of 4: no chain head is recorded for its 4 call events" in out.splitlines()


# -- kept calls heads -------------------------------------------------------------------------------------------------


def test_a_kept_calls_head_is_found_after_later_calls_which_are_counted(db: Path) -> None:
    stored(db)
    kept = calls_head(db)
    store(db, call("c3", ANN, start=300, end=330))
    code, out, err = verify(db, "--expect-calls-head", kept.upper())
    assert code == 0, out + err
    assert out.splitlines()[-1] == (f"the kept calls head is the store calls head after call event 6 of 8: nothing up to it "
                                    f"was removed or changed; 2 call events were stored after it: {TENANT} 2")
    code, out, _ = verify(db, "--expect-calls-head", kept, "--no-later-events")
    assert code == 1 and out.splitlines()[-1].endswith("and --no-later-events says none was")
    # --no-later-events with only a kept store head is about the configuration's events: the calls stored since do not fail it.
    store_head = STORE_HEAD.search(out).group(1)  # type: ignore[union-attr]
    code, out, err = verify(db, "--expect-head", store_head, "--no-later-events")
    assert code == 0, out + err


def test_a_tenants_chain_head_kept_from_its_line_is_recognised(db: Path) -> None:
    stored(db)
    chain_head = rows(db)[1][4].hex()  # the sample tenant's head after its second call event
    code, out, err = verify(db, "--expect-calls-head", chain_head)
    assert code == 0, out + err
    assert out.splitlines()[-1] == (f"the kept calls head is {TENANT}'s call chain head at call event 2: {TENANT}'s call "
                                    "events are intact up to it (it covers that tenant only; keep the store calls head to "
                                    "cover every tenant); 2 call events of it stored after it")


def test_a_kept_calls_head_on_a_store_without_calls(db: Path) -> None:
    code, out, err = verify(db, "--expect-calls-head", "0" * 64)
    assert code == 0, out + err
    assert out.splitlines()[-2:] == [f"store calls head {'0' * 64} after 0 call events",
                                     "the kept calls head is the store calls head after call event 0 of 0: nothing up to it "
                                     "was removed or changed"]
    code, out, err = verify(db, "--expect-calls-head", "ab" * 32)
    assert code == 1 and "is none of the store calls heads of these 0 call events" in out, out + err


@pytest.mark.parametrize("head", ["abc", "g" * 64])
def test_a_calls_head_that_is_not_64_hex_digits_is_one_line(db: Path, head: str) -> None:
    code, out, err = verify(db, "--expect-calls-head", head)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--expect-calls-head" in err, out + err
