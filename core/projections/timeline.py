"""A tenant's timeline: its changes, the PBX's confirmations and the provider policies, by instant.

- desired version at t: the latest version made by t;
- effective version at t: the highest version the PBX confirmed by t;
- pending at t: versions made by t and not yet confirmed by t, each with its deadline
  under the provider policy in force when it was made; overdue when past it.
"""

from __future__ import annotations

import bisect
from datetime import datetime

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
            return self.changes[-1].version if self.changes else 0
        index = bisect.bisect_right(self.change_times, at)
        return self.changes[index - 1].version if index else 0

    def effective_version(self, at: datetime) -> int:
        """The highest version confirmed live by ``at`` (0: nothing confirmed yet)."""
        index = bisect.bisect_right(self.confirmation_times, at)
        return self.confirmations[index - 1].version if index else 0

    def policy_at(self, at: datetime) -> ProviderPolicy:
        """The provider policy in force at ``at``."""
        index = bisect.bisect_right([p.at for p in self.policies], at)
        return self.policies[index - 1].policy if index else ProviderPolicy()

    def pending(self, at: datetime) -> list[PendingChange]:
        """Changes made by ``at`` and not confirmed by ``at``, with their deadlines."""
        live = self.effective_version(at)
        made = bisect.bisect_right(self.change_times, at)
        out = []
        for change in self.changes[live:made]:
            due = deadline(change.at, self.policy_at(change.at))
            out.append(PendingChange(version=change.version, at=change.at, topic=change.topic, actor=change.actor,
                                     reason=change.reason, deadline=due, overdue=due < at))
        return out
