"""The tenant's commands on call queues, IVR menus, forwarding schemes and the numbers routed to them."""

from __future__ import annotations

import msgspec

from core.aggregates.chained import command
from core.aggregates.commands_base import TenantCommands
from core.aggregates.hours import check_hours
from core.aggregates.identifiers import normalise_number
from core.aggregates.rules import find
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu, step_warnings
from core.aggregates.targets import Destination, ToScheme
from core.errors import NotFoundError, ValidationFailed


class ServiceCommands(TenantCommands):
    """Commands on a tenant's queues, IVR menus, forwarding schemes and number list (mixed into ``Tenant``)."""

    # -- queues, IVR menus, forwarding schemes ------------------------------------------------

    @command
    def save_queue(self, queue_id: str, queue: CallQueue) -> None:
        """Create or replace a call queue (seed 004)."""
        if len(set(queue.agents)) != len(queue.agents):
            raise ValidationFailed("an agent is listed twice", field="spec.agents")
        for index, ext in enumerate(queue.agents):
            self.user(ext, field=f"spec.agents[{index}]")
        if queue.hold_music is not None:
            self._audio(queue.hold_music, field="spec.hold_music")
        queue = msgspec.structs.replace(
            queue,
            after_max_wait=self._destination(queue.after_max_wait, field="spec.after_max_wait", mailbox_required=True),
            when_no_agents=self._destination(queue.when_no_agents, field="spec.when_no_agents", mailbox_required=True),
        )
        self._queue_saved(queue_id=queue_id, queue=queue)

    @command
    def delete_queue(self, queue_id: str) -> None:
        """Delete a queue; refused while anything routes to it."""
        if queue_id not in self.state.queues:
            raise NotFoundError(f"there is no call queue {queue_id!r}", field="queue")
        self._refuse_if_referenced("queue", queue_id, f"call queue {queue_id!r}", field="queue")
        self._queue_deleted(queue_id=queue_id)

    @command
    def save_ivr_menu(self, ivr_id: str, ivr: IvrMenu) -> None:
        """Create or replace an IVR menu (seed 001 "knappvalsmeny")."""
        if ivr_id not in self.state.ivrs:
            self._check_allowance("ivr_menus", field="ivr")
        number = ivr.number
        if number is not None:
            keep = f"IVR menu {ivr_id}" if ivr_id in self.state.ivrs else None
            number = self._free_number(number, field="spec.number", keep=keep)
        if ivr.opening_hours is not None:
            check_hours(ivr.opening_hours, field="spec.opening_hours")
        if ivr.opening_hours is not None and ivr.when_closed is None:
            raise ValidationFailed("a menu with opening hours needs a destination when closed", field="spec.when_closed")
        checked = self._destination(msgspec.structs.replace(ivr, number=number), field="spec", mailbox_required=True)
        self._ivr_saved(ivr_id=ivr_id, ivr=checked)

    @command
    def delete_ivr_menu(self, ivr_id: str) -> None:
        """Delete an IVR menu; refused while anything routes to it."""
        if ivr_id not in self.state.ivrs:
            raise NotFoundError(f"there is no IVR menu {ivr_id!r}", field="ivr")
        self._refuse_if_referenced("ivr", ivr_id, f"IVR menu {ivr_id!r}", field="ivr")
        self._ivr_deleted(ivr_id=ivr_id)

    @command
    def save_forwarding_scheme(self, scheme_id: str, scheme: ForwardingScheme) -> None:
        """Create or replace a forwarding scheme; steps under 30 s (but voicemail) are recorded with a warning."""
        if scheme.working_hours is not None:
            check_hours(scheme.working_hours, field="spec.working_hours")
        if scheme.hold_music is not None:
            self._audio(scheme.hold_music, field="spec.hold_music")
        for target, where in find(scheme, (ToScheme,), "spec"):
            if target.scheme == scheme_id:
                raise ValidationFailed("a scheme cannot send calls to itself", field=f"{where}.scheme")
        checked = self._destination(scheme, field="spec", mailbox_required=True)
        self._scheme_saved(scheme_id=scheme_id, scheme=checked, warnings=step_warnings(checked))

    @command
    def delete_forwarding_scheme(self, scheme_id: str) -> None:
        """Delete a scheme; refused while anything routes to it."""
        if scheme_id not in self.state.schemes:
            raise NotFoundError(f"there is no forwarding scheme {scheme_id!r}", field="scheme")
        self._refuse_if_referenced("scheme", scheme_id, f"forwarding scheme {scheme_id!r}", field="scheme")
        self._scheme_deleted(scheme_id=scheme_id)

    # -- numbers ----------------------------------------------------------------------------------

    @command
    def route_number(self, number: str, entry: Destination | None) -> None:
        """Add a number to the tenant, or re-route one, entering at ``entry`` (``None``: unassigned)."""
        normal = self._free_number(number, field="number", keep="the tenant's number list")
        self._number_routed(number=normal, entry=self._destination(entry, field="entry", mailbox_required=True))

    @command
    def release_number(self, number: str) -> None:
        """Give a number of the tenant's number list back."""
        normal = normalise_number(number, field="number")
        if normal not in self.state.numbers:
            raise NotFoundError(f"{normal} is not in the tenant's number list", field="number")
        self._number_released(number=normal)
