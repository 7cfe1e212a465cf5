"""Hash-chained aggregates: every event records the command context and its place in the chain.

Shared by the tenant and its provisioning record. A public command runs under a
``CommandContext`` (``@command``); ``trigger_event`` stamps each event with the
instant, actor, partner and reason of that context and seals it with its hash.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from eventsourcing.domain import Aggregate, OriginatorVersionError, ProgrammingError, decorated_funcs

from core.aggregates.chain import event_hash
from core.aggregates.context import CommandContext
from core.codec import stable_topic, stored_state
from core.errors import ConflictError, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])


class ChainedEvent(Aggregate.Event):
    """Fields every chained event carries besides its own."""

    actor: str
    partner: str | None
    reason: str | None
    prev_hash: str
    hash: str

    def mutate(self, aggregate: Any) -> Any:
        aggregate = super().mutate(aggregate)
        aggregate.head = self.hash
        return aggregate


def command(method: F) -> F:
    """Run a public command under ``ctx`` (its first argument) on an aggregate that accepts changes."""

    @functools.wraps(method)
    def run(self: Any, ctx: CommandContext, /, *args: Any, **kwargs: Any) -> Any:
        self._check_open()
        self._check_instant(ctx.at)
        self._ctx = ctx
        try:
            return method(self, *args, **kwargs)
        finally:
            del self._ctx

    return run  # type: ignore[return-value]


class Chained:
    """Mixin for an eventsourcing ``Aggregate`` whose events are ``ChainedEvent``s."""

    head: str

    def _check_open(self) -> None:
        """Raise if the aggregate accepts no more changes."""

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        ctx: CommandContext | None = self.__dict__.get("_ctx")
        if ctx is None:
            msg = "events are triggered only by public command methods (no command context)"
            raise ProgrammingError(msg)
        kwargs.update(
            timestamp=ctx.at,
            actor=ctx.actor.principal,
            partner=ctx.actor.partner,
            reason=ctx.reason,
            prev_hash=self.head,
            hash="",
        )
        super().trigger_event(event_class, **kwargs)  # type: ignore[misc]
        self._seal(self.pending_events[-1])  # type: ignore[attr-defined]

    def _seal(self, new_event: Any) -> None:
        state = msgspec.to_builtins(stored_state(new_event))
        del state["hash"]
        digest = event_hash(stable_topic(type(new_event)), str(self.id), new_event.originator_version, state)  # type: ignore[attr-defined]
        object.__setattr__(new_event, "hash", digest)
        self.head = digest

    def _check_instant(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValidationFailed("the instant of a change must carry a time zone", field="at")
        if at < self.modified_on:  # type: ignore[attr-defined]
            raise ConflictError(
                f"the instant {at.isoformat()} is before the last change ({self.modified_on.isoformat()}); "  # type: ignore[attr-defined]
                "events are recorded in time order",
                field="at",
            )


_APPLIERS: dict[type, tuple[Callable[..., None], tuple[str, ...]]] = {}


def replay(event: Any, aggregate: Any) -> Any:
    """Apply a stored event to ``aggregate`` as ``event.mutate`` does, without its per-call introspection.

    eventsourcing's generic path filters the event's attributes against the decorated
    method's signature on every call; projections replaying thousands of events use
    this instead (the same method body, parameters looked up once per event type).
    Creation events and events without a decorated method take the generic path.
    """
    entry = _APPLIERS.get(type(event))
    if entry is None:
        func = decorated_funcs.get(type(event))
        if func is None or aggregate is None:
            return event.mutate(aggregate)
        names = tuple(name for name in inspect.signature(func).parameters if name != "self")
        entry = _APPLIERS[type(event)] = (func, names)
    if aggregate is None:
        return event.mutate(aggregate)
    if event.originator_version != aggregate.version + 1:
        raise OriginatorVersionError(event.originator_version, aggregate.version + 1)
    func, names = entry
    state = event.__dict__
    func(aggregate, **{name: state[name] for name in names if name in state})
    aggregate._version = event.originator_version
    aggregate._modified_on = event.timestamp
    aggregate.head = event.hash
    return aggregate
