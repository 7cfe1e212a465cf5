"""Shared fixtures for the core tests: an in-memory app, a stepping clock, an admin actor and tenant "acme"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.aggregates.context import Actor
from core.clock import SteppingClock
from core.service import CallrouteApp

START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


class FakeHasher:
    """A deterministic stand-in for the Argon2 hasher (core draws no salt; the edge supplies the hasher)."""

    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START, timedelta(seconds=1))


@pytest.fixture
def app(clock: SteppingClock) -> CallrouteApp:
    return CallrouteApp({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock, pin_hasher=FakeHasher())


@pytest.fixture
def actor() -> Actor:
    return Actor("admin@acme")


@pytest.fixture
def acme(app: CallrouteApp, actor: Actor) -> str:
    """Tenant "acme" (Europe/London) with users 2001 (Ann) and 2002 (Bob); returns its slug."""
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    app.add_user(actor=actor, tenant="acme", extension="2001", name="Ann Andersson", email="ann@acme.example")
    app.add_user(actor=actor, tenant="acme", extension="2002", name="Bob Berg")
    return "acme"
