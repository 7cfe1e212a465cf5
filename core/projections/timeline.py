"""A tenant's timeline: its changes, the PBX's confirmations and the provider policies, by instant.

- desired version at t: the latest version made by t;
- effective version at t: the highest version the PBX confirmed by t;
- pending at t: versions made by t and not yet confirmed by t, each with its deadline
  under the provider policy in force when it was made; overdue when past it.

A timeline read back from the projection's store has a ``checker`` (``stored_rows.StoredRows``):
the rows an answer rests on are checked against the stored events before it is given (the
rows read from the store come first; rows added from events read in this process need none).
"""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Any

import msgspec

from core.aggregates.provisioning import Confirmation, ProviderPolicy
from core.projections.deadlines import deadline


class ChangeRecord(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One configuration change of a tenant."""

    # gc=False: scalars only, so the collector need not track the one row every event adds.
    # omit_defaults: most changes have no partner or reason; rows stored with them as nil still decode.
    version: int
    at: datetime
    topic: str
    actor: str
    partner: str | None = None
    reason: str | None = None


class PolicyRecord(msgspec.Struct, frozen=True):
    """A provider policy and the instant it took effect."""

    at: datetime
    policy: ProviderPolicy


class PendingChange(msgspec.Struct, frozen=True):
    """A change not yet confirmed live, its deadline, and whether that has passed."""

    version: int
    at: datetime
    topic: str
    actor: str
    reason: str | None
    deadline: datetime
    overdue: bool


class Timeline:
    """One tenant's changes, confirmations and policies, indexed for look-ups by instant."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.changes: list[ChangeRecord] = []
        self.change_times: list[datetime] = []
        self.confirmations: list[Confirmation] = []
        self.confirmation_times: list[datetime] = []
        self.policies: list[PolicyRecord] = []
        self.checker: Any = None
        """Checks rows read from the projection's store before an answer rests on them (``None``: nothing was read)."""
        self.stored_changes = 0
        """How many of ``changes`` (the first) were read from the store."""
        self.stored_provisioning = False
        """Whether confirmations or policies read from the store are still to be checked."""

    def add_change(self, change: ChangeRecord) -> None:
        self.changes.append(change)
        self.change_times.append(change.at)

    def add_changes(self, changes: list[ChangeRecord]) -> None:
        self.changes.extend(changes)
        self.change_times.extend([change.at for change in changes])

    def add_confirmation(self, confirmation: Confirmation) -> None:
        self.confirmations.append(confirmation)
        self.confirmation_times.append(confirmation.applied_at)

    def desired_version(self, at: datetime | None) -> int:
        """The latest version made by ``at`` (0: the tenant did not exist yet)."""
        if at is None:
            index = len(self.changes)
            if self.checker is not None and index and index <= self.stored_changes:
                self.checker.changes(self, index, index, None)
            return self.changes[-1].version if self.changes else 0
        index = bisect.bisect_right(self.change_times, at)
        if self.checker is not None and index <= self.stored_changes:
            self.checker.changes(self, index, index, at)  # its record and the next event's instant
        return self.changes[index - 1].version if index else 0

    def _check_provisioning(self) -> None:
        if self.checker is not None and self.stored_provisioning:
            self.checker.provisioning(self)

    def effective_version(self, at: datetime) -> int:
        """The highest version confirmed live by ``at`` (0: nothing confirmed yet)."""
        self._check_provisioning()
        index = bisect.bisect_right(self.confirmation_times, at)
        return self.confirmations[index - 1].version if index else 0

    def policy_at(self, at: datetime) -> ProviderPolicy:
        """The provider policy in force at ``at``."""
        self._check_provisioning()
        index = bisect.bisect_right([p.at for p in self.policies], at)
        return self.policies[index - 1].policy if index else ProviderPolicy()

    def pending(self, at: datetime) -> list[PendingChange]:
        """Changes made by ``at`` and not confirmed by ``at``, with their deadlines."""
        live = self.effective_version(at)
        made = bisect.bisect_right(self.change_times, at)
        if self.checker is not None and min(live + 1, made) <= self.stored_changes:
            self.checker.changes(self, live + 1, made, at)  # the records listed, and that none after them was made by ``at``
        out = []
        for change in self.changes[live:made]:
            due = deadline(change.at, self.policy_at(change.at))
            out.append(PendingChange(version=change.version, at=change.at, topic=change.topic, actor=change.actor,
                                     reason=change.reason, deadline=due, overdue=due < at))
        return out
