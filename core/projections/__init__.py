"""Read models built only from the events of the write model.

They read the event store (notifications, an aggregate's events, the tenant at a
version) and the routing layer below them (``core.routing``: the compiled table, plans);
never an application query or service. Adapters and the simulator use what is listed
in ``__all__``.
"""

from core.projections.compare import Possible, RecordedCall, allows, describe_possible, possible_outcomes
from core.projections.deadlines import deadline, next_opening
from core.projections.history import FieldChange, HistoryEntry, plain, short, state_changes, tenant_history
from core.projections.reader import EventReader
from core.projections.routing import RoutingProjection
from core.projections.store import LoadedProjection, MemoryProjectionStore, ProjectionBatch, ProjectionStore
from core.projections.timeline import ChangeRecord, PendingChange, PolicyRecord, Timeline

__all__ = [
    "ChangeRecord",
    "EventReader",
    "FieldChange",
    "HistoryEntry",
    "LoadedProjection",
    "MemoryProjectionStore",
    "PendingChange",
    "PolicyRecord",
    "Possible",
    "ProjectionBatch",
    "ProjectionStore",
    "RecordedCall",
    "RoutingProjection",
    "Timeline",
    "allows",
    "deadline",
    "describe_possible",
    "next_opening",
    "plain",
    "possible_outcomes",
    "short",
    "state_changes",
    "tenant_history",
]
