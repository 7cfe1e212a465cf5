"""The public command schema: one msgspec tagged union shared by Python, the CLI, HTTP and scenarios.

Each command is declared once, with its validation and its handler, in the module of
its concept under ``core/aggregates/``; this module only assembles them. Decoding a
document validates every field's shape and points at the offending field
(``$.commands[3].target.number``); the handler then applies the rules that need state.
"""

from __future__ import annotations

from typing import Annotated, Union

import msgspec

# Importing a concept module registers its commands' handlers; the star imports make each
# command reachable as ``core.commands.SetDivert`` (every module lists its commands in __all__).
from core.aggregates.answer_groups import *  # noqa: F403
from core.aggregates.catalogue import *  # noqa: F403
from core.aggregates.closures import *  # noqa: F403
from core.aggregates.commanding import HANDLERS, command_tag
from core.aggregates.defaults import *  # noqa: F403
from core.aggregates.diverts import *  # noqa: F403
from core.aggregates.identifiers import Principal, Reason
from core.aggregates.ivr_menus import *  # noqa: F403
from core.aggregates.numbers import *  # noqa: F403
from core.aggregates.pbx_members import *  # noqa: F403
from core.aggregates.provisioning import *  # noqa: F403
from core.aggregates.queues import *  # noqa: F403
from core.aggregates.schemes import *  # noqa: F403
from core.aggregates.users import *  # noqa: F403

_CONCEPTS = ("defaults", "users", "diverts", "catalogue", "answer_groups", "pbx_members", "queues", "ivr_menus", "schemes", "numbers",
             "provisioning", "closures")
COMMAND_TYPES: tuple[type, ...] = tuple(
    sorted(HANDLERS, key=lambda t: _CONCEPTS.index(t.__module__.rsplit(".", 1)[1]))  # stable: declaration order within a concept
)
"""Every command type: by concept, then in the order its module declares them."""

Command = Union[COMMAND_TYPES]  # type: ignore[valid-type]  # noqa: UP007 - built from a tuple at run time
"""The tagged union of every command (tag field ``command``)."""


class ActorSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who a command file is written to be applied by: the command line refuses it when someone else runs it."""

    principal: Principal
    partner: Principal | None = None


class CommandFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A JSON or TOML document of commands applied all-or-nothing."""

    commands: Annotated[list[Command], msgspec.Meta(min_length=1)]  # type: ignore[valid-type]
    actor: ActorSpec | None = None
    reason: Reason | None = None


def decode_command_file(data: bytes, *, format: str) -> CommandFile:
    """Decode a JSON or TOML command document; ``msgspec.ValidationError`` names the field."""
    if format == "toml":
        return msgspec.toml.decode(data, type=CommandFile)
    return msgspec.json.decode(data, type=CommandFile)


__all__ = ["COMMAND_TYPES", "HANDLERS", "ActorSpec", "Command", "CommandFile", "command_tag",
           "decode_command_file"]
