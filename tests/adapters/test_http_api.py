"""The HTTP API through real requests to a hypercorn trio server on loopback: every endpoint, scoping, errors, limits."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.http import Limits
from core.clock import SteppingClock
from tests.adapters.clirun import NOW
from tests.adapters.http_server import ADMIN, SLUG, client, prepare, running
from tests.backends import stored_event_count

TENANT = f"/v1/tenants/{SLUG}"
DIVERT = {"command": "set_divert", "tenant": SLUG, "extension": "2002", "condition": "no_answer", "ring_seconds": 20,
          "target": {"kind": "voicemail"}}


@pytest.fixture
def store(db: Path) -> Path:
    return prepare(db)


def stored_events(db: Path) -> int:
    return stored_event_count(db)  # the file's, or on the PostgreSQL backend its database's (tests/backends.py)


async def test_health_and_the_openapi_document_name_every_endpoint(store: Path) -> None:
    async with running(store) as url, client(url) as http:
        health = await http.get("/healthz")
        document = (await http.get("/openapi.json")).json()
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert set(document["paths"]) == {
        "/healthz", "/v1/commands", TENANT.replace(SLUG, "{tenant}"), *(f"/v1/tenants/{{tenant}}/{p}" for p in (
            "table", "explain", "pending", "history", "as-of", "diff", "verify", "timeline", "calls")), "/v1/webhooks/{provider}",
        "/v1/tenants", "/v1/verify"}
    assert document["paths"]["/v1/commands"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CommandFile"}


async def test_every_read_endpoint_answers_the_tenants_admin(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        view = await http.get(TENANT)
        desired = await http.get(f"{TENANT}/table", params={"view": "desired"})
        effective = await http.get(f"{TENANT}/table")
        explain = await http.get(f"{TENANT}/explain", params={"to": "+46812345601", "from": "441234567890", "digits": "3",
                                                              "at": "2026-11-27T17:59:59+01:00", "view": "desired",
                                                              "busy": "2001,2002"})
        pending = await http.get(f"{TENANT}/pending")
        history = await http.get(f"{TENANT}/history", params={"since": "2026-11-23"})
        as_of = await http.get(f"{TENANT}/as-of", params={"view": "desired"})
        diff = await http.get(f"{TENANT}/diff", params={"from": "1", "to": "2"})
        verify = await http.post(f"{TENANT}/verify")
    version = view.json()["version"]
    assert view.status_code == 200 and view.json()["slug"] == SLUG
    assert desired.status_code == 200 and desired.json()["table"]["version"] == version
    assert effective.status_code == 422 and effective.json()["error"]["field"] == "at"  # nothing confirmed live in the seed
    assert explain.status_code == 200, explain.text
    assert explain.json()["table_version"] == version and explain.json()["explanation"]
    assert pending.status_code == 200 and [p["version"] for p in pending.json()["pending"]] == list(range(1, version + 1))
    assert history.status_code == 200 and len(history.json()["changes"]) == version
    assert as_of.status_code == 200 and as_of.json()["configuration"]["version"] == version
    assert diff.status_code == 200 and diff.json()["changes"]
    body = verify.json()
    assert verify.status_code == 200 and body["intact"] is True and body["records"][0]["name"] == SLUG
    assert len(body["tenant_head"]) == 64


async def test_a_command_file_is_stored_and_answered_with_what_was_stored(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        before = (await http.get(TENANT)).json()["version"]
        stored = await http.post("/v1/commands", json={"commands": [DIVERT], "reason": "lunch rota"})
        after = await http.get(TENANT)
        history = (await http.get(f"{TENANT}/history")).json()["changes"]
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"versions": {SLUG: before + 1}, "events": 1, "warnings": [], "position": stored_events(store)}
    assert after.json()["version"] == before + 1
    assert (history[-1]["event"], history[-1]["actor"], history[-1]["reason"]) == ("DivertSet", ADMIN, "lunch rota")


async def test_a_schema_error_names_the_index_field_and_rule_and_stores_nothing(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        before = stored_events(store)
        refused = await http.post("/v1/commands", json={"commands": [DIVERT, {**DIVERT, "ring_seconds": 2000}]})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["index"], error["field"], error["rule"]) == (1, "ring_seconds", "schema")
    assert error["message"].startswith("commands[1].ring_seconds: ")
    assert stored_events(store) == before


async def test_a_broken_rule_names_the_command_field_and_rule_and_stores_nothing(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        before = stored_events(store)
        refused = await http.post("/v1/commands", json={"commands": [DIVERT, {**DIVERT, "extension": "9999"}]})
    error = refused.json()["error"]
    assert refused.status_code == 422
    assert (error["index"], error["field"], error["rule"], error["command"]) == (1, "extension", "unknown_extension", "set_divert")
    assert stored_events(store) == before


async def test_an_auditor_may_read_but_a_change_is_403(store: Path) -> None:
    async with running(store) as url, client(url, "auditor") as http:
        read = await http.get(TENANT)
        refused = await http.post("/v1/commands", json={"commands": [DIVERT]})
        verify = await http.post(f"{TENANT}/verify")
    assert read.status_code == 200 and verify.status_code == 200
    assert refused.status_code == 403 and refused.json()["error"]["rule"] == "permission_denied"


OTHER = "nordic-dentax"
"""A tenant that does not exist, as long a name as the sample tenant's (so the answers are the same length too)."""


