"""The web page's server side: its assets (types, security headers, no external URL, shipped as package data) and the
reads it needs beyond the command line's (``GET /v1/tenants``, ``/timeline``, ``/calls``, and an operator's ``POST
/v1/verify``: the store head), through real requests.

The browser itself is driven in ``test_web_browser.py``.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.http.web import CSP, assets
from tests.adapters.clirun import invoke
from tests.adapters.http_server import SLUG, client, prepare, running
from tests.adapters.web_store import OTHER_TENANT, SERVER_NOW, build_web_store
from tests.backends import stored_event_count

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "adapters" / "http" / "web"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


@pytest.fixture
def store(db: Path) -> Path:
    return prepare(db)


@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's week of history with tokens and three calls (``web_store.py``); only read by the tests here."""
    return build_web_store(tmp_path_factory.mktemp("web") / "web.sqlite")


def running_at(db: Path):  # noqa: ANN201 - the server on the web store, its clock at SERVER_NOW
    from datetime import timedelta

    from core.clock import SteppingClock

    return running(db, clock=SteppingClock(SERVER_NOW, timedelta(seconds=1)))


# -- the assets ---------------------------------------------------------------------------------------------------------


def test_every_asset_is_in_the_package_data_of_pyproject() -> None:
    files = {path.name for path in WEB.iterdir() if path.is_file()}
    assert {"index.html", "app.js", "style.css", "timeline.js"} <= files
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["adapters.http"]
    shipped = {name for name in files if any(Path("web", name).match(pattern) for pattern in patterns)}
    assert shipped == files  # a file the patterns leave out would be missing from a non-editable install
    assert set(assets()) == files


def test_no_asset_names_an_external_url_or_loads_anything_but_its_own_files() -> None:
    """No CDN and no network: the only absolute URL is the SVG namespace (a name, never fetched)."""
    namespace = "http://www.w3.org/2000/svg"
    for path in WEB.iterdir():
        text = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"(?i)\b(?:https?|wss?|ftp):\/\/[^\s\"'`)]*", text)) - {namespace}
        assert urls == set(), path.name
        assert not re.search(r"(?i)(src|href)\s*=\s*[\"']\s*//", text), path.name  # protocol-relative
        assert "@import" not in text and "url(" not in text.replace("data:,", ""), path.name
        for imported in re.findall(r"""from\s+["']([^"']+)["']""", text):  # every module import is one of the assets
            assert imported.startswith("./") and (WEB / imported[2:]).is_file(), (path.name, imported)
    index = (WEB / "index.html").read_text()
    assert set(re.findall(r"""(?:src|href)="(/[^"]*)\"""", index)) == {"/web/style.css", "/web/app.js"}


async def test_the_page_and_its_assets_are_served_with_their_types_and_a_policy_of_self_only(store: Path) -> None:
    async with running(store) as url, client(url) as http:  # no token: the page signs in itself
        page = await http.get("/")
        served = {path.name: await http.get(f"/web/{path.name}") for path in WEB.iterdir()}
        missing = await http.get("/web/nothing.js")
        traversal = await http.get("/web/..%2Fapp.py")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.content == (WEB / "index.html").read_bytes()
    assert page.headers["content-security-policy"] == CSP and "script-src 'self'" in CSP and "connect-src 'self'" in CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    for name, response in served.items():
        assert response.status_code == 200, name
        assert response.headers["content-type"].split(";")[0] == TYPES[Path(name).suffix], name
        assert response.content == (WEB / name).read_bytes(), name
    assert missing.status_code == 404 and missing.json()["error"]["rule"] == "not_found"
    assert traversal.status_code == 404


