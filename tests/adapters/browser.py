"""The web page's end-to-end tests' parts: a real ``callroute serve`` process, and Debian's chromium driven by Playwright.

The server is the console script's command line in a process of its own, with the clock fixed through the same
wiring the console script gives the wall clock (``adapters.cli.Wiring``), on a free loopback port. The browser is
the machine's ``/usr/bin/chromium`` (``CALLROUTE_CHROMIUM`` names another), headless, with a fresh profile, no
sandbox, no network of its own; Playwright drives it over CDP and never downloads a browser. A missing chromium or
Playwright fails the tests, naming what to install (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.http_server import serve_command, serve_process
from tests.backends import for_child

CHROMIUM = os.environ.get("CALLROUTE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS_ENV = "CALLROUTE_WEB_SCREENSHOTS"
"""A folder for the screenshots of every page the tests visit (default: the test run's temporary folder)."""



@contextmanager
def callroute_serve(db: Path, now: datetime) -> Iterator[str]:
    """``callroute serve --port 0`` on ``db`` with its clock at ``now``, for the block; its base URL."""
    env = {**os.environ, "CALLROUTE_DB": for_child(db)}  # the database's URL on the PostgreSQL backend (tests/backends.py)
    command = serve_command(now, "--host", "127.0.0.1", "--port", "0")
    with serve_process(command, env, cwd=Path(__file__).resolve().parents[2]) as (_, url):
        yield url


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here (``None``: they can)."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return (f"no chromium at {CHROMIUM}: install Debian's (apt-get install chromium chromium-driver; .ci/run does when it "
                f"is missing), or name one in CALLROUTE_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: pip install -e '.[test]' (never playwright install: chromium is Debian's)"
    return None


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless chromium with a fresh profile at ``profile``; fails the test, with the reason, when there is none."""
    problem = chromium_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
            locale="en-GB", timezone_id="UTC", service_workers="block")
        try:
            yield context
        finally:
            context.close()


def screenshots_folder(default: Path) -> Path:
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