ENDPOINTS = [
    ("GET", "", {}), ("GET", "/table", {}), ("GET", "/explain", {"params": {"to": "2001"}}), ("GET", "/pending", {}),
    ("GET", "/history", {}), ("GET", "/as-of", {}), ("GET", "/diff", {"params": {"from": "1", "to": "2"}}),
    ("POST", "/verify", {}), ("POST", "commands", {}),
]


async def test_a_tenant_the_principal_may_not_read_answers_exactly_as_one_that_does_not_exist(store: Path) -> None:
    async with running(store) as url, client(url, "outsider") as http, client(url, "auditor") as auditor:
        for method, path, extra in ENDPOINTS:
            answers = []
            for slug in (SLUG, OTHER):
                if path == "commands":
                    response = await http.post("/v1/commands", json={"commands": [{**DIVERT, "tenant": slug}]})
                else:
                    response = await http.request(method, f"/v1/tenants/{slug}{path}", **extra)  # type: ignore[arg-type]
                headers = {k: v for k, v in response.headers.items() if k != "date"}
                answers.append((response.status_code, headers, response.content.replace(slug.encode(), b"<slug>")))
            assert answers[0] == answers[1], (method, path)
            assert answers[0][0] == 404, (method, path)
            assert json.loads(answers[0][2])["error"]["rule"] == "tenant_not_found"
            if path != "commands":  # the same request by a principal who may read it is answered (the test can fail)
                allowed = await auditor.request(method, f"/v1/tenants/{SLUG}{path}", **extra)  # type: ignore[arg-type]
                assert allowed.status_code in (200, 422), (method, path, allowed.text)


async def test_an_operator_is_told_a_tenant_does_not_exist(store: Path) -> None:
    async with running(store) as url, client(url, "operator") as http:
        missing = await http.get(f"/v1/tenants/{OTHER}")
        found = await http.get(TENANT)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == f"no tenant {OTHER!r}"
    assert found.status_code == 200


