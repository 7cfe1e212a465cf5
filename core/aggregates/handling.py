"""Call-handling settings that have a tenant default and a user-level value (seed 001).

Each setting resolves, per field, in this order: the user's own value (a change the
user made) → a value pinned when a default was changed for new users only → the
tenant default → the built-in default. See ``ApplyTo`` for how a default change
reaches existing users.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from core.aggregates.targets import (
    BusyTone,
    DivertTarget,
    Greeting,
    NoAnswerRule,
    Off,
    RejectedHandling,
    TextToSpeech,
)

ApplyTo = Literal["new_users", "unchanged_users", "all_users"]
"""Seed 001 "endast nya / utan ändringar / alla användare":

- ``new_users``: users added from now on; existing users keep what they had.
- ``unchanged_users``: also every existing user who has not changed this setting.
- ``all_users``: every user, clearing user-level changes of this setting (a user may
  change it again afterwards, and then their own value wins).
"""

DisplayNumberKind = Literal["mobile", "landline"]
SettingName = Literal[
    "voicemail_greeting",
    "transcription",
    "no_answer",
    "busy",
    "call_waiting",
    "rejected",
    "display_number",
]


class CallHandling(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A partial set of call-handling values; ``None`` means "not set at this level"."""

    voicemail_greeting: Greeting | None = None
    transcription: bool | None = None
    no_answer: NoAnswerRule | None = None
    busy: DivertTarget | None = None
    call_waiting: bool | None = None
    rejected: RejectedHandling | None = None
    display_number: DisplayNumberKind | None = None

    def set_fields(self) -> tuple[SettingName, ...]:
        """Names of the settings given a value at this level."""
        return tuple(name for name in self.__struct_fields__ if getattr(self, name) is not None)  # type: ignore[misc]

    def merged(self, changes: CallHandling) -> CallHandling:
        """This level with every value set in ``changes`` replaced."""
        return msgspec.structs.replace(self, **{name: getattr(changes, name) for name in changes.set_fields()})

    def without(self, names: tuple[str, ...]) -> CallHandling:
        """This level with ``names`` unset."""
        return msgspec.structs.replace(self, **{name: None for name in names})


class ResolvedHandling(msgspec.Struct, frozen=True):
    """Every call-handling value of a user after defaults are resolved, with the level each came from."""

    voicemail_greeting: Greeting
    transcription: bool
    no_answer: NoAnswerRule
    busy: DivertTarget
    call_waiting: bool
    rejected: RejectedHandling
    display_number: DisplayNumberKind
    sources: dict[str, Literal["user", "pinned", "tenant", "built_in"]]


BUILT_IN = CallHandling(
    voicemail_greeting=TextToSpeech(text="The person you are calling is not available. Please leave a message.", language="en"),
    transcription=False,
    no_answer=NoAnswerRule(target=Off()),
    busy=Off(),
    call_waiting=True,
    rejected=BusyTone(),
    display_number="landline",
)


def resolve(own: CallHandling, pinned: CallHandling, tenant: CallHandling) -> ResolvedHandling:
    """Resolve each setting: user → pinned → tenant default → built-in."""
    values: dict[str, object] = {}
    sources: dict[str, Literal["user", "pinned", "tenant", "built_in"]] = {}
    for name in CallHandling.__struct_fields__:
        for source, level in (("user", own), ("pinned", pinned), ("tenant", tenant), ("built_in", BUILT_IN)):
            value = getattr(level, name)
            if value is not None:
                values[name] = value
                sources[name] = source  # type: ignore[assignment]
                break
    return ResolvedHandling(sources=sources, **values)  # type: ignore[arg-type]


def first_set(*values: Any) -> Any:
    """The first value that is not ``None`` (``False`` is a value)."""
    return next(v for v in values if v is not None)
