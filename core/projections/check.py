"""The routing projection's stored rows against what the (verified) events imply.

The projection's rows (tenant slugs, change records, confirmations, provider policies,
compiled tables) are what readers serve; they are derived from the events, so they can
be derived again and compared. ``check_projection`` rebuilds the projection in memory
from the events up to the stored position (rows a projection that has not caught up
yet lacks are fine) and names every row that differs from the rebuild, is missing, or
is stored though no event implies it: one line each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec

from core.lenient import decode_stored
from core.projections.routing import RoutingProjection
from core.projections.store import LoadedProjection, MemoryProjectionStore
from core.routing import RoutingTable

_TABLE = msgspec.msgpack.Decoder(RoutingTable)
_CHANGE_FIELDS = ("at", "topic", "actor", "partner", "reason")


class ProjectionCheck(msgspec.Struct, frozen=True):
    """What comparing the stored rows with a rebuild found."""

    problems: tuple[str, ...]
    """One line per disagreement (``projection: …``); empty when every row agrees."""
    tenants: int
    changes: int
    confirmations: int
    policies: int
    tables: int
    """How many rows of each kind were compared (within the scope)."""
    more: int = 0
    """Disagreements beyond those listed (``limit``)."""

    @property
    def agrees(self) -> bool:
        """Whether every stored row is what the events imply."""
        return not self.problems


class _RecorderUpTo:
    """The application's recorder, with the notification log ending at ``stop``."""

    def __init__(self, recorder: Any, stop: int) -> None:
        self._recorder = recorder
        self._stop = stop

    def select_notifications(self, start: int, limit: int, stop: int | None = None, topics: Any = (), **kwargs: Any) -> Any:
        stop = self._stop if stop is None else min(stop, self._stop)
        if start > stop:
            return []
        return self._recorder.select_notifications(start, limit, stop, topics, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)


class _UpTo:
    """The application as the projection reads it, with the notification log ending at ``stop``."""

    def __init__(self, app: Any, stop: int) -> None:
        self._app = app
        self.recorder = _RecorderUpTo(app.recorder, stop)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def rebuild(app: Any, position: int) -> tuple[LoadedProjection, dict[tuple[str, int], bytes]]:
    """The projection's rows as the events up to notification ``position`` give them, and its tables (encoded)."""
    store = MemoryProjectionStore()
    RoutingProjection(_UpTo(app, position), store).catch_up()
    return store.load(), dict(store.tables)


def check_projection(app: Any, stored: LoadedProjection, table: Callable[[str, int], bytes | None],
                     table_keys: Iterable[tuple[str, int]], *, tenant: str | None = None, limit: int = 200) -> ProjectionCheck:
    """Compare the stored rows (``stored``, ``table(slug, version)`` and the ``(slug, version)`` of every stored table)
    with the rows the events up to the stored position give; with ``tenant``, only that tenant's rows."""
    expected, tables = rebuild(app, stored.position)
    problems: list[str] = []

    def wanted(slug: str) -> bool:
        return tenant is None or slug == tenant

    ids = {key for key, slug in expected.tenants.items() if wanted(slug)}
    stored_ids = {key for key, slug in stored.tenants.items() if wanted(slug) or key in ids}
    for key in sorted(ids | stored_ids):
        have, want = stored.tenants.get(key), expected.tenants.get(key)
        if want is None:
            problems.append(f"projection: the tenant row of {key} names {have!r}, but no event of {key} is stored")
        elif have is None:
            problems.append(f"projection: the tenant row of {key} ({want!r}) is missing")
        elif have != want:
            problems.append(f"projection: the tenant row of {key} names {have!r} but its events name {want!r}")
    slugs = sorted({slug for slug, _ in stored.changes} | {slug for slug, _ in expected.changes}
                   | {slug for slug, _ in stored.confirmations} | {slug for slug, _ in expected.confirmations}
                   | {slug for slug, _ in stored.policies} | {slug for slug, _ in expected.policies})
    counts = {"changes": 0, "confirmations": 0, "policies": 0, "tables": 0}
    for slug in filter(wanted, slugs):
        counts["changes"] += _changes(slug, _of(stored.changes, slug), _of(expected.changes, slug), problems)
        counts["confirmations"] += _listed(slug, "confirmation", _of(stored.confirmations, slug),
                                           _of(expected.confirmations, slug), problems)
        counts["policies"] += _listed(slug, "provider policy", _of(stored.policies, slug), _of(expected.policies, slug), problems)
    stored_tables = {(slug, version) for slug, version in table_keys if wanted(slug)}
    for slug, version in sorted(stored_tables | {key for key in tables if wanted(key[0])}):
        counts["tables"] += 1
        fresh = tables.get((slug, version))
        if fresh is None:
            problems.append(f"projection: {slug} table version {version} is stored, but no confirmation of it is")
            continue
        blob = table(slug, version) if (slug, version) in stored_tables else None
        if blob is None:
            problems.append(f"projection: {slug} table version {version} is missing")
        elif blob != fresh and _decoded(blob) != decode_stored(_TABLE, fresh):
            problems.append(f"projection: {slug} table version {version} differs from what its events compile to")
    tenants = len({slug for slug in slugs if wanted(slug)})
    return ProjectionCheck(problems=tuple(problems[:limit]), more=max(0, len(problems) - limit), tenants=tenants, **counts)


