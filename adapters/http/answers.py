"""What the HTTP API answers: msgspec Structs around core's own (no second model layer).

Each answer is encoded with msgspec, and the OpenAPI document describes it with msgspec's JSON Schema
of the same Structs (``openapi.py``), so an answer cannot drift from its schema. Every instant of an answer is
given in UTC with a ``Z`` (``encode_answer``), as the command line's ``--json`` gives it, whatever offset it was
stored with (a stored event keeps its own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from adapters.utc import each_leaf, instant_in_utc, written_instant_in_utc
from core.aggregates.provisioning import Confirmation
from core.calls.conformance import CallCheck
from core.projections.history import FieldChange, HistoryEntry
from core.projections.timeline import PendingChange
from core.queries import TenantView
from core.routing import RoutingTable
from core.routing.plan import Node, Step

View = Literal["effective", "desired"]
_ENCODER = msgspec.json.Encoder()


def _written_in_utc(value: Any) -> Any:
    """A plain JSON value of history's (``core.projections.history.plain``: an instant is the text ``isoformat`` wrote)
    with each such instant in UTC with a ``Z``; any other value as it is."""
    return each_leaf(value, written_instant_in_utc)


def changes_in_utc(changes: Any) -> list[FieldChange]:
    """History's field changes with every instant in their values in UTC with a ``Z`` (``plain`` wrote them as text, with
    the offset they were saved with: ``bought_at`` of the demo's extras); the rest as they are."""
    return [msgspec.structs.replace(change, before=_written_in_utc(change.before), after=_written_in_utc(change.after))
            for change in changes]


def history_in_utc(entries: Any) -> list[HistoryEntry]:
    """History's entries, each with its field changes' instants in UTC (``changes_in_utc``)."""
    return [msgspec.structs.replace(entry, changes=tuple(changes_in_utc(entry.changes))) for entry in entries]


def encode_answer(answer: Any) -> bytes:
    """An answer as JSON, every instant in it RFC 3339 in UTC with a ``Z`` (msgspec would write each with its own offset:
    the demo's events were saved at +01:00). Only the answer is normalised; the stored events are not touched."""
    return _ENCODER.encode(each_leaf(msgspec.to_builtins(answer, builtin_types=(datetime,)), instant_in_utc))


class ErrorDetail(msgspec.Struct, frozen=True, omit_defaults=True):
    """Why a request was refused: the HTTP status, a stable rule code, one line of words, and where."""

    status: int
    rule: str
    """``schema``, ``validation``, ``permission_denied``, ``not_found``, ``concurrent_change``, ``store_integrity``..."""
    message: str
    field: str | None = None
    """The field within the command (``target.number``), the query parameter (``at``) or the document (``reason``)."""
    index: int | None = None
    """The index of the refused command in ``commands``."""
    command: str | None = None
    """The refused command's name (``set_divert``)."""


class ErrorAnswer(msgspec.Struct, frozen=True):
    error: ErrorDetail


class Health(msgspec.Struct, frozen=True):
    status: Literal["ok"] = "ok"


class CommandsStored(msgspec.Struct, frozen=True):
    """What a batch stored: each tenant's new version, how many events, and what they were stored with a warning about."""

    versions: dict[str, int]
    events: int
    warnings: tuple[str, ...]
    position: int = 0
    """Where the batch is in the store's log (its highest notification id): send it back as ``X-Callroute-After`` (or
    ``after=``) on a read to have the read wait until the routing projection has processed it (read-your-writes)."""


class TableAnswer(msgspec.Struct, frozen=True):
    tenant: str
    view: View
    at: datetime
    version: int
    table: RoutingTable


class ExplainAnswer(msgspec.Struct, frozen=True):
    tenant: str
    view: View
    at: datetime
    table_version: int
    dialled: str
    caller: str | None
    """The caller id as routing read it (``None``: withheld or none)."""
    presentation: str
    plan: Node
    explanation: tuple[Step, ...]
    rejected_anonymous: bool


class PendingAnswer(msgspec.Struct, frozen=True):
    tenant: str
    at: datetime
    pending: list[PendingChange]
    overdue: int


class HistoryAnswer(msgspec.Struct, frozen=True):
    tenant: str
    changes: list[HistoryEntry]


class AsOfAnswer(msgspec.Struct, frozen=True):
    tenant: str
    at: datetime
    view: View
    version: int
    configuration: TenantView
    routing_table: RoutingTable


class DiffAnswer(msgspec.Struct, frozen=True):
    tenant: str
    from_version: int
    to_version: int
    changes: list[FieldChange]


class RecordVerified(msgspec.Struct, frozen=True):
    """One record's hash chain: intact, or the first event that is not as written."""

    name: str
    events: int
    head: str
    intact: bool
    broken_at: int | None = None
    problem: str | None = None
    detail: str | None = None


ProjectionStatus = Literal["agree", "disagree", "absent", "not_compared"]


class ProjectionRows(msgspec.Struct, frozen=True):
    """How many of the projection's stored rows of each kind were compared with a rebuild from the events (what
    ``callroute audit verify`` prints: ``rows agree (40 change records, 1 confirmation, …)``)."""

    tenants: int
    changes: int
    """Change records (one per saved version)."""
    confirmations: int
    policies: int
    """Provider policies."""
    tables: int
    """Compiled routing tables."""


