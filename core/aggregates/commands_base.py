"""The base of the tenant's command mixins: what they use of ``Tenant``, declared for type checkers only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.aggregates.catalog import AudioFile, ExtraKind, Plan
    from core.aggregates.context import CommandContext
    from core.aggregates.groups import AnswerGroup
    from core.aggregates.references import Kind
    from core.aggregates.state import TenantState, User


class TenantCommands:
    """Base of the mixins that hold the tenant's public commands.

    The commands live in mixins because eventsourcing registers ``@event`` methods only
    from the aggregate's own class body: every ``@event`` method, and the lookups and
    validation the mixins share, stay in ``Tenant``. Nothing here exists at run time;
    it tells type checkers what ``self`` offers (an ``@event`` method is looked up as ``Any``).
    """

    if TYPE_CHECKING:
        state: TenantState
        version: int
        _ctx: CommandContext

        # Defined by Tenant.
        def user(self, extension: str, *, field: str = "extension") -> User: ...
        def _destination(self, value: Any, *, field: str, owner: str | None = None, mailbox_required: bool = False) -> Any: ...
        def _refuse_if_referenced(self, kind: Kind, key: str, label: str, *, field: str) -> None: ...

        # Defined by one mixin, used by others.
        def group(self, group_id: str, *, field: str = "group") -> AnswerGroup: ...
        def _free_number(self, number: str, *, field: str, keep: str | None = None) -> str: ...
        def _check_allowance(self, kind: ExtraKind, *, plan: Plan | None = None, adding: int = 1, field: str) -> None: ...
        def _audio(self, name: str, *, field: str) -> AudioFile: ...

        # The private @event methods of Tenant.
        def __getattr__(self, name: str) -> Any: ...