async def test_the_openapi_document_describes_the_pages_reads(store: Path) -> None:
    async with running(store) as url, client(url) as http:
        document = (await http.get("/openapi.json")).json()
    assert {"/v1/tenants", "/v1/tenants/{tenant}/timeline", "/v1/tenants/{tenant}/calls"} <= set(document["paths"])
    assert "/" not in document["paths"]  # the page is not part of the API
    limit = next(p for p in document["paths"]["/v1/tenants/{tenant}/calls"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 2000}


# -- GET /v1/tenants ----------------------------------------------------------------------------------------------------


async def test_the_tenant_list_names_only_what_the_principal_may_read(store: Path) -> None:
    async with running(store) as url, client(url, "auditor") as auditor, client(url, "admin") as admin, \
            client(url, "outsider") as outsider, client(url, "operator") as operator, client(url) as anonymous:
        answers = {who: await http.get("/v1/tenants") for who, http in
                   (("auditor", auditor), ("admin", admin), ("outsider", outsider), ("operator", operator))}
        refused = await anonymous.get("/v1/tenants")
    slugs = {who: [t["slug"] for t in r.json()["tenants"]] for who, r in answers.items()}
    assert slugs["auditor"] == [SLUG]
    assert slugs["outsider"] == []
    assert set(slugs["admin"]) == set(slugs["operator"]) == {SLUG, OTHER_TENANT}
    body = answers["auditor"].json()
    assert (body["principal"], body["operator"]) == ("audrey@nordic-dental.example", False)
    assert body["tenants"][0]["time_zone"] == "Europe/Stockholm" and body["tenants"][0]["version"] > 1
    assert refused.status_code == 401


# -- GET /v1/tenants/{t}/timeline ---------------------------------------------------------------------------------------


async def test_the_timeline_gives_each_change_its_deadline_and_the_instant_it_went_live(web_store: Path) -> None:
    async with running_at(web_store) as url, client(url, "auditor") as http:
        friday = (await http.get(f"/v1/tenants/{SLUG}/timeline", params={"at": "2026-11-20T18:00"})).json()
        sunday = (await http.get(f"/v1/tenants/{SLUG}/timeline", params={"at": "2026-11-22T12:00:00+01:00"})).json()
    changes = {c["version"]: c for c in friday["changes"]}
    assert friday["time_zone"] == "Europe/Stockholm" and friday["at"] == "2026-11-20T17:00:00Z"  # every instant in UTC
    # Both as of ``at``: version 39 saved by Friday 18:00 (40 on the Monday after), version 38 live.
    assert (friday["effective_version"], friday["desired_version"]) == (38, 39)
    assert (sunday["effective_version"], sunday["desired_version"]) == (38, 39)
    assert {c["status"] for v, c in changes.items() if v <= 38} == {"live"}
    assert changes[38]["live_at"] == "2026-11-17T10:00:00Z" and changes[38]["partner"] == "phoneline-plus"
    divert = changes[39]
    assert (divert["topic"], divert["reason"], divert["live_at"], divert["status"]) == (
        "DivertSet", "Carla is back from holiday", None, "pending")
    assert datetime.fromisoformat(divert["deadline"]) == datetime(2026, 11, 21, 16, 30, tzinfo=UTC)
    assert changes[40]["status"] == "later"  # the auditor's grant, saved on the Monday after
    assert {c["version"]: c["status"] for c in sunday["changes"]}[39] == "overdue"
    assert friday["confirmations"] == [{"version": 38, "applied_at": "2026-11-17T10:00:00Z"}]
    # The zone's offsets: CET before the span, then each DST change as an instant (the last Sundays of March and October).
    zone = [(z["since"], z["offset_seconds"], z["abbreviation"], z["dst"]) for z in friday["zone"]]
    assert ("2026-10-25T01:00:00Z", 3600, "CET", False) in zone
    assert ("2027-03-28T01:00:00Z", 7200, "CEST", True) in zone
    assert zone[0][0] is None and all(a[1] != b[1] for a, b in zip(zone, zone[1:], strict=False))


async def test_a_timeline_instant_that_cannot_be_read_is_named(store: Path) -> None:
    async with running(store) as url, client(url, "admin") as http:
        bad = await http.get(f"/v1/tenants/{SLUG}/timeline", params={"at": "last tuesday"})
        twice = await http.get(f"/v1/tenants/{SLUG}/timeline?at=2026-11-20&at=2026-11-21")
        long = await http.get(f"/v1/tenants/{SLUG}/timeline", params={"at": "2" * 200})
    assert (bad.status_code, bad.json()["error"]["field"], bad.json()["error"]["rule"]) == (422, "at", "malformed_instant")
    assert (twice.status_code, twice.json()["error"]["field"]) == (422, "at")
    assert (long.status_code, long.json()["error"]["field"]) == (422, "at")
    assert "length" in long.json()["error"]["message"]


# -- GET /v1/tenants/{t}/calls ------------------------------------------------------------------------------------------


async def test_the_calls_are_each_checked_against_the_table_live_at_their_start(web_store: Path) -> None:
    async with running_at(web_store) as url, client(url, "auditor") as http:
        every = (await http.get(f"/v1/tenants/{SLUG}/calls")).json()
        first = (await http.get(f"/v1/tenants/{SLUG}/calls", params={"limit": "2"})).json()
        friday = (await http.get(f"/v1/tenants/{SLUG}/calls", params={"since": "2026-11-20", "until": "2026-11-21"})).json()
    assert [(c["call_id"], c["verdict"], c["endpoint"]) for c in every["calls"]] == [
        ("c1", "conforms", "2002"), ("c2", "deviates", "2003"), ("c3", "deviates", "2003")]
    assert (every["kept"], every["conforms"], every["deviates"], every["unchecked"], every["truncated"]) == (True, 1, 2, 0, False)
    assert every["calls"][1]["expected_rule"] == "user 2003: forward always — every call goes to extension 2002"
    assert every["calls"][2]["follows_version"] == 39 and every["calls"][1]["follows_version"] is None
    assert [c["call_id"] for c in first["calls"]] == ["c1", "c2"] and first["truncated"] is True
    assert [c["call_id"] for c in friday["calls"]] == ["c3"]


async def test_a_store_without_calls_answers_an_empty_history(store: Path) -> None:
    async with running(store) as url, client(url, "auditor") as http:
        answer = await http.get(f"/v1/tenants/{SLUG}/calls")
    assert answer.status_code == 200
    assert (answer.json()["calls"], answer.json()["deviates"], answer.json()["truncated"]) == ([], 0, False)


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"limit": "0"}, "limit", ">= 1"), ({"limit": "2001"}, "limit", "<= 2000"), ({"limit": "many"}, "limit", "int"),
    ({"since": "soon"}, "since", "not an instant"), ({"since": "2026-11-21", "until": "2026-11-20"}, "until", "before"),
])
async def test_a_calls_parameter_that_cannot_be_read_is_named_with_its_rule(store: Path, params: dict[str, str], field: str,
                                                                            words: str) -> None:
    async with running(store) as url, client(url, "auditor") as http:
        refused = await http.get(f"/v1/tenants/{SLUG}/calls", params=params)
    error = refused.json()["error"]
    assert (refused.status_code, error["field"]) == (422, field)
    assert error["message"].startswith(f"{field}: ") and words in error["message"], error["message"]


