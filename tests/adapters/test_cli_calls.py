"""``callroute ingest``, ``history`` and ``conformance`` against the sample tenant's store, with loopback PBXs.

The FreeSWITCH and Asterisk servers here are scripted loopback servers (``loopback.py``) that
speak just enough of each protocol: the greeting, the login and its reply, the subscription,
the snapshot and a few calls' events (traffic as the protocols' documentation shows it; see
``tests/adapters/data/README.md`` of the client tests for the captures cited). The command line
runs in-process with an injected clock (``clirun.invoke``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from adapters.bootstrap import open_call_store
from adapters.call_sink import StoringSink, directory_for
from core.aggregates.context import Actor
from core.calls.attribution import Attribution
from core.calls.events import (
    CallEnded,
    CallEvent,
    CallStarted,
    EndpointStateChanged,
    LegAnswered,
    LegEnded,
    LegRinging,
    VoicemailReached,
)
from core.clock import SteppingClock
from tests.adapters.call_sql import query, sql
from tests.adapters.clirun import invoke
from tests.adapters.loopback import LoopbackServer
from tests.adapters.test_cli import ADMIN, DATA

TENANT = "nordic-dental"
CONFIRMED_AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
"""Tuesday 10:00 in Stockholm: the calls' day."""
ANN, DMYTRO, RECEPTION, UNKNOWN = "+46812345670", "+46701234567", "+46812345600", "+46899999999"


def run(db: Path, *args: str, actor: str = ADMIN, at: datetime = DAY + timedelta(days=1)) -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", actor, "--pbx-directory", str(DATA / "pbx_directory.toml"), *args],
                    clock=SteppingClock(at), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def confirm_live(db: Path) -> int:
    """Record the sample tenant's latest version as live since ``CONFIRMED_AT``; its version."""
    code, out, err = run(db, "table", "--tenant", TENANT, "--desired", "--json", at=CONFIRMED_AT)
    assert code == 0, err
    version = json.loads(out)["version"]
    code, _, err = run(db, "provision", "confirm", "--tenant", TENANT, "--version", str(version), at=CONFIRMED_AT)
    assert code == 0, err
    return int(version)


def store(db: Path, events: Sequence[CallEvent], tenant: str | None = None) -> StoringSink:
    """Store events as an ingest would (as the tenant's administrator)."""
    from adapters.bootstrap import build_app

    app = build_app(db, clock=SteppingClock(DAY))
    try:
        directory = directory_for(app, Actor(ADMIN), tenant)
    finally:
        app.close()
    calls = open_call_store(db)
    sink = StoringSink(calls, Attribution(directory, tenant=tenant, known_call=calls.tenant_of_call), batch_size=3)
    sink.add(events)
    sink.close()
    calls.close()
    return sink


def at(seconds: float) -> datetime:
    return DAY + timedelta(seconds=seconds)


def call(call_id: str, dialled: str, *more: CallEvent, start: float = 0, end: float = 60, cause: int = 16) -> list[CallEvent]:
    return [CallStarted(pbx="stockholm", at=at(start), call_id=call_id, dialled=dialled, caller="+441234567890",
                        key=f"{call_id}:start"),
            *more,
            CallEnded(pbx="stockholm", at=at(end), call_id=call_id, cause=cause, key=f"{call_id}:end")]


def answered_by(call_id: str, endpoint: str, when: float, kind: str = "extension", **more: object) -> list[CallEvent]:
    return [LegRinging(pbx="stockholm", at=at(when - 3), call_id=call_id, leg=f"{call_id}-{endpoint}", endpoint=endpoint,
                       key=f"{call_id}:{endpoint}:ring", **more),  # type: ignore[arg-type]
            LegAnswered(pbx="stockholm", at=at(when), call_id=call_id, leg=f"{call_id}-{endpoint}", endpoint=endpoint,
                        answered_by=kind, key=f"{call_id}:{endpoint}:answer", **more)]  # type: ignore[arg-type]


# -- Asterisk manager (AMI) ---------------------------------------------------------------------------------------------


