"""The projection's stored rows against a rebuild from the events: what ``audit verify`` prints and ``/v1/verify`` answers.

One function for both, so the command line and the API judge a projection alike: the rows agree, disagree (a line per
disagreement, or one line saying a stored row cannot be read or the events cannot be rebuilt into rows), or there are
none yet. A fault of the store itself (SQLite, PostgreSQL) is not a verdict on the projection: it is raised.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Literal, NamedTuple

import msgspec
from eventsourcing.persistence import PersistenceError

from core.projections.check import ProjectionCheck


class ProjectionComparison(NamedTuple):
    status: Literal["agree", "disagree", "absent"]
    """``absent``: the store keeps no projection, or none of its rows in the scope yet (it has not caught up)."""
    check: ProjectionCheck | None
    """What was compared (``None``: nothing was, or a stored row could not be read or the rows not be rebuilt)."""
    problems: list[str]
    """A line per disagreement (``projection: …``); empty unless ``disagree``."""


def compare_projection(app: Any, location: Path | Any, tenant: str | None) -> ProjectionComparison:
    """Compare the projection stored at ``location`` (the events' SQLite file or PostgreSQL database) with a rebuild from
    ``app``'s events, for ``tenant`` (``None``: every tenant), up to the projection's stored position."""
    from adapters.bootstrap import open_projection_store
    from core.projections.check import check_projection

    store = open_projection_store(location, create=False)
    if store is None:
        return ProjectionComparison("absent", None, [])
    try:
        try:
            loaded = store.load()
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return ProjectionComparison("disagree", None, [f"projection: a stored row cannot be read ({exc})"])
        try:
            check = check_projection(app, loaded, store.table, store.keys(), tenant=tenant)
        except (sqlite3.DatabaseError, PersistenceError):
            raise
        except Exception as exc:  # noqa: BLE001 - whatever stops the rebuild is reported, in one line
            return ProjectionComparison("disagree", None,
                                        [f"projection: cannot be rebuilt from the events to compare its rows: {exc}"])
    finally:
        store.close()
    if check.problems:
        more = [f"projection: and {check.more:,} more disagreement{'' if check.more == 1 else 's'}"] if check.more else []
        return ProjectionComparison("disagree", check, [*check.problems, *more])
    if not check.tenants and not check.tables:
        return ProjectionComparison("absent", None, [])
    return ProjectionComparison("agree", check, [])