# -- POST /v1/verify: the whole store, an operator's only ---------------------------------------------------------------


async def test_an_operator_reads_the_store_head_that_audit_verify_operator_prints(store: Path) -> None:
    async with running(store) as url, client(url, "operator") as operator:
        answer = await operator.post("/v1/verify")
    printed = invoke(["--db", str(store), "--operator", "audit", "verify"])  # the same store, after the server
    assert printed.exit_code == 0, printed.output
    line = next(line for line in printed.stdout.splitlines() if line.startswith("store head "))
    body = answer.json()
    assert answer.status_code == 200, answer.text
    assert f"store head {body['store_head']} after {body['events']:,} events" == line
    assert re.fullmatch(r"[0-9a-f]{64}", body["store_head"]) and body["events"] == stored_event_count(store)
    assert body["intact"] is True and body["projection"] == []
    names = {record["name"] for record in body["records"]}
    assert {SLUG, OTHER_TENANT, "access record"} <= names  # every record of the store, every tenant's
    assert all(record["intact"] for record in body["records"])


async def test_anyone_but_an_operator_is_answered_the_store_verify_exactly_as_a_path_that_does_not_exist(
        store: Path) -> None:
    async with running(store) as url, client(url, "operator") as operator, client(url) as anonymous:
        refusals = {}
        for who in ("admin", "auditor", "outsider"):
            async with client(url, who) as http:
                answers = []
                for path in ("/v1/verify", "/v1/verifx"):  # the operator's read, and a path that does not exist
                    response = await http.post(path)
                    headers = {k: v for k, v in response.headers.items() if k != "date"}
                    answers.append((response.status_code, headers, response.content.replace(path.encode(), b"<path>")))
                refusals[who] = answers
        allowed = await operator.post("/v1/verify")  # the operator is answered: the test can fail
        missing = await operator.post("/v1/verifx")
        no_token = await anonymous.post("/v1/verify")
    for who, (refused, unknown) in refusals.items():
        assert refused == unknown, who
        assert refused[0] == 404 and json.loads(refused[2])["error"]["rule"] == "not_found", who
        assert b"store_head" not in refused[2] and SLUG.encode() not in refused[2]
    assert allowed.status_code == 200 and len(allowed.json()["store_head"]) == 64
    assert missing.status_code == 404
    assert no_token.status_code == 401 and no_token.json()["error"]["rule"] == "unauthorized"


async def test_the_openapi_document_describes_the_store_verify_as_an_operators_only(store: Path) -> None:
    async with running(store) as url, client(url) as http:
        document = (await http.get("/openapi.json")).json()
    operation = document["paths"]["/v1/verify"]["post"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StoreVerifyAnswer"}
    assert "operator" in operation["summary"] and "404" in operation["responses"] and "path that does not exist" in \
        operation["responses"]["404"]["description"]
    assert {"store_head", "events", "records", "intact"} <= set(document["components"]["schemas"]["StoreVerifyAnswer"]["required"])


# -- scoping ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/timeline", "/calls"])
async def test_a_tenant_the_principal_may_not_read_answers_the_pages_reads_exactly_as_one_that_does_not_exist(
        store: Path, path: str) -> None:
    async with running(store) as url, client(url, "auditor") as auditor, client(url, "admin") as admin:
        answers = []
        for slug in (OTHER_TENANT, "nordic-dental-malmx"):  # the Malmö tenant (the auditor's grant is not there), and none
            response = await auditor.get(f"/v1/tenants/{slug}{path}")
            headers = {k: v for k, v in response.headers.items() if k != "date"}
            answers.append((response.status_code, headers, response.content.replace(slug.encode(), b"<slug>")))
        allowed = await admin.get(f"/v1/tenants/{OTHER_TENANT}{path}")  # its admin may: the test can fail
    assert answers[0] == answers[1]
    assert answers[0][0] == 404 and json.loads(answers[0][2])["error"]["rule"] == "tenant_not_found"
    assert allowed.status_code == 200


def test_a_machine_without_chromium_fails_the_browser_tests_naming_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                                  tmp_path: Path) -> None:
    from tests.adapters import browser

    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.fail.Exception, match=r"no chromium at .*no-chromium: install Debian's \(apt-get install chromium"):
        with browser.chromium(tmp_path / "profile"):
            pass