def ami_frame(*pairs: tuple[str, str]) -> bytes:
    return b"".join(f"{key}: {value}\r\n".encode() for key, value in pairs) + b"\r\n"


def ami_event(name: str, seconds: float, **fields: str) -> bytes:
    """An event with ``Timestamp`` (``timestampevents = yes`` in manager.conf), field names as Asterisk writes them."""
    return ami_frame(("Event", name), ("Privilege", "call,all"), ("Timestamp", f"{at(seconds).timestamp():.6f}"),
                     *((key.replace("__", "-"), value) for key, value in fields.items()))


def ami_call(linkedid: str, dialled: str, agent: str, status: str, start: float) -> list[bytes]:
    """A call from a trunk to ``dialled`` that dials ``agent``'s phone: ``DialStatus`` ANSWER (then talk) or another."""
    caller = {"Channel": f"PJSIP/trunk-{linkedid}", "Uniqueid": linkedid, "Linkedid": linkedid, "CallerIDNum": "+441234567890",
              "Exten": dialled}
    dest = f"{linkedid}9"
    dial = {**caller, "DestChannel": f"PJSIP/{agent}-{dest}", "DestUniqueid": dest, "DestLinkedid": linkedid, "DialString": agent}
    frames = [ami_event("Newchannel", start, ChannelState="0", **caller),
              ami_event("DialBegin", start + 1, **dial),
              ami_event("DialEnd", start + (5 if status == "ANSWER" else 20), DialStatus=status, **dial)]
    end = start + (65 if status == "ANSWER" else 21)
    frames += [ami_event("Hangup", end, Channel=f"PJSIP/{agent}-{dest}", Uniqueid=dest, Linkedid=linkedid, Cause="16",
                         Cause__txt="Normal Clearing"),
               ami_event("Hangup", end, Cause="16", Cause__txt="Normal Clearing", **caller)]
    return frames


def ami_script(frames: Sequence[bytes], *, login: bool = True) -> list[tuple[str, bytes]]:
    """Banner, login, the snapshot (empty channel and queue lists; 2004's phone unavailable), then ``frames``; close."""
    response = b"Response: Success\r\nActionID: {ActionID}\r\nEventList: start\r\nMessage: will follow\r\n\r\n"
    script: list[tuple[str, bytes]] = [("send", b"Asterisk Call Manager/7.0.3\r\n"), ("expect", b"Action: Login")]
    if not login:
        return [*script, ("send", b"Response: Error\r\nActionID: {ActionID}\r\nMessage: Authentication failed\r\n\r\n"),
                ("close", b"")]
    script += [("send", b"Response: Success\r\nActionID: {ActionID}\r\nMessage: Authentication accepted\r\n\r\n")]
    for action, extra in (("CoreShowChannels", b""), ("QueueStatus", b""),
                          ("DeviceStateList", ami_frame(("Event", "DeviceStateChange"), ("ActionID", "{ActionID}"),
                                                        ("Device", "PJSIP/2004"), ("State", "UNAVAILABLE")))):
        complete = ami_frame(("Event", f"{action}Complete"), ("ActionID", "{ActionID}"), ("EventList", "Complete"))
        script += [("expect", f"Action: {action}".encode()), ("send", response + extra + complete)]
    return [*script, *(("send", frame) for frame in frames), ("close", b"")]


AMI_CALLS = [*ami_call("1764000000.1", ANN, "2001", "ANSWER", 0), *ami_call("1764000000.3", RECEPTION, "2001", "NOANSWER", 120),
             *ami_call("1764000000.5", UNKNOWN, "2001", "ANSWER", 240)]


def ingest_ami(db: Path, script: list[tuple[str, bytes]], *more: str) -> tuple[int, str, str]:
    with LoopbackServer([script], terminator=b"\r\n\r\n") as server:
        result = run(db, "ingest", "ami", "--host", "127.0.0.1", "--port", str(server.port), "--username", "callroute",
                     "--secret", "s3cret", "--pbx", "ast1", "--once", *more)
    assert server.errors == []
    return result