class VerifyAnswer(msgspec.Struct, frozen=True):
    """``callroute audit verify --tenant``: every chain of the tenant, its projection rows, and the tenant head."""

    tenant: str
    intact: bool
    """Every chain intact and every projection row as the events say."""
    records: list[RecordVerified]
    projection: list[str]
    """One line per projection row that differs from the events (empty unless ``projection_status`` is ``disagree`` or
    ``not_compared``)."""
    projection_status: Annotated[ProjectionStatus, msgspec.Meta(description=(
        "What comparing the projection's stored rows of the tenant with a rebuild from its events found: `agree` (every "
        "row compared is as the events say; how many in projection_rows), `disagree` (a line per row in `projection`), "
        "`absent` (the store keeps no projection rows of the tenant yet: nothing was compared), `not_compared` (the "
        "events are not as written, so nothing can be rebuilt from them)."))]
    projection_rows: Annotated[ProjectionRows | None, msgspec.Meta(description=(
        "How many rows of each kind were compared (null: none were, or a stored row could not be read)."))]
    tenant_head: str
    events: int


class StoreVerifyAnswer(msgspec.Struct, frozen=True):
    """``callroute audit verify --operator`` (an operator's only): every record's chain, every projection row, and the
    store head over every event of the store, as that command prints it (``store head <hex> after N events``)."""

    intact: bool
    """Every chain intact and every projection row as the events say."""
    records: list[RecordVerified]
    """Every record of the store: each tenant, each provisioning record, the access record (tokens)."""
    projection: list[str]
    store_head: str
    """The running head after the last event of the store: keep it, and give it to ``audit verify --expect-head``."""
    events: int
    """How many events the store head covers."""


class WebhookAnswer(msgspec.Struct, frozen=True):
    provider: str
    received: int
    """Call events the webhook mapped to."""
    stored: int
    duplicates: int
    """Events heard before (a provider's retry), not stored again."""
    unattributed: int
    """Events no tenant's numbers claim (yet): held for their call's start, or logged and not stored."""


class TenantSummary(msgspec.Struct, frozen=True):
    """One tenant the principal may read, as ``callroute tenant list`` shows it."""

    slug: str
    name: str
    time_zone: str
    plan: str
    version: int
    modified_on: datetime


class TenantsAnswer(msgspec.Struct, frozen=True):
    """Who the token stands for, the server's "now", and only the tenants that principal may read."""

    principal: str
    operator: bool
    partner: str | None
    now: datetime
    tenants: list[TenantSummary]


class TimelineChange(msgspec.Struct, frozen=True):
    """One saved change (a tenant version) with its deadline under the provider policy then, and when it went live."""

    version: int
    at: datetime
    topic: str
    actor: str
    partner: str | None
    reason: str | None
    deadline: datetime
    live_at: datetime | None
    """The instant the PBX applied it (the first confirmation that covers it); ``None``: not live yet."""
    status: Literal["live", "pending", "overdue", "later"]
    """At the answer's ``at``: live by then, waiting within its deadline, past it, or saved after ``at``."""
    late: bool
    """It went live after its deadline."""


class ZoneOffset(msgspec.Struct, frozen=True):
    """The tenant's UTC offset from ``since`` on (``None``: from before the span), with its abbreviation: DST changes."""

    since: datetime | None
    offset_seconds: int
    abbreviation: str
    dst: bool


class TimelineAnswer(msgspec.Struct, frozen=True):
    """A tenant's saved changes and live confirmations on one time axis, and its zone's offsets over that span."""

    tenant: str
    time_zone: str
    at: datetime
    """The instant the answer is judged at (``at=``, else the server's now): in UTC."""
    desired_version: Annotated[int, msgspec.Meta(description=(
        "The latest version saved by `at` (0: none yet), as effective_version is the one live by `at`; a version saved "
        "after `at` is among `changes` with status `later`, and the tenant's current version is in GET /v1/tenants/{t}."))]
    effective_version: Annotated[int, msgspec.Meta(description=(
        "The highest version confirmed live on the PBX by `at` (0: none confirmed yet)."))]
    changes: list[TimelineChange]
    confirmations: list[Confirmation]
    zone: list[ZoneOffset]


class CallsAnswer(msgspec.Struct, frozen=True):
    """The finished calls the PBXs reported (first ``limit`` in the window), each checked against the live table then."""

    tenant: str
    kept: bool
    """Whether this store keeps call events (an application in memory does not)."""
    calls: list[CallCheck]
    conforms: int
    deviates: int
    unchecked: int
    truncated: bool
    """More calls are in the window than ``limit``: narrow it with ``since`` and ``until``."""


ANSWERS: tuple[type, ...] = (ErrorAnswer, Health, CommandsStored, TableAnswer, ExplainAnswer, PendingAnswer, HistoryAnswer,
                             AsOfAnswer, DiffAnswer, VerifyAnswer, WebhookAnswer, TenantsAnswer, TimelineAnswer, CallsAnswer)
