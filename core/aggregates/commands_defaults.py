"""The tenant's commands on its own settings: its name, closing it, call-handling defaults and unassigned numbers."""

from __future__ import annotations

from core.aggregates.chained import command
from core.aggregates.commands_base import TenantCommands
from core.aggregates.handling import ApplyTo, CallHandling
from core.aggregates.targets import UnassignedHandling
from core.errors import ValidationFailed


class DefaultCommands(TenantCommands):
    """Commands on the tenant as a whole (mixed into ``Tenant``)."""

    # -- tenant ------------------------------------------------------------------------

    @command
    def rename(self, name: str) -> None:
        """Give the tenant a new display name."""
        if not name.strip():
            raise ValidationFailed("a tenant name must not be blank", field="name")
        self._renamed(name=name.strip())

    @command
    def close(self) -> None:
        """Close the tenant: its history stays, no further change is accepted."""
        self._closed()

    # -- tenant defaults (seed 001 "Samtalsstyrning") -----------------------------------

    @command
    def set_default(self, changes: CallHandling, apply_to: ApplyTo, transcription_users_may_change: bool | None = None) -> None:
        """Set tenant call-handling defaults and choose which users they reach."""
        names = changes.set_fields()
        if not names and transcription_users_may_change is None:
            raise ValidationFailed("no default value given", field="changes")
        normal = {name: self._destination(getattr(changes, name), field=name) for name in names}
        self._default_set(
            changes=CallHandling(**normal), apply_to=apply_to, transcription_users_may_change=transcription_users_may_change
        )

    @command
    def set_unassigned_handling(self, handling: UnassignedHandling) -> None:
        """What callers of a tenant number that nobody answers to hear or reach."""
        self._unassigned_set(handling=self._destination(handling, field="handling"))