def test_ingest_ami_stores_the_tenants_calls_once_and_counts_the_call_no_tenant_owns(db: Path) -> None:
    code, out, err = ingest_ami(db, ami_script(AMI_CALLS))
    assert code == 0, err
    # The stranger's call (5 events) and 2004's state from the snapshot, heard before any call said whose PBX this is.
    assert out.startswith("ami ast1: 1 connection, ") and "no tenant found, not stored: 6 events (1 call)" in out
    calls = history_json(db)
    assert [(c["call_id"], c["dialled"], c["outcome"], c["answered_by"], c["pbx"]) for c in calls] == [
        ("1764000000.1", ANN, "answered", "2001", "ast1"), ("1764000000.3", RECEPTION, "no_answer", None, "ast1")]
    assert (calls[0]["answered"], calls[0]["duration_seconds"], calls[0]["cause"]) == ("2026-11-24T09:00:05Z", 65.0, 16)
    code, out, err = ingest_ami(db, ami_script(AMI_CALLS))
    assert code == 0 and "0 stored" in out, out + err
    assert history_json(db) == calls


def test_ingest_ami_for_a_named_tenant_stores_presence_too(db: Path) -> None:
    code, out, err = ingest_ami(db, ami_script(AMI_CALLS), "--tenant", TENANT)
    assert code == 0, err
    assert "no tenant found, not stored: 0 events (0 calls)" in out
    calls = open_call_store(db)
    try:
        (presence,) = calls.presence(TENANT)
    finally:
        calls.close()
    assert (presence.endpoint, presence.state) == ("2004", "unavailable")  # type: ignore[union-attr]


def test_a_refused_ami_login_is_one_line_and_exit_2(db: Path) -> None:
    code, out, err = ingest_ami(db, ami_script([], login=False))
    assert code == 2, out + err
    (line,) = err.splitlines()  # the error only: the client's log of the refusal is below the default --log-level error
    assert line.startswith("callroute: error: ") and "refused the login of 'callroute'" in line
    assert "s3cret" not in err + out


def test_an_ami_server_that_cannot_be_reached_is_one_line_and_exit_1(db: Path) -> None:
    code, _, err = run(db, "ingest", "ami", "--host", "127.0.0.1", "--port", "9", "--username", "u", "--secret", "s", "--once")
    assert code == 1 and err.startswith("callroute: error: ") and err.count("\n") == 1


# -- FreeSWITCH event socket ---------------------------------------------------------------------------------------------


def esl_event(**headers: str) -> bytes:
    """One ``text/event-plain`` frame: URL-encoded headers, Content-Length counted in bytes."""
    body = "".join(f"{name.replace('_', '-') if name[0].isupper() else name}: {quote(value, safe='')}\n"
                   for name, value in headers.items()).encode() + b"\n"
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body


def micros(t: datetime) -> str:
    return str(int(t.timestamp() * 1_000_000))


def esl_call(uid: str, dialled: str, agent: str, answered: bool, start: float, cause: str = "NORMAL_CLEARING") -> list[bytes]:
    """A call from outside to ``dialled`` that rings ``agent``: answered and talked, or rung out."""
    a, b = uid, f"{uid}-b"
    frames = [
        esl_event(Event_Name="CHANNEL_CREATE", Event_Date_Timestamp=micros(at(start)), Unique_ID=a, variable_call_uuid=a,
                  Caller_Caller_ID_Number="+441234567890", Caller_Destination_Number=dialled),
        esl_event(Event_Name="CHANNEL_CREATE", Event_Date_Timestamp=micros(at(start + 1)), Unique_ID=b, Other_Type="originator",
                  Other_Leg_Unique_ID=a, Caller_Destination_Number=agent),
    ]
    if answered:
        frames += [
            esl_event(Event_Name="CHANNEL_ANSWER", Event_Date_Timestamp=micros(at(start + 5)), Unique_ID=b),
            esl_event(Event_Name="CHANNEL_HANGUP_COMPLETE", Event_Date_Timestamp=micros(at(start + 65)), Unique_ID=b,
                      Hangup_Cause="NORMAL_CLEARING", Caller_Channel_Answered_Time=micros(at(start + 5))),
        ]
    else:
        frames.append(esl_event(Event_Name="CHANNEL_HANGUP_COMPLETE", Event_Date_Timestamp=micros(at(start + 21)), Unique_ID=b,
                                Hangup_Cause="NO_ANSWER"))
    frames.append(esl_event(Event_Name="CHANNEL_HANGUP_COMPLETE", Event_Date_Timestamp=micros(at(start + 65)), Unique_ID=a,
                            Hangup_Cause=cause, variable_hangup_cause_q850="16"))
    return frames


