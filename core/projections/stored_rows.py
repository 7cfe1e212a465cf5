"""Timeline rows read back from the projection's store, checked against the stored events as they are served.

The routing projection (``routing.py``) gives a timeline loaded from its store a ``StoredRows`` checker: the change
records a look-up or ``pending`` uses, the tenant's last change (the store must still hold it: a deleted tail), and
the confirmations and policies (against the provisioning record's events). Disagreement raises
``StoreIntegrityError`` naming the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import Confirmation, ProviderPolicySet, ProvisioningConfirmed, provisioning_id
from core.errors import StoreIntegrityError
from core.integrity import checked_events
from core.projections.timeline import ChangeRecord, PolicyRecord, Timeline

if TYPE_CHECKING:
    from core.projections.routing import RoutingProjection


class _ChangeMeta(msgspec.Struct):
    """What the timeline needs of a change, read without decoding the rest of the event."""

    timestamp: datetime
    actor: str
    partner: str | None = None
    reason: str | None = None
    slug: str | None = None


class StoredRows:
    """Checks a tenant's timeline rows read from the projection's store against the stored events, as they are served.

    A row is checked once per process; the cost is that of the rows served (one event each, and the
    event after the last one for a look-up by instant), the provisioning record's events once, and
    one event for the tenant's last change.
    """

    def __init__(self, projection: RoutingProjection, slug: str) -> None:
        self.projection = projection
        self.slug = slug
        self.record = tenant_id(slug)
        self.checked: set[int] = set()
        """Versions whose change records agree with their events."""
        self.next_at: dict[int, datetime | None] = {}
        """Version → the instant of the stored event after it (``None``: none is stored)."""
        self.last_checked = False

    def _fail(self, version: int | None, detail: str) -> StoreIntegrityError:
        return StoreIntegrityError(f"the routing projection's change records of {self.slug}", version, detail)

    def last(self) -> None:
        """The tenant's last change record must agree with the stored event of its version: the store must still hold it."""
        timeline = self.projection.timelines[self.slug]
        last = timeline.changes[-1].version
        if last != len(timeline.changes):
            raise self._fail(last, f"the records are not versions 1 to {len(timeline.changes)} in order")
        self.changes(timeline, last, last, None)
        self.last_checked = True

    def changes(self, timeline: Timeline, first: int, last: int, at: datetime | None) -> None:
        """The records of versions ``first``..``last`` agree with their events; with ``at``, the event after ``last`` is later.

        (So ``last`` is the last version made by ``at``, whatever the other records say: events are stored in time order.)
        """
        wanted = [v for v in range(max(first, 1), last + 1) if v not in self.checked]
        follow = at is not None and last not in self.next_at
        if wanted or follow:
            low = max(wanted[0] if wanted else last, 1)
            high = last + 1 if follow else wanted[-1]
            self._read(timeline, low, high, set(wanted))
        if at is not None:
            after = self.next_at.get(last)
            if after is not None and after <= at:
                raise self._fail(last + 1, f"the stored event of version {last + 1} was made at {after.isoformat()}, by "
                                           f"{at.isoformat()}, but the records say version {last} was the last change by then")

    def _read(self, timeline: Timeline, low: int, high: int, wanted: set[int]) -> None:
        """Read the events ``low``..``high`` (checked), compare the ``wanted`` ones with their records, and note their instants."""
        app, records = self.projection.app, timeline.changes
        seen = low - 1
        for stored, raw, _ in checked_events(app.mapper, app.recorder, self.record, gt=low - 1, lte=high):
            version = seen = stored.originator_version
            meta = msgspec.convert(raw, _ChangeMeta)
            self.next_at[version - 1] = meta.timestamp
            if version in wanted:
                record = records[version - 1] if version <= len(records) else None
                event = ChangeRecord(version, meta.timestamp, stored.topic, meta.actor, meta.partner, meta.reason)
                if record != event:
                    raise self._fail(version, _difference(record, event))
                self.checked.add(version)
        if seen < high:  # the store holds nothing after ``seen``
            if any(version > seen for version in wanted):
                raise StoreIntegrityError(f"tenant {self.slug}", seen + 1, f"the routing projection saw version {seen + 1}, "
                                                                          "which the store no longer holds: events were deleted")
            self.next_at[seen] = None

    def provisioning(self, timeline: Timeline) -> None:
        """The confirmations and policies agree with the provisioning record's events (read once, each checked)."""
        projection = self.projection
        confirmations: list[Confirmation] = []
        policies: list[PolicyRecord] = []
        for stored, _, _ in checked_events(projection.app.mapper, projection.app.recorder, provisioning_id(self.slug)):
            event = projection._reader.decode(stored)  # noqa: SLF001
            if isinstance(event, ProvisioningConfirmed):
                confirmations.append(Confirmation(version=event.version, applied_at=event.applied_at))
            elif isinstance(event, ProviderPolicySet):
                policies.append(PolicyRecord(at=event.timestamp, policy=event.policy))
        for what, rows, events in (("confirmation", timeline.confirmations, confirmations), ("policy", timeline.policies, policies)):
            for index, row in enumerate(rows):
                if index >= len(events):
                    raise StoreIntegrityError(
                        f"the provisioning record of {self.slug}", None,
                        f"the routing projection saw {len(rows)} {what} events, the store holds {len(events)}: "
                        "events were deleted from its end")
                if row != events[index]:
                    raise StoreIntegrityError(f"the routing projection's {what} {index + 1} of {self.slug}", None,
                                              f"{_shown(row)} is not what the provisioning record's event says: {_shown(events[index])}")
        timeline.stored_provisioning = False


def _shown(row: Any) -> str:
    return ", ".join(f"{name} {getattr(row, name)!s}" for name in row.__struct_fields__)


def _difference(record: ChangeRecord | None, event: ChangeRecord) -> str:
    if record is None:
        return "no record of a stored event"
    for name in ChangeRecord.__struct_fields__:
        if getattr(record, name) != getattr(event, name):
            return f"{name} {getattr(record, name)!r} but the event says {getattr(event, name)!r}"
    return "differs from its event"
