"""``callroute serve`` as a process of its own: it serves the store of ``CALLROUTE_DB`` and stops on SIGTERM."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from tests.adapters.http_server import SLUG, bearer, prepare, serve_process
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
