"""The configuration a simulation runs against: a ledger in memory, its changes and their provisioning.

The scenario's commands become events in an in-memory eventsourcing store (the same
aggregate and rules as production), confirmed live at the start; changes during the
run are applied at their virtual instants and confirmed after the modelled
provisioning delay. Each call is routed by the table effective at its instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.inputs import InputError, read_document
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.clock import SteppingClock
from core.errors import DomainError, UnknownTenantError
from core.projections import MemoryProjectionStore, RoutingProjection
from core.routing import RoutingTable
from core.service import CallrouteApp
from core.wiring import wire
from simulator.scenario import Scenario, ScenarioError

OPERATOR = Actor(principal="simulator", operator=True)


class _Hasher:
    """Deterministic stand-in for the PIN hasher: a simulation stores no real PIN."""

    def hash(self, pin: str) -> str:
        return "sim-sha256$" + hashlib.sha256(pin.encode()).hexdigest()


class _Directory:
    """Other cloud PBXs are the other tenants of the simulation's own store; SIP PBXs accept any internal number."""

    def __init__(self, app: CallrouteApp) -> None:
        self.app = app

    def cloud_members(self, pbx: str) -> Mapping[str, str] | None:
        try:
            return {ext: user.name for ext, user in self.app.tenant(pbx).state.users.items()}
        except DomainError:
            return None

    def sip_internal_number_exists(self, pbx: str, internal_number: str) -> bool | None:
        return True


class LiveConfig:
    """Desired and effective routing of the simulated tenant over virtual time."""

    def __init__(self, scenario: Scenario, base: Path, *, reader: Actor | None = None) -> None:
        """``reader``: who runs the simulation; a tenant is read from a store (``$.tenant.store``) only if it may read it."""
        self.slug = scenario.tenant.slug
        self.warnings: list[str] = []
        """What the scenario's commands were stored with a warning about, each after where the commands are."""
        self.clock = SteppingClock(scenario.start)
        self.app = wire(None, clock=self.clock, pin_hasher=_Hasher(), directory=_Directory)
        spec = scenario.tenant
        if spec.store is not None:
            self._copy_from_store(Path(base, spec.store.db), spec.store.tenant, reader)
        for index, name in enumerate(spec.commands_files):  # one batch per file: later files may refer to earlier tenants
            path = Path(base, name)
            try:
                document = read_document(path, c.CommandFile)
            except InputError as exc:  # size, UTF-8, nesting, a key given twice, the schema: one line naming the file
                raise ScenarioError(f"{exc} - at `$.tenant.commands_files[{index}]`") from None
            self.apply(scenario.start, list(document.commands), "scenario", field=f"$.tenant.commands_files[{index}]")
        if spec.commands:
            self.apply(scenario.start, list(spec.commands), "scenario", field="$.tenant.commands")
        try:
            version = self.app.tenant(self.slug).version
        except DomainError:
            raise ScenarioError(f"the scenario's commands do not create tenant {self.slug!r} - at `$.tenant.slug`") from None
        self.confirm(scenario.start, version)
        self.projection = RoutingProjection(self.app, MemoryProjectionStore())
        self.projection.catch_up()

    def _copy_from_store(self, path: Path, slug: str, reader: Actor | None) -> None:
        """Copy a tenant's stored events from a SQLite store into the simulation's memory store, if ``reader`` may read it.

        The tenant is read as every read is: loaded through the store's checks (each event's hash and link, its snapshot)
        and refused unless ``reader`` may read it, with ``TenantNotVisibleError``, the same for a tenant that does not
        exist, to anyone but an operator (who is told that there is no such tenant).
        """
        from adapters.bootstrap import is_file_store, store_problem

        if reader is None:
            raise ScenarioError("reading a tenant from a store needs who reads it (run_scenario(..., reader=Actor(...))) "
                                "- at `$.tenant.store`")
        if is_file_store(path) and not path.exists():  # a PostgreSQL database is looked for by store_problem
            raise ScenarioError(f"{path}: no such store - at `$.tenant.store.db`")
        problem = store_problem(path)
        if problem is not None:
            raise ScenarioError(f"{problem} - at `$.tenant.store.db`")
        source = wire(path, clock=self.clock, pin_hasher=_Hasher())
        try:
            try:
                source.get_tenant(slug, reader)
            except UnknownTenantError:  # told only to an operator: anyone else gets the refusal of a tenant it may not read
                raise ScenarioError(f"{path}: no tenant {slug!r} - at `$.tenant.store.tenant`") from None
            events = list(source.recorder.select_events(tenant_id(slug)))
        finally:
            source.close()
        self.app.recorder.insert_events(events)
        last_change = self.app.tenant(slug).modified_on
        if last_change > self.clock.now():
            raise ScenarioError(
                f"tenant {slug!r} in {path} was last changed at {last_change.isoformat()}, after the scenario's start "
                f"{self.clock.now().isoformat()}; start the scenario after it - at `$.start`"
            )

    def apply(self, at: datetime, commands: list[Any], actor: str, *, field: str) -> int:
        """Apply commands at virtual wall instant ``at``; return the tenant's new version (0 if it does not exist yet)."""
        self.clock.set(max(at, self.clock.now()))
        try:
            receipt = self.app.execute(commands, Actor(principal=actor, operator=True))
        except DomainError as exc:
            raise ScenarioError(f"{exc} - at `{field}`") from None
        self.warnings += [f"{field}: {warning}" for warning in receipt.warnings]
        return receipt.versions.get(self.slug, 0)

    def confirm(self, at: datetime, version: int) -> None:
        """The PBX applied everything up to ``version`` at ``at``."""
        self.clock.set(max(at, self.clock.now()))
        record = self.app.provisioning(self.slug)
        if record is not None and record.confirmed is not None and record.confirmed.version >= version:
            return
        self.app.execute([c.ConfirmProvisioning(tenant=self.slug, version=version, applied_at=self.clock.now())], OPERATOR)
        if hasattr(self, "projection"):
            self.projection.catch_up()

    def table_at(self, at: datetime) -> RoutingTable:
        """The table effective at ``at``."""
        table = self.projection.effective(self.slug, at)
        if table is None:  # the initial configuration is confirmed at the start, so only an instant before it
            raise ScenarioError(f"no configuration of {self.slug!r} is live at {at.isoformat()} - at `$.start`")
        return table
