"""``callroute serve`` as a process of its own: it serves the store of ``CALLROUTE_DB`` and stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.adapters.http_server import SLUG, bearer, prepare
from tests.backends import for_child


@pytest.mark.slow
def test_callroute_serve_answers_on_its_port_and_stops_on_sigterm(db: Path) -> None:
    prepare(db)
    env = {**os.environ, "CALLROUTE_DB": for_child(db)}  # the database's URL on the PostgreSQL backend
    process = subprocess.Popen([sys.executable, "-m", "adapters.cli", "serve", "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            found = re.search(r"serving .* on (http://\S+)", line)
            url = found[1] if found else None
            assert line or process.poll() is None, "the server ended before it served"
        assert url is not None
        health = httpx.get(f"{url}/healthz", timeout=10)
        tenant = httpx.get(f"{url}/v1/tenants/{SLUG}", headers=bearer("admin"), timeout=10)
        assert (health.status_code, tenant.status_code) == (200, 200)
        assert tenant.json()["slug"] == SLUG
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
