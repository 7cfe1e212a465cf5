"""Which tenant a reported event belongs to: the tenant named for the ingest, or the one whose numbers include the dialled one.

A PBX reports a call's first event (``CallStarted``) with the dialled number; the tenant whose
numbers include it owns the call, and every later event of the call (same PBX, same call id)
follows it. Events of a call heard before its start (a snapshot after a reconnect, a late
frame) wait, bounded, until the start arrives; a call whose tenant cannot be found is counted
and logged, never stored under a guess. The correlation state of a call is dropped when it
ends (a few thousand recently ended calls are remembered for stragglers), so memory stays
flat however many calls pass.

Presence events (an endpoint's or a queue agent's state) name no call: they go to the tenant
named for the ingest; without one, to the only tenant this PBX has reported calls of, when
that tenant has such an extension; otherwise they are counted as unattributed.

Pure: the store is reached only through the ``known_call`` look-up handed in.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

import msgspec

from core.calls.events import (
    AgentStateChanged,
    CallEnded,
    CallEvent,
    CallStarted,
    EndpointStateChanged,
    LegAnswered,
    LegEnded,
    LegRinging,
    QueueJoined,
    QueueLeft,
    VoicemailReached,
)

_SEPARATORS = re.compile(r"[\s.()\-/]")


def number_forms(dialled: str) -> list[str]:
    """The E.164 spellings a dialled number may stand for: as given, ``+`` added, ``00`` read as ``+``; URI parts removed."""
    text = dialled.strip()
    if ":" in text:
        scheme, _, rest = text.partition(":")
        if scheme.lower() in ("sip", "sips", "tel"):
            text = rest
    text = text.partition("@")[0].partition(";")[0]
    text = _SEPARATORS.sub("", text)
    forms = [dialled.strip(), text]
    if text.startswith("00"):
        forms.append("+" + text[2:])
    elif text and not text.startswith("+"):
        forms.append("+" + text)
    return list(dict.fromkeys(forms))


class Directory(msgspec.Struct, frozen=True):
    """What attribution knows of the tenants the ingest may store for: their numbers and extensions."""

    numbers: dict[str, str] = {}
    """E.164 number → tenant."""
    extensions: dict[str, frozenset[str]] = {}
    """Tenant → its extensions (and queue agents)."""

    def tenant_of_number(self, dialled: str) -> str | None:
        for form in number_forms(dialled):
            tenant = self.numbers.get(form)
            if tenant is not None:
                return tenant
        return None


class Unattributed(msgspec.Struct, frozen=True):
    """Events not stored: how many, and why (for the log and the counts)."""

    events: int
    reason: str
    pbx: str
    call_id: str | None = None
    dialled: str | None = None


class AttributionStats(msgspec.Struct):
    attributed: int = 0
    unattributed_calls: int = 0
    unattributed_events: int = 0
    held: int = 0
    """Events waiting for their call's start right now."""


_LATER_EVENTS = frozenset({LegRinging, LegAnswered, LegEnded, QueueJoined, QueueLeft, VoicemailReached})
"""Call events that neither start nor end a call: with the call's tenant known, they only follow it."""
_UNRESOLVED = ""
"""The tenant recorded for a call whose start named no known tenant: its later events are dropped."""