def _of(rows: list[tuple[str, Any]], slug: str) -> list[Any]:
    return [row for row_slug, row in rows if row_slug == slug]


def _decoded(blob: bytes) -> RoutingTable | None:
    """A stored table as written (by today's code or an earlier one); None if it cannot be read."""
    try:
        return decode_stored(_TABLE, blob)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _changes(slug: str, have: list[Any], want: list[Any], problems: list[str]) -> int:
    """Change records by version: each stored one as its event says, none missing, none extra, none twice, in order."""
    stored: dict[int, Any] = {}
    for change in have:
        if change.version in stored:
            problems.append(f"projection: {slug} change record version {change.version} is stored twice")
        stored[change.version] = change
    expected = {change.version: change for change in want}
    before = len(problems)
    for version in sorted(stored.keys() | expected.keys()):
        row, event = stored.get(version), expected.get(version)
        if event is None:
            problems.append(f"projection: {slug} change record version {version} is stored, but no event implies it")
        elif row is None:
            problems.append(f"projection: {slug} change record version {version} is missing")
        else:
            differences = [f"{name} {_shown(getattr(row, name))} but the event says {_shown(getattr(event, name))}"
                           for name in _CHANGE_FIELDS if getattr(row, name) != getattr(event, name)]
            if differences:
                problems.append(f"projection: {slug} change record version {version}: " + "; ".join(differences))
    if len(problems) == before and [c.version for c in have] != [c.version for c in want]:
        problems.append(f"projection: {slug} change records are not in the order of their versions")
    return len(stored.keys() | expected.keys())


def _listed(slug: str, kind: str, have: list[Any], want: list[Any], problems: list[str]) -> int:
    """Confirmations or policies, in the order their events came: each as its event says, none missing, none extra."""
    for index in range(max(len(have), len(want))):
        row = have[index] if index < len(have) else None
        event = want[index] if index < len(want) else None
        if event is None:
            problems.append(f"projection: {slug} {kind} {_record(row)} is stored, but no event implies it")
        elif row is None:
            problems.append(f"projection: {slug} {kind} {_record(event)} is missing")
        elif row != event:
            problems.append(f"projection: {slug} {kind} {index + 1}: {_record(row)} but the event says {_record(event)}")
    return max(len(have), len(want))


def _record(row: Any) -> str:
    """A confirmation or policy row in words: ``version 12 applied at 2026-11-20T17:00:00+00:00``."""
    if hasattr(row, "version"):
        return f"version {row.version} applied at {_shown(row.applied_at)}"
    return f"of {_shown(row.at)} ({msgspec.json.encode(row.policy).decode()})"


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)
