"""Bearer tokens: ``callroute token create`` prints one that the server takes, ``revoke`` makes it 401, ``list`` shows no secret."""

from __future__ import annotations

import json
from pathlib import Path

from core.aggregates.tokens import token_hash
from tests.adapters.clirun import invoke
from tests.adapters.http_server import ADMIN, SLUG, running
from tests.backends import stored_events

TENANT = f"/v1/tenants/{SLUG}"


def cli(db: Path, *args: str) -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", "ops@platform.example", *args])
    return result.exit_code, result.stdout, result.stderr


async def test_a_created_token_is_taken_until_it_is_revoked(db: Path) -> None:
    import httpx

    code, out, err = cli(db, "token", "create", "--principal", ADMIN, "--reason", "integration")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("crt_") and "\n" not in secret
    token_id = secret.split("_")[1]
    states = b"".join(state for *_, state in stored_events(db))  # only the hash is stored, never the token (either backend)
    assert secret.encode() not in states and token_hash(secret).encode() in states
    async with running(db) as url, httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as http:
        before = await http.get(TENANT)
        code, out, err = cli(db, "token", "revoke", "--id", token_id)  # another writer: the server must follow it
        assert code == 0, err
        after = await http.get(TENANT)
    assert before.status_code == 200
    assert after.status_code == 401 and after.json()["error"]["message"] == "the bearer token is unknown or was revoked"


def test_token_list_shows_ids_and_principals_but_no_secret(db: Path) -> None:
    code, secret, _ = cli(db, "token", "create", "--principal", "pat@phoneline.example", "--partner", "phoneline-plus")
    assert code == 0
    code, out, _ = cli(db, "token", "list", "--json")
    (grant,) = json.loads(out)
    assert (grant["principal"], grant["partner"], grant["operator"], grant["issued_by"]) == (
        "pat@phoneline.example", "phoneline-plus", False, "ops@platform.example")
    assert secret.strip() not in out and "hash" not in out


def test_revoking_an_unknown_token_or_a_bad_principal_is_refused(db: Path) -> None:
    code, _, err = cli(db, "token", "revoke", "--id", "0123456789abcdef")
    assert code == 2 and "no token '0123456789abcdef'" in err
    code, _, err = cli(db, "token", "create", "--principal", "bad\u202ename")
    assert code == 2 and "--principal" in err


def test_the_access_record_verifies_with_the_store(db: Path) -> None:
    assert cli(db, "token", "create", "--principal", ADMIN)[0] == 0
    code, out, _ = cli(db, "--operator", "audit", "verify")
    assert code == 0, out
    assert "access record: intact, 2 events" in out
