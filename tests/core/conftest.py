"""Shared fixtures and helpers for the core tests.

Fixtures: an in-memory app (with a fake PBX directory), a stepping clock, an admin actor,
tenant "acme", linked PBXs and captured structlog entries. Helpers (imported by the test
modules from ``tests.core.conftest``): ``rejected`` (a refused batch, nothing stored),
``events_of``, ``audio_file`` and ``add_audio``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from core import service
from core.aggregates.catalog import AudioFile
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.rules import CloudAccess
from core.clock import SteppingClock
from core.errors import DomainError
from core.service import CallrouteApp, CommandRejected
from core.wiring import wire
from tests import backends

START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
ADMIN = Actor("admin@acme")
"""The principal that creates tenant "acme" and so is its first telephony administrator."""

MALMO = "malmo"
"""A cloud PBX of the fake directory, with members "3001" (Elin) and "3002" (Farid)."""
KYIV = "kyiv-office"
"""A SIP PBX of the fake directory, with internal numbers 101, 102 and 205."""


class FakeHasher:
    """A deterministic stand-in for the Argon2 hasher (core draws no salt; the edge supplies the hasher)."""

    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


class FakeDirectory:
    """The PBX directory port: cloud PBXs with member lists and who may act for them, SIP PBXs with internal numbers.

    Unless ``access`` says otherwise, ``ADMIN`` is the telephony_admin of every cloud PBX too.
    """

    def __init__(
        self,
        cloud: Mapping[str, Mapping[str, str]] | None = None,
        sip: Mapping[str, tuple[str, ...]] | None = None,
        access: Mapping[str, CloudAccess] | None = None,
    ) -> None:
        self.cloud = dict(cloud if cloud is not None else {MALMO: {"3001": "Elin Holm", "3002": "Farid Aziz"}})
        self.sip = dict(sip if sip is not None else {KYIV: ("101", "102", "205")})
        self.access = dict(access) if access is not None else None

    def cloud_members(self, pbx: str) -> Mapping[str, str] | None:
        return self.cloud.get(pbx)

    def cloud_access(self, pbx: str) -> CloudAccess | None:
        if self.access is not None:
            return self.access.get(pbx)
        return CloudAccess(admins={ADMIN.principal: ("telephony_admin",)}) if pbx in self.cloud else None

    def sip_internal_number_exists(self, pbx: str, internal_number: str) -> bool | None:
        numbers = self.sip.get(pbx)
        return None if numbers is None else internal_number in numbers


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START, timedelta(seconds=1))


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def app(clock: SteppingClock, directory: FakeDirectory, request: pytest.FixtureRequest) -> CallrouteApp:
    """The application in memory; on the PostgreSQL backend (``tests/backends.py``), on a new database of the test server."""
    store = request.getfixturevalue("postgres_url") if backends.POSTGRES else None
    return wire(store, clock=clock, pin_hasher=FakeHasher(), directory=lambda _: directory)


@pytest.fixture
def actor() -> Actor:
    return ADMIN


@pytest.fixture
def acme(app: CallrouteApp, actor: Actor) -> str:
    """Tenant "acme" (Europe/London, plan light) with users 2001 (Ann) and 2002 (Bob); returns its slug."""
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    app.add_user(actor=actor, tenant="acme", extension="2001", name="Ann Andersson", email="ann@acme.example")
    app.add_user(actor=actor, tenant="acme", extension="2002", name="Bob Berg")
    return "acme"


@pytest.fixture
def linked(app: CallrouteApp, actor: Actor, acme: str) -> str:
    """Tenant "acme" linked to the cloud PBX ``MALMO`` and the SIP PBX ``KYIV``; returns its slug."""
    app.link_pbx(actor=actor, tenant=acme, pbx=MALMO, kind="cloud", name="Malmö clinic")
    app.link_pbx(actor=actor, tenant=acme, pbx=KYIV, kind="sip", name="Kyiv office")
    return acme


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """structlog entries the app service emits during the test.

    tests/conftest.py filters everything below CRITICAL, and the CLI's ``configure_logging``
    (run by tests/adapters) caches loggers on first use, so the service gets a fresh logger
    under a configuration that lets warnings through to ``capture_logs``.
    """
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG), cache_logger_on_first_use=False)
    monkeypatch.setattr(service, "logger", structlog.get_logger())
    try:
        with capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(**saved)


# -- helpers -----------------------------------------------------------------------------------


@contextmanager
def rejected(
    app: CallrouteApp,
    error: type[BaseException],
    *,
    field: str | None,
    match: str,
    index: int = 0,
) -> Iterator[pytest.ExceptionInfo[CommandRejected]]:
    """Expect the batch to be refused at ``index`` with ``error`` on exactly ``field``, and nothing stored.

    ``field`` is the path inside the refused command as it was sent (``spec.agents[0]``,
    ``target.extension``, ``audio.name``); ``None`` when the error names no field.
    """
    before = app.recorder.max_notification_id()
    with pytest.raises(CommandRejected, match=match) as excinfo:
        yield excinfo
    exc = excinfo.value
    assert isinstance(exc.cause, error), f"cause is {type(exc.cause).__name__}: {exc.cause}"
    assert exc.index == index
    assert exc.field == field
    assert str(exc).startswith(f"commands[{index}]" + (f".{exc.field}" if exc.field else "") + " ")
    expected_rule = error.rule if issubclass(error, DomainError) else "schema"
    assert exc.rule == expected_rule
    assert app.recorder.max_notification_id() == before


def events_of(app: CallrouteApp, slug: str) -> list[Any]:
    return list(app.events.get(tenant_id(slug)))


def audio_file(name: str, *, language: str = "en-GB", digest: str = "a", seconds: float = 4.5) -> AudioFile:
    """An audio file's metadata (``digest``: one hex character repeated into the SHA-256)."""
    return AudioFile(name=name, language=language, source="uploaded", content_sha256=digest * 64, duration_seconds=seconds)


def add_audio(app: CallrouteApp, actor: Actor, tenant: str, *names: str) -> None:
    """Register audio files ``names`` with the tenant (greetings may only name existing files)."""
    for name in names:
        app.add_audio_file(actor=actor, tenant=tenant, audio=audio_file(name))