async def test_no_token_an_unknown_one_or_a_malformed_header_is_401(store: Path) -> None:
    async with running(store) as url, client(url) as http:
        none = await http.get(TENANT)
        unknown = await http.get(TENANT, headers={"Authorization": "Bearer crt_00000000000000a1_not-the-secret"})
        basic = await http.get(TENANT, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    for response in (none, unknown, basic):
        assert response.status_code == 401 and response.json()["error"]["rule"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_oversized_body_is_413_and_stores_nothing(store: Path) -> None:
    async with running(store, limits=Limits(max_body_bytes=4096)) as url, client(url, "admin") as http:
        before = stored_events(store)
        big = json.dumps({"commands": [DIVERT], "reason": "x" * 400} | {"padding": "y" * 5000}).encode()
        refused = await http.post("/v1/commands", content=big, headers={"Content-Type": "application/json"})
    assert refused.status_code == 413 and refused.json()["error"]["rule"] == "body_too_large"
    assert refused.json()["error"]["message"] == "body: larger than the 4,096-byte limit for a request body"
    assert stored_events(store) == before


async def test_a_method_a_path_does_not_take_is_405_as_the_readmes_status_table_says(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        refused = await http.get(f"{TENANT}/verify")
    assert refused.status_code == 405
    assert (refused.json()["error"]["rule"], refused.json()["error"]["message"]) == (
        "method_not_allowed", f"GET is not allowed on {TENANT}/verify")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    statuses = readme.split("### Status codes", 1)[1].split("\n### ", 1)[0]
    assert re.search(r"^\| 405 \|.*`method_not_allowed`", statuses, re.MULTILINE), "README's status table lacks 405"


async def test_a_json_body_nested_too_deep_names_arrays_and_objects(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        refused = await http.post("/v1/commands", content=b"[" * 65 + b"]" * 65, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == ("body: nested more than 64 levels deep (line 1); arrays and objects may "
                                                  "nest at most 64 levels")


@pytest.mark.parametrize(("body", "rule"), [
    ("[" * 65 + "]" * 65, "too_deep"),
    ('{"commands": [], "commands": []}', "duplicate_key"),
    ('{"commands": [', "not_json"),
])
async def test_a_malformed_body_is_400_naming_the_rule(store: Path, body: str, rule: str) -> None:
    async with running(store) as url, client(url, "admin") as http:
        refused = await http.post("/v1/commands", content=body.encode(), headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["error"]["rule"] == rule


async def test_a_body_that_is_not_json_is_415(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        refused = await http.post("/v1/commands", content=b"commands = []", headers={"Content-Type": "application/toml"})
    assert refused.status_code == 415


async def test_a_file_whose_actor_is_not_the_tokens_principal_is_refused(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        refused = await http.post("/v1/commands", json={"actor": {"principal": "someone@else.example"}, "commands": [DIVERT]})
    assert refused.status_code == 422
    assert (refused.json()["error"]["rule"], refused.json()["error"]["field"]) == ("actor_mismatch", "actor.principal")


async def test_a_change_that_outlasts_the_retries_is_409_and_stores_nothing(store: Path) -> None:
    behind = SteppingClock(NOW - timedelta(days=1))  # every try is dated before the tenant's last change
    async with running(store, clock=behind) as url, client(url, "admin") as http:
        before = stored_events(store)
        refused = await http.post("/v1/commands", json={"commands": [DIVERT]})
    assert refused.status_code == 409
    assert refused.json()["error"]["rule"] == "concurrent_change"
    assert stored_events(store) == before


async def test_a_query_parameter_that_cannot_be_read_is_named(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        at = await http.get(f"{TENANT}/table", params={"at": "yesterday-ish", "view": "desired"})
        view = await http.get(f"{TENANT}/table", params={"view": "sideways"})
        busy = await http.get(f"{TENANT}/explain", params={"to": "2001", "busy": "7777", "view": "desired"})
        diff = await http.get(f"{TENANT}/diff", params={"from": "1"})
    assert [(r.status_code, r.json()["error"]["field"]) for r in (at, view, busy, diff)] == [
        (422, "at"), (422, "view"), (422, "busy"), (422, "to")]


async def test_a_request_past_its_time_limit_is_503(store: Path) -> None:
    async with running(store, limits=Limits(request_seconds=1e-9)) as url, client(url, "admin") as http:
        slow = await http.get(TENANT)
    assert slow.status_code == 503 and slow.json()["error"]["rule"] == "timeout"


@pytest.mark.sqlite_only  # edits the SQLite file's rows; see tests/backends.py
async def test_a_store_that_is_not_what_was_written_is_500_pointing_at_verify(store: Path) -> None:
    from tests.tampering import middle_deletion

    middle_deletion(store)  # the sample tenant's event 20 is gone
    async with running(store) as url, client(url, "admin") as http, client(url, "operator") as ops:
        refused = await http.get(TENANT)
        told = await ops.get(TENANT)
        verify = await ops.post(f"{TENANT}/verify")
    assert refused.status_code == 500
    assert refused.json()["error"]["rule"] == "store_integrity" and "audit verify" in refused.json()["error"]["message"]
    assert "version 20" not in refused.json()["error"]["message"]  # which record: for an operator only
    assert told.status_code == 500 and "version 20" in told.json()["error"]["message"]
    assert verify.status_code == 200 and verify.json()["intact"] is False
    assert verify.json()["records"][0]["problem"] == "missing"
    assert (verify.json()["projection_status"], verify.json()["projection_rows"]) == ("not_compared", None)




def _instants(value: object, where: str = "$") -> list[tuple[str, str]]:
    """Every string within a JSON answer that reads as an instant (an aware datetime), with where it is."""
    from datetime import datetime

    if isinstance(value, dict):
        return [i for key, item in value.items() for i in _instants(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [i for index, item in enumerate(value) for i in _instants(item, f"{where}[{index}]")]
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return []
        return [(where, value)] if parsed.tzinfo is not None else []
    return []


async def test_every_instant_of_every_answer_is_in_utc_with_a_z(tmp_path: Path) -> None:
    """The demo's events were saved with Stockholm's offset, a change through the API with UTC's: every answer gives
    each instant as RFC 3339 in UTC with a ``Z`` (as the command line's ``--json``), whichever offset it was stored with."""
    from tests.adapters.web_store import SERVER_NOW, build_web_store

    store = build_web_store(tmp_path / "web.sqlite")  # the demo's week (its events at +01:00), a confirmation, three calls
    async with running(store, clock=SteppingClock(SERVER_NOW, timedelta(seconds=1))) as url, client(url, "admin") as http:
        stored = await http.post("/v1/commands", json={"commands": [DIVERT], "reason": "lunch rota"})
        reads = {path: await http.get(path, params=params) for path, params in [
            ("/v1/tenants", {}), (TENANT, {}), (f"{TENANT}/table", {"view": "desired"}), (f"{TENANT}/table", {}),
            (f"{TENANT}/explain", {"to": "2003", "at": "2026-11-18T10:00"}), (f"{TENANT}/pending", {}),
            (f"{TENANT}/history", {}), (f"{TENANT}/as-of", {"at": "2026-11-20T18:00"}), (f"{TENANT}/diff", {"from": "1", "to": "40"}),
            (f"{TENANT}/timeline", {"at": "2026-11-20"}), (f"{TENANT}/calls", {})]}
        reads["verify"] = await http.post(f"{TENANT}/verify")
    answers = {"commands": stored, **reads}
    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(answers, 200)
    found = {path: _instants(r.json()) for path, r in answers.items()}
    offsets = [(path, where, text) for path, instants in found.items() for where, text in instants if not text.endswith("Z")]
    assert offsets == []
    history = [change["at"] for change in reads[f"{TENANT}/history"].json()["changes"]]
    assert history[0] == "2026-11-16T08:00:00Z"  # the demo's first change, saved at 09:00 in Stockholm (+01:00)
    assert history[-1].startswith("2026-11-23T10:00:0")  # the change stored above, at the server's clock (UTC)
    assert all(found[path] for path in ("/v1/tenants", f"{TENANT}/history", f"{TENANT}/as-of", f"{TENANT}/timeline",
                                        f"{TENANT}/calls", f"{TENANT}/pending"))


async def test_verify_says_what_the_projection_was_compared_with_as_audit_verify_prints_it(store: Path) -> None:
    """An empty ``projection`` alone could mean agreement or nothing compared: ``projection_status`` says which, with
    how many rows were compared, the numbers ``callroute audit verify --tenant`` prints."""
    from tests.adapters.test_cli import run

    async with running(store) as url, client(url, "admin") as http:
        before = (await http.post(f"{TENANT}/verify")).json()  # the seeded store keeps no projection yet
        await http.get(f"{TENANT}/pending")  # a read of the projection: it is built, and kept in the store
        answer = (await http.post(f"{TENANT}/verify")).json()
        version = (await http.get(TENANT)).json()["version"]
    code, out, _ = run(store, "audit", "verify", "--tenant", SLUG, actor=ADMIN)
    assert (before["intact"], before["projection_status"], before["projection"], before["projection_rows"]) == (
        True, "absent", [], None)
    rows = answer["projection_rows"]
    assert (answer["intact"], answer["projection_status"], answer["projection"]) == (True, "agree", [])
    assert (rows["tenants"], rows["changes"]) == (1, version)
    assert code == 0 and f"{SLUG}'s rows agree with the events ({rows['changes']} change records, " in out


@pytest.mark.sqlite_only  # edits the SQLite file's rows; see tests/backends.py
async def test_verify_names_a_projection_row_that_disagrees_with_its_events(store: Path) -> None:
    from tests.tampering import projection_change_actor

    async with running(store) as url, client(url, "admin") as http:
        await http.get(f"{TENANT}/pending")  # the projection is built, and kept in the file
        assert (await http.post(f"{TENANT}/verify")).json()["projection_status"] == "agree"
    projection_change_actor(store)  # the last change record reads as made by someone else
    async with running(store) as url, client(url, "operator") as http:
        answer = (await http.post(f"{TENANT}/verify")).json()
    assert (answer["intact"], answer["projection_status"]) == (False, "disagree")
    assert answer["projection_rows"]["changes"] >= 1 and any("actor" in line for line in answer["projection"])


async def test_a_projection_that_cannot_be_rebuilt_is_a_disagreement_named_as_audit_verify_names_it(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What stops the rebuild (here a fault put in its place) is one line of ``projection``, as on the command line,
    never a 500: the events were verified, and it is the projection that cannot be judged."""
    import core.projections.check
    from tests.adapters.test_cli import run

    def cannot(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no rows for this version")

    async with running(store) as url, client(url, "admin") as http:
        await http.get(f"{TENANT}/pending")  # the projection is built, and kept in the store
        monkeypatch.setattr(core.projections.check, "check_projection", cannot)
        answer = await http.post(f"{TENANT}/verify")
    line = "projection: cannot be rebuilt from the events to compare its rows: no rows for this version"
    assert answer.status_code == 200
    assert (answer.json()["intact"], answer.json()["projection_status"], answer.json()["projection"],
            answer.json()["projection_rows"]) == (False, "disagree", [line], None)
    code, out, _ = run(store, "audit", "verify", "--tenant", SLUG, actor=ADMIN)
    assert code != 0 and line in out