ESL_CALLS = [*esl_call("f1", ANN, "2001", True, 0), *esl_call("f2", RECEPTION, "2001", False, 120),
             *esl_call("f3", UNKNOWN, "2001", True, 240)]


def esl_script(frames: Sequence[bytes], password: str = "ClueCon") -> list[tuple[str, bytes]]:
    snapshot = b'{"row_count":0}'
    return [
        ("send", b"Content-Type: auth/request\n\n"),
        ("expect", f"auth {password}".encode()),
        ("send", b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"),
        ("expect", b"event plain"),
        ("send", b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n"),
        ("expect", b"api show channels as json"),
        ("send", b"Content-Type: api/response\nContent-Length: %d\n\n" % len(snapshot) + snapshot),
        *[("send", frame) for frame in frames],
        ("close", b""),
    ]


def ingest_esl(db: Path, frames: Sequence[bytes], *more: str, actor: str = ADMIN) -> tuple[int, str, str]:
    with LoopbackServer([esl_script(frames)], terminator=b"\n\n") as server:
        result = run(db, "ingest", "esl", "--host", "127.0.0.1", "--port", str(server.port), "--password", "ClueCon",
                     "--pbx", "fs1", "--once", *more, actor=actor)
    assert server.errors == []
    return result


def history_json(db: Path, *more: str) -> list[dict[str, object]]:
    code, out, err = run(db, "history", "--tenant", TENANT, "--json", *more)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_ingest_esl_stores_the_tenants_calls_once_and_leaves_out_a_call_no_tenant_owns(db: Path) -> None:
    code, out, err = ingest_esl(db, ESL_CALLS)
    assert code == 0, err
    assert out.startswith("esl fs1: 1 connection, "), out + err
    assert "14 events: 9 stored, 0 heard before; no tenant found, not stored: 5 events (1 call)" in out
    calls = history_json(db)
    assert [(c["call_id"], c["dialled"], c["outcome"], c["answered_by"], c["pbx"]) for c in calls] == [
        ("f1", ANN, "answered", "2001", "fs1"), ("f2", RECEPTION, "no_answer", None, "fs1")]
    assert calls[0]["started"] == "2026-11-24T09:00:00Z" and calls[0]["answered"] == "2026-11-24T09:00:05Z"
    assert (calls[0]["duration_seconds"], calls[0]["talk_seconds"], calls[0]["cause"]) == (65.0, 60.0, 16)
    assert calls[1]["missed_by"] == ["2001"]
    # The same traffic again (a reconnect's replay): nothing is stored twice.
    code, out, err = ingest_esl(db, ESL_CALLS)
    assert code == 0, err
    assert "0 stored" in out and "heard before" in out
    assert history_json(db) == calls


def test_ingest_esl_for_a_named_tenant_stores_every_call_for_it(db: Path) -> None:
    code, out, err = ingest_esl(db, ESL_CALLS, "--tenant", TENANT)
    assert code == 0, err
    assert "no tenant found, not stored: 0 events (0 calls)" in out
    assert [c["call_id"] for c in history_json(db)] == ["f1", "f2", "f3"]


def test_ingest_needs_the_right_to_change_the_tenant(db: Path) -> None:
    """Refused before connecting: no server is needed (port 9 has none)."""
    esl = ["ingest", "esl", "--host", "127.0.0.1", "--port", "9", "--password", "ClueCon", "--once"]
    code, _, err = run(db, *esl, "--tenant", TENANT, actor="someone@else.example")
    assert code == 3, err
    assert err.startswith("callroute: error: --tenant nordic-dental:") and err.count("\n") == 1
    code, _, err = run(db, *esl, actor="someone@else.example")
    assert code == 3 and "may change no tenant" in err and err.count("\n") == 1


def test_a_wrong_event_socket_password_is_one_line_and_exit_2(db: Path) -> None:
    script = [("send", b"Content-Type: auth/request\n\n"), ("expect", b"auth"),
              ("send", b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n"), ("close", b"")]
    with LoopbackServer([script], terminator=b"\n\n") as server:
        code, _, err = run(db, "ingest", "esl", "--host", "127.0.0.1", "--port", str(server.port), "--password", "wrong", "--once")
    assert code == 2
    assert err.startswith("callroute: error: ") and "password" in err and err.count("\n") == 1


# -- saved webhooks ------------------------------------------------------------------------------------------------------


def telnyx(event_type: str, seconds: float, leg: str, direction: str, to: str, **more: str) -> str:
    """A Telnyx call control v2 webhook, shaped as in Telnyx's "Receiving Webhooks" documentation."""
    payload = {"call_control_id": f"v2:{leg}", "call_leg_id": leg, "call_session_id": "428c31b6-abf3-3bc1-b7f4-5013ef9657c1",
               "connection_id": "1684641123236054244", "direction": direction, "from": "+441234567890", "to": to,
               "client_state": None, "state": "parked", **more}
    return json.dumps({"data": {"event_type": event_type, "id": f"{event_type}-{leg}", "occurred_at": at(seconds).isoformat(),
                                "payload": payload, "record_type": "event"},
                       "meta": {"attempt": 1, "delivered_to": "https://intake.example/webhooks"}})


TELNYX_CALL = [telnyx("call.initiated", 0, "in-1", "incoming", RECEPTION),
               telnyx("call.initiated", 1, "out-1", "outgoing", "+46701234568"),
               telnyx("call.answered", 6, "out-1", "outgoing", "+46701234568"),
               telnyx("call.hangup", 66, "out-1", "outgoing", "+46701234568", hangup_cause="normal_clearing"),
               telnyx("call.hangup", 66, "in-1", "incoming", RECEPTION, hangup_cause="normal_clearing")]


def test_ingest_webhook_backfills_saved_telnyx_payloads_once(db: Path, tmp_path: Path) -> None:
    lines = tmp_path / "telnyx.jsonl"
    lines.write_text("\n".join(TELNYX_CALL[:3]) + "\n\n")
    array = tmp_path / "telnyx.json"
    array.write_text(json.dumps([json.loads(line) for line in TELNYX_CALL[2:]]))
    code, out, err = run(db, "ingest", "webhook", "--provider", "telnyx", str(lines), str(array))
    assert code == 0, err
    assert out == "webhook telnyx: 6 events: 5 stored, 1 heard before; no tenant found, not stored: 0 events (0 calls)\n"
    (record,) = history_json(db)
    assert (record["dialled"], record["outcome"], record["answered_by"], record["answered_kind"], record["pbx"]) == (
        RECEPTION, "answered", "+46701234568", "number", "telnyx")
    code, out, _ = run(db, "ingest", "webhook", "--provider", "telnyx", str(lines), str(array))
    assert code == 0 and "0 stored, 6 heard before" in out


def test_bad_saved_payloads_are_one_line_each_and_nothing_is_stored(db: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(TELNYX_CALL))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(TELNYX_CALL[0] + "\n" + '{"data": {"event_type": "call.hangup"}}' + "\n" + "{not json\n")
    code, out, err = run(db, "ingest", "webhook", "--provider", "telnyx", str(good), str(bad), str(tmp_path / "missing.json"))
    assert code == 2, out + err
    lines = err.splitlines()
    assert len(lines) == 3 and all(line.startswith("callroute: error: ") for line in lines)
    assert "bad.jsonl: payload 2: " in lines[0] and "bad.jsonl: payload 3: " in lines[1]
    assert "missing.json: cannot be read" in lines[2] and lines[2].endswith("(3 bad payloads, nothing was stored)")
    assert history_json(db) == []


def test_the_webhook_providers_offered_are_the_adapters() -> None:
    from adapters.cli.calls import WEBHOOK_PROVIDERS
    from adapters.pbx.webhooks import PROVIDERS

    assert WEBHOOK_PROVIDERS == PROVIDERS


def test_history_csv_and_text_show_the_same_calls(db: Path) -> None:
    store(db, [*call("c1", RECEPTION, *answered_by("c1", "kyiv-office/101", 30, kind="member", group="reception")),
               *call("c2", "2001", LegRinging(pbx="stockholm", at=at(301), call_id="c2", leg="l", endpoint="2001"),
                     LegEnded(pbx="stockholm", at=at(321), call_id="c2", leg="l", status="no_answer", endpoint="2001"),
                     VoicemailReached(pbx="stockholm", at=at(321), call_id="c2", mailbox="2001"), start=300, end=350)],
          tenant=TENANT)  # an internal call to an extension names no number of a tenant
    code, out, err = run(db, "history", "--tenant", TENANT, "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["call_id"], r["outcome"], r["answered_by"], r["answered_kind"], r["groups"], r["mailbox"]) for r in rows] == [
        ("c1", "answered", "kyiv-office/101", "member", "reception", ""), ("c2", "voicemail", "", "", "", "2001")]
    code, out, err = run(db, "history", "--tenant", TENANT)
    assert code == 0, err
    assert "nordic-dental: 2 calls (1 answered, 1 voicemail)" in out
    assert "kyiv-office/101 (member)" in out and "voicemail 2001" in out and "2026-11-24 10:00:00+01:00" in out


def test_history_since_and_until_pick_calls_by_their_start(db: Path) -> None:
    store(db, [*call("early", ANN, start=0, end=10), *call("late", ANN, start=3600, end=3700)])
    assert [c["call_id"] for c in history_json(db, "--since", "2026-11-24T10:30")] == ["late"]
    assert [c["call_id"] for c in history_json(db, "--until", "2026-11-24T10:30")] == ["early"]
    assert history_json(db, "--since", "2026-11-25") == []
    code, _, err = run(db, "history", "--tenant", TENANT, "--since", "2026-11-25", "--until", "2026-11-24")
    assert code == 2 and "--until" in err


def test_history_needs_read_rights_and_says_so_in_one_line(db: Path) -> None:
    code, _, err = run(db, "history", "--tenant", TENANT, actor="someone@else.example")
    assert code == 3 and err.count("\n") == 1
    code, out, err = run(db, "history", "--tenant", TENANT)
    assert (code, out) == (0, "nordic-dental: no finished calls\n")
    code, _, err = run(db, "history", "--tenant", TENANT, "--json", "--csv")
    assert code == 2 and "cannot be used together" in err


def test_conformance_passes_calls_that_follow_the_live_table(db: Path) -> None:
    confirm_live(db)
    store(db, [*call("c1", RECEPTION, *answered_by("c1", "2001", 10)), *call("c2", "2003", *answered_by("c2", "2002", 10))],
          tenant=TENANT)
    code, out, err = run(db, "conformance", "--tenant", TENANT)
    assert code == 0, err
    assert out.startswith("nordic-dental: 2 calls: 2 as configured, 0 deviate, 0 not checked")


def test_conformance_exits_1_naming_the_rule_a_deviating_call_broke(db: Path) -> None:
    version = confirm_live(db)
    store(db, [*call("c1", "2003", *answered_by("c1", "2003", 10)), *call("c2", RECEPTION, *answered_by("c2", "2001", 10))],
          tenant=TENANT)
    code, out, err = run(db, "conformance", "--tenant", TENANT)
    assert code == 1, err
    assert "1 as configured, 1 deviate" in out
    assert f"call c1 at 2026-11-24 10:00:00+01:00 to 2003: answered 2003 — DEVIATES from live version {version}" in out
    assert "expected: user 2003: forward always — every call goes to extension 2002" in out
    code, out, _ = run(db, "conformance", "--tenant", TENANT, "--json")
    report = json.loads(out)
    assert code == 1 and (report["calls"], report["deviates"], report["evidence"]) == (2, 1, [])
    assert report["deviations"][0]["expected_rule"] == "user 2003: forward always — every call goes to extension 2002"


def test_conformance_reads_presence_for_the_endpoint_states(db: Path) -> None:
    """2004's phone unavailable before the call: seed 000 sends their calls to the mobile, and so the PBX did."""
    confirm_live(db)
    mobile = call("c1", DMYTRO, *answered_by("c1", "+447911123456", 10, kind="number"))
    store(db, mobile)
    code, out, err = run(db, "conformance", "--tenant", TENANT)
    assert code == 1 and "1 deviate" in out, out + err  # without presence, 2004 was to ring
    store(db, [EndpointStateChanged(pbx="stockholm", at=at(-30), endpoint="2004", state="unavailable", key="dev:2004")],
          tenant=TENANT)
    code, out, err = run(db, "conformance", "--tenant", TENANT)
    assert (code, out.splitlines()[0]) == (0, "nordic-dental: 1 calls: 1 as configured, 0 deviate, 0 not checked"), out + err


def test_conformance_reports_evidence_for_a_change_the_pbx_visibly_applies_and_confirms_nothing(db: Path) -> None:
    version = confirm_live(db)
    code, _, err = run(db, "divert", "set", "--tenant", TENANT, "--extension", "2003", "--when", "always", "--to", "off",
                       at=DAY - timedelta(hours=1))
    assert code == 0, err
    store(db, [event for i in range(3)
               for event in call(f"c{i}", "2003", *answered_by(f"c{i}", "2003", 600 * i + 10), start=600 * i, end=600 * i + 60)],
          tenant=TENANT)
    code, out, err = run(db, "conformance", "--tenant", TENANT)
    assert code == 1, err
    assert f"follows version {version + 1}, saved but not confirmed live" in out
    assert (f"evidence: 3 calls from 2026-11-24 10:00:00+01:00 to 2026-11-24 10:20:00+01:00 follow version {version + 1} "
            "(DivertSet") in out
    assert f"callroute provision confirm --tenant {TENANT} --version {version + 1} --at 2026-11-24T09:00:00Z" in out
    code, out, _ = run(db, "pending", "--tenant", TENANT, "--json")
    assert [p["version"] for p in json.loads(out)] == [version + 1]


def test_conformance_says_why_calls_were_not_checked(db: Path) -> None:
    store(db, call("c1", ANN))
    code, out, err = run(db, "conformance", "--tenant", TENANT)
    assert code == 0, err
    assert "not checked: 1 call: no version was confirmed live by then" in out


def test_the_stored_call_events_verify_and_an_edit_breaks_the_chain(db: Path) -> None:
    store(db, [*call("c1", ANN), *call("c2", ANN, start=100, end=160)])
    calls = open_call_store(db)
    report = calls.verify(TENANT)
    assert report.intact and report.events == 4
    calls.close()
    ((body,),) = query(db, "SELECT body FROM call_events WHERE seq = 2")
    sql(db, "UPDATE call_events SET body = ? WHERE seq = 2", body.replace(b"c1", b"c9"))
    calls = open_call_store(db)
    broken = calls.verify(TENANT)
    calls.close()
    assert not broken.intact and broken.problem is not None and broken.problem.startswith("event 2:")


@pytest.mark.parametrize("command", ["history", "conformance"])
def test_reading_calls_of_an_unknown_tenant_is_one_line(db: Path, command: str) -> None:
    code, _, err = run(db, command, "--tenant", "nobody")
    assert code in (2, 3) and err.startswith("callroute: error: --tenant nobody") and err.count("\n") == 1


def test_saved_payloads_nested_too_deep_are_refused_in_one_line_before_any_is_parsed(db: Path, tmp_path: Path) -> None:
    """The limits of every file callroute reads hold for saved webhook bodies too: 100,000 levels ended in RecursionError."""
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(TELNYX_CALL))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = run(db, "ingest", "webhook", "--provider", "telnyx", str(good), str(deep))
    assert code == 2, out + err
    assert err == (f"callroute: error: {deep}: nested more than 64 levels deep (line 1); arrays and objects may nest at most 64 "
                   "levels (nothing was stored)\n")
    assert history_json(db) == []
