"""Test-wide setup: quiet structlog (tests that inspect logs use structlog.testing.capture_logs), and the store backend.

``CALLROUTE_TEST_BACKEND=postgres`` runs the suite against a PostgreSQL server (``tests/backends.py``): the one
``CALLROUTE_TEST_POSTGRES`` names, else a throwaway cluster the tests start (``tests/pgserver.py``). Tests marked
``sqlite_only`` are about SQLite files themselves: deselected on that backend, and counted in the summary. A server
that cannot be started fails the tests that need it, with the reason; nothing is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from tests import backends, pgserver

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))

_SQLITE_ONLY: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if backends.BACKEND not in backends.BACKENDS:
        raise pytest.UsageError(f"{backends.ENV_BACKEND}={backends.BACKEND!r}: the backends are {', '.join(backends.BACKENDS)}")
    config.addinivalue_line("markers", "sqlite_only: about SQLite files themselves; deselected on the PostgreSQL backend "
                                       "(CALLROUTE_TEST_BACKEND=postgres), and counted in the summary")
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL test server (started by the tests; a failure if it cannot be)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not backends.POSTGRES:
        return
    kept, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("sqlite_only") else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        _SQLITE_ONLY.extend(item.nodeid for item in deselected)


def pytest_report_header(config: pytest.Config) -> str:
    if backends.POSTGRES:
        return "store backend: postgres (CALLROUTE_TEST_BACKEND=postgres; sqlite_only tests deselected)"
    return "store backend: sqlite"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if backends.POSTGRES:
        files = sorted({nodeid.split("::")[0] for nodeid in _SQLITE_ONLY})
        where = f", in {len(files)} files: {', '.join(files)}" if files else ""
        terminalreporter.write_line(f"store backend postgres: {len(_SQLITE_ONLY)} tests marked sqlite_only were deselected "
                                    f"(about SQLite files themselves){where}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pgserver.PostgresServer]:
    """The PostgreSQL server of the tests (``tests/pgserver.py``); a failure naming why when there is none."""
    try:
        server = pgserver.start()
    except pgserver.ServerUnavailable as exc:
        pytest.fail(f"PostgreSQL test server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        backends.close_pools()
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: pgserver.PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped after the test."""
    backends.track_pools()
    pools = backends.pools()
    name = "callroute_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40] + f"_{id(request) % 100000}"
    postgres_server.drop_database(name)
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        backends.close_pools(keep=pools)
        postgres_server.drop_database(name)


@pytest.fixture(scope="session", autouse=True)
def _store_backend(request: pytest.FixtureRequest) -> Iterator[None]:
    """On the PostgreSQL backend, every store the tests open is a database of the test server (``tests/backends.py``)."""
    if not backends.POSTGRES:
        yield
        return
    try:
        server = request.getfixturevalue("postgres_server")
    except pytest.fail.Exception as exc:  # once for the run, not an error for each of its thousands of tests; a failure
        pytest.exit(f"{exc.msg}: no test can run on {backends.ENV_BACKEND}=postgres", returncode=pytest.ExitCode.TESTS_FAILED)
    backends.install(server)
    try:
        yield
    finally:
        backends.uninstall()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """On the PostgreSQL backend, drop the databases a test made when it ends (those of session fixtures stay)."""
    redirect = backends.redirect()
    if redirect is None:
        yield
        return
    before, pools = set(redirect.databases), backends.pools()
    yield
    redirect.drop(set(redirect.databases) - before, keep=pools)


@pytest.fixture
def sqlite_files() -> Iterator[None]:
    """SQLite paths stay SQLite files for this test, on either backend (``tests/backends.sqlite_files``)."""
    with backends.sqlite_files():
        yield