class Attribution:
    """Assigns each event its tenant, or reports why it cannot (see the module's docstring)."""

    def __init__(
        self,
        directory: Directory,
        *,
        tenant: str | None = None,
        known_call: Callable[[str, str], str | None] | None = None,
        max_held_events: int = 20_000,
        remember_ended: int = 20_000,
    ) -> None:
        self.directory = directory
        self.tenant = tenant
        self.known_call = known_call or (lambda pbx, call_id: None)
        self.max_held_events = max_held_events
        self.remember_ended = remember_ended
        self.stats = AttributionStats()
        self._calls: dict[tuple[str, str], str] = {}
        self._ended: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._held: OrderedDict[tuple[str, str], list[CallEvent]] = OrderedDict()
        self._pbx_tenants: dict[str, set[str]] = {}

    @property
    def open_calls(self) -> int:
        """Calls whose correlation state is kept (started, not ended)."""
        return len(self._calls)

    def attribute(self, event: CallEvent) -> tuple[list[tuple[str, CallEvent]], list[Unattributed]]:
        """The ``(tenant, event)`` pairs ready to store (this event, and held ones it releases), and what was given up."""
        if isinstance(event, EndpointStateChanged | AgentStateChanged):
            return self._presence(event)
        key = (event.pbx, event.call_id)
        if isinstance(event, CallStarted):
            return self._started(key, event)
        tenant = self._tenant_of(key)
        if tenant is None:
            return [], self._hold(key, event)
        if isinstance(event, CallEnded):
            self._end(key, tenant)
        if tenant == _UNRESOLVED:
            self.stats.unattributed_events += 1
            return [], []
        self.stats.attributed += 1
        return [(tenant, event)], []

    def attribute_into(self, events: Iterable[CallEvent], ready: list[tuple[str, CallEvent]]) -> list[Unattributed]:
        """``attribute`` for each event, appending what is ready to store to ``ready``; what was given up.

        The same answers, faster for the common case (a later event of a call whose tenant is known).
        """
        calls, attribute, stats = self._calls, self.attribute, self.stats
        given_up: list[Unattributed] = []
        for event in events:
            kind = type(event)
            if kind in _LATER_EVENTS:
                tenant = calls.get((event.pbx, event.call_id))  # type: ignore[union-attr]
                if tenant:  # known, and not the unresolved mark ""
                    stats.attributed += 1
                    ready.append((tenant, event))
                    continue
            more, lost = attribute(event)
            ready += more
            if lost:
                given_up += lost
        return given_up

    def flush_held(self) -> list[Unattributed]:
        """Give up every held event (the stream ended): each call counted once."""
        given_up = [self._give_up(key, len(events), "no start of the call was heard, so its tenant is unknown")
                    for key, events in self._held.items()]
        self._held.clear()
        self.stats.held = 0
        return given_up

    def _started(self, key: tuple[str, str], event: CallStarted) -> tuple[list[tuple[str, CallEvent]], list[Unattributed]]:
        tenant, reason = self._tenant_of_start(event)
        known = self._calls.get(key) or self._ended.get(key)
        if known is not None and known != _UNRESOLVED:
            tenant, reason = known, None  # heard again (a snapshot): the call keeps its tenant
        held = self._held.pop(key, [])
        self.stats.held -= len(held)
        if tenant is None:
            self._calls[key] = _UNRESOLVED
            self.stats.unattributed_events += len(held)
            return [], [self._give_up(key, len(held) + 1, reason or "unknown", dialled=event.dialled)]
        self._calls[key] = tenant
        self._pbx_tenants.setdefault(event.pbx, set()).add(tenant)
        ready = [(tenant, event)] + [(tenant, e) for e in held]
        self.stats.attributed += len(ready)
        for e in held:
            if isinstance(e, CallEnded):
                self._end(key, tenant)
        return ready, []

    def _tenant_of_start(self, event: CallStarted) -> tuple[str | None, str | None]:
        tenants = self.directory.extensions
        if self.tenant is not None:
            if event.tenant is not None and event.tenant != self.tenant:
                return None, f"the PBX names tenant {event.tenant!r}, the ingest is for {self.tenant!r}"
            return self.tenant, None
        if event.tenant is not None:
            if event.tenant in tenants:
                return event.tenant, None
            return None, f"the PBX names tenant {event.tenant!r}, which is not one the ingest may store for"
        tenant = self.directory.tenant_of_number(event.dialled)
        if tenant is None:
            return None, f"the dialled number {event.dialled!r} is no number of a tenant the ingest may store for"
        return tenant, None

    def _tenant_of(self, key: tuple[str, str]) -> str | None:
        """The call's tenant: remembered, else stored earlier (``known_call``), else the named one; ``None``: not known yet."""
        tenant = self._calls.get(key)
        if tenant is None:
            tenant = self._ended.get(key)
        if tenant is None and key not in self._held:
            if self.tenant is not None:
                found = self.known_call(*key)
                tenant = self.tenant if found in (None, self.tenant) else _UNRESOLVED
            else:
                tenant = self.known_call(*key)
            if tenant is not None:
                self._calls[key] = tenant
        return tenant

    def _end(self, key: tuple[str, str], tenant: str) -> None:
        self._calls.pop(key, None)
        self._ended[key] = tenant
        self._ended.move_to_end(key)
        while len(self._ended) > self.remember_ended:
            self._ended.popitem(last=False)

    def _hold(self, key: tuple[str, str], event: CallEvent) -> list[Unattributed]:
        self._held.setdefault(key, []).append(event)
        self.stats.held += 1
        given_up = []
        while self.stats.held > self.max_held_events and self._held:
            old_key, events = self._held.popitem(last=False)
            self.stats.held -= len(events)
            given_up.append(self._give_up(old_key, len(events), "its start did not come while its events waited"))
        return given_up

    def _give_up(self, key: tuple[str, str], events: int, reason: str, dialled: str | None = None) -> Unattributed:
        self.stats.unattributed_calls += 1
        self.stats.unattributed_events += events
        return Unattributed(events=events, reason=reason, pbx=key[0], call_id=key[1], dialled=dialled)

    def _presence(self, event: EndpointStateChanged | AgentStateChanged) -> tuple[list[tuple[str, CallEvent]], list[Unattributed]]:
        if self.tenant is not None:
            self.stats.attributed += 1
            return [(self.tenant, event)], []
        endpoint = event.endpoint if isinstance(event, EndpointStateChanged) else event.agent
        seen = self._pbx_tenants.get(event.pbx, set())
        if len(seen) == 1:
            (tenant,) = seen
            if endpoint in self.directory.extensions.get(tenant, frozenset()):
                self.stats.attributed += 1
                return [(tenant, event)], []
        self.stats.unattributed_events += 1
        reason = ("name the tenant with --tenant: presence names no dialled number" if len(seen) != 1
                  else f"{endpoint!r} is no extension of {next(iter(seen))!r}, the only tenant PBX {event.pbx!r} reported calls of")
        return [], [Unattributed(events=1, reason=reason, pbx=event.pbx)]


def directory_of(numbers: Mapping[str, str], extensions: Mapping[str, frozenset[str]]) -> Directory:
    """A ``Directory`` from plain mappings."""
    return Directory(numbers=dict(numbers), extensions=dict(extensions))
