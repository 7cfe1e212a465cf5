"""Call queues (seed 004), IVR menus (seed 001) and forwarding schemes (seed 004)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from core.aggregates.hours import OpeningHours
from core.aggregates.identifiers import BillingId, Extension, Name
from core.aggregates.targets import (
    Destination,
    Greeting,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToResponsibleManager,
    ToVoicemail,
    ToWebhook,
)

AudioName = Name
"""The name of one of the tenant's audio files."""

QueueStrategy = Literal["ring_all", "longest_idle", "round_robin", "fewest_calls", "random", "sequential"]

JoinRule = Literal["always", "agent_logged_in", "agent_reachable", "agent_free"]
"""A caller joins a queue only when at least one of its agents is logged in; logged in with a reachable phone;
free now; or ``always``; each level stricter than the one before. Asterisk's ``joinempty`` with the factors this
model has (it has no pauses or penalties): empty (``yes``); ``unavailable``; ``unavailable,invalid,unknown``;
``unavailable,invalid,unknown,inuse,ringing,wrapup``."""
LeaveRule = Literal["never", "no_agent_logged_in", "no_agent_reachable", "no_agent_free"]
"""Callers waiting in a queue leave it once none of its agents is logged in; logged in and reachable; free; or
``never``: Asterisk's ``leavewhenempty`` on the same factors as ``JoinRule``."""
JOIN_LEVEL: dict[JoinRule, int] = {"always": 0, "agent_logged_in": 1, "agent_reachable": 2, "agent_free": 3}
LEAVE_LEVEL: dict[LeaveRule, int] = {"never": 0, "no_agent_logged_in": 1, "no_agent_reachable": 2, "no_agent_free": 3}
"""The rules as one ladder: 1 counts logged-in agents, 2 reachable ones, 3 free ones (0: the rule never applies)."""


class CallQueue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Holds callers until an agent is free."""

    name: Name
    agents: Annotated[tuple[Extension, ...], msgspec.Meta(max_length=2000)] = ()
    strategy: QueueStrategy = "longest_idle"
    agent_ring_seconds: Annotated[int, msgspec.Meta(ge=5, le=300)] = 20
    wrap_up_seconds: Annotated[int, msgspec.Meta(ge=0, le=900)] = 10
    max_wait_seconds: Annotated[int, msgspec.Meta(ge=10, le=7200)] = 600
    after_max_wait: Destination | None = None
    """Where a caller goes after the maximum wait (``None``: the call ends)."""
    when_no_agents: Destination | None = None
    """Where a caller goes when the queue refuses them (``join_when``) or they leave it empty (``leave_when``);
    with neither rule set, when no agent is logged in and reachable (``None``: callers join and wait anyway)."""
    announce_position: bool = False
    announce_hold_time: bool = False
    announce_every_seconds: Annotated[int, msgspec.Meta(ge=15, le=600)] = 60
    hold_music: AudioName | None = None
    # The three rules below came after queues were first stored. Absent (UNSET) they are not encoded at
    # all, so stored queues, their history and their tables read exactly as they were written; the
    # properties give the rule in force.
    join_when: JoinRule | msgspec.UnsetType = msgspec.UNSET
    """Absent: ``agent_reachable`` with a ``when_no_agents`` destination, else ``always`` (the rule before it existed)."""
    leave_when: LeaveRule | msgspec.UnsetType = msgspec.UNSET
    """Absent: ``never``."""
    retry_seconds: Annotated[int, msgspec.Meta(ge=0, le=300)] | msgspec.UnsetType = msgspec.UNSET
    """The pause before a waiting call is offered again after a ring round nobody answered (Asterisk's ``retry``);
    absent: 0, at once."""

    @property
    def join_rule(self) -> JoinRule:
        """The join rule in force."""
        if self.join_when is not msgspec.UNSET:
            return self.join_when
        return "agent_reachable" if self.when_no_agents is not None else "always"

    @property
    def leave_rule(self) -> LeaveRule:
        """The leave rule in force."""
        return "never" if self.leave_when is msgspec.UNSET else self.leave_when

    @property
    def retry_pause(self) -> int:
        """The pause between ring rounds in force, in seconds."""
        return 0 if self.retry_seconds is msgspec.UNSET else self.retry_seconds


Digit = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]


class IvrMenu(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A voice menu: a prompt, digit options, and what happens on no or invalid input and when closed."""

    name: Name
    prompt: Greeting
    options: dict[Digit, Destination] = {}
    number: str | None = None
    billing_id: BillingId | None = None
    timeout_seconds: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5
    retries: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2
    on_invalid: Destination | None = None
    """After the retries are used up by invalid digits (``None``: the call ends)."""
    on_no_input: Destination | None = None
    """After the retries are used up with no digit (``None``: the call ends)."""
    opening_hours: OpeningHours | None = None
    """``None``: always open."""
    when_closed: Destination | None = None


SchemeStepDestination = (
    ToNumber | ToExtension | ToExternalSip | ToIvr | ToVoicemail | ToGroup | ToWebhook | ToQueue | ToResponsibleManager
)
BackupDestination = ToNumber | ToExtension | ToExternalSip
"""Seed 004 2.2: a backup scheme may only use a phone number, a SIP account or an external SIP account."""

MIN_STEP_SECONDS = 15
RECOMMENDED_STEP_SECONDS = 30


class SchemeStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One destination of a scheme and how long it rings."""

    destination: SchemeStepDestination
    timeout_seconds: Annotated[int, msgspec.Meta(ge=MIN_STEP_SECONDS, le=600)] = RECOMMENDED_STEP_SECONDS


class BackupStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One destination of a backup scheme."""

    destination: BackupDestination
    timeout_seconds: Annotated[int, msgspec.Meta(ge=MIN_STEP_SECONDS, le=600)] = RECOMMENDED_STEP_SECONDS


class ForwardingScheme(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A forwarding scheme (seed 004): ordered steps, sequential or parallel, with a working-time condition."""

    name: Name
    steps: Annotated[tuple[SchemeStep, ...], msgspec.Meta(min_length=1, max_length=20)]
    mode: Literal["sequential", "parallel"] = "sequential"
    working_hours: OpeningHours | None = None
    """The scheme's steps apply within these hours (``None``: always)."""
    outside_hours: Destination | None = None
    """Where calls go outside the working hours (``None``: they are missed)."""
    backup: Annotated[tuple[BackupStep, ...], msgspec.Meta(max_length=10)] = ()
    """Tried when every step failed (seed 004 "резервна схема")."""
    greeting: Greeting | None = None
    hold_music: AudioName | None = None
    whisper: Greeting | None = None
    """Played to the agent before the call is connected."""
    post_call_menu: bool = False
    """Ask the agent for a call category after the call."""


def step_warnings(scheme: ForwardingScheme) -> tuple[str, ...]:
    """Seed 004's advice: steps under 30 s (except voicemail) rarely give people time to answer."""
    return tuple([
        f"steps[{index}]: {step.timeout_seconds} s is under the recommended {RECOMMENDED_STEP_SECONDS} s"
        for index, step in enumerate(scheme.steps)
        if step.timeout_seconds < RECOMMENDED_STEP_SECONDS and not isinstance(step.destination, ToVoicemail)
    ])
