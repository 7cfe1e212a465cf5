"""The tenant's commands on display numbers, audio files, plan and billing, permissions and partner."""

from __future__ import annotations

import msgspec

from core.aggregates.catalog import INCLUDED, AudioFile, DisplayNumber, ExtraKind, Plan, allowance
from core.aggregates.chained import command
from core.aggregates.commands_base import TenantCommands
from core.aggregates.identifiers import normalise_number
from core.errors import AlreadyExistsError, ConflictError, InUseError, NotFoundError, PlanLimitError, ValidationFailed


class CatalogCommands(TenantCommands):
    """Commands on what a tenant has and may do: display numbers, audio files, plan, permissions (mixed into ``Tenant``)."""

    # -- plan and billing (seed 001) ---------------------------------------------------------

    def _count(self, kind: ExtraKind) -> int:
        return len(self.state.groups) if kind == "answer_groups" else len(self.state.ivrs)

    def _check_allowance(self, kind: ExtraKind, *, plan: Plan | None = None, adding: int = 1, field: str) -> None:
        plan = plan or self.state.plan
        bought = self.state.extras.get(kind, 0)
        limit = allowance(plan, kind, bought)
        have = self._count(kind)
        if limit is not None and have + adding > limit:
            label = kind.replace("_", " ")
            raise PlanLimitError(
                f"plan {plan} includes {INCLUDED[plan][kind]} {label} and {bought} more were bought; "
                f"the tenant has {have}: buy more (buy_extras) or change plan",
                field=field,
            )

    @command
    def change_plan(self, plan: Plan) -> None:
        """Move to another plan; refused if the tenant has more groups or IVR menus than it would allow."""
        if plan == self.state.plan:
            raise ValidationFailed(f"the tenant is already on plan {plan}", field="plan")
        for kind in ("answer_groups", "ivr_menus"):
            self._check_allowance(kind, plan=plan, adding=0, field="plan")  # type: ignore[arg-type]
        self._plan_changed(plan=plan)

    @command
    def buy_extras(self, kind: ExtraKind, quantity: int) -> None:
        """Buy more answer groups or IVR menus than the plan includes; billed on the next invoice."""
        if quantity < 1:
            raise ValidationFailed("buy at least one", field="quantity")
        if INCLUDED[self.state.plan][kind] is None:
            raise ValidationFailed(f"plan {self.state.plan} already has no limit on {kind.replace('_', ' ')}", field="kind")
        self._extras_bought(kind=kind, quantity=quantity)

    # -- permissions ------------------------------------------------------------------------

    @command
    def grant_permission(self, principal: str, permission: str) -> None:
        """Give a principal a permission on this tenant (``telephony_admin``: read and change telephony)."""
        if permission in self.state.admins.get(principal, ()):
            raise ValidationFailed(f"{principal!r} already has {permission}", field="principal")
        self._permission_granted(principal=principal, permission=permission)

    @command
    def revoke_permission(self, principal: str, permission: str) -> None:
        """Take a permission away; the last administrator of a tenant no partner manages cannot be removed."""
        if permission not in self.state.admins.get(principal, ()):
            raise NotFoundError(f"{principal!r} does not have {permission}", field="principal")
        others = [p for p, perms in self.state.admins.items() if p != principal and "telephony_admin" in perms]
        if permission == "telephony_admin" and not others and self.state.partner is None:
            raise ConflictError("this would leave the tenant without any telephony administrator", field="principal")
        self._permission_revoked(principal=principal, permission=permission)

    @command
    def set_partner(self, partner: str | None) -> None:
        """Choose the channel partner that manages this customer (``None``: no partner)."""
        if partner == self.state.partner:
            raise ValidationFailed(f"the tenant's partner is already {partner!r}", field="partner")
        if partner is None and not any("telephony_admin" in p for p in self.state.admins.values()):
            raise ConflictError("the tenant has no telephony administrator of its own; grant one first", field="partner")
        self._partner_set(managing_partner=partner)

    # -- display numbers (seed 001 "visningsnummer") --------------------------------------------

    @command
    def save_display_number(self, number: str, sms: bool, users: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> None:
        """Add or change a display number and whom it is assigned to."""
        normal = normalise_number(number, field="number")
        for index, ext in enumerate(users):
            self.user(ext, field=f"users[{index}]")
        for index, key in enumerate(groups):
            self.group(key, field=f"groups[{index}]")
        current = self.state.display_numbers.get(normal, DisplayNumber(number=normal))
        linked = set(groups) | {key for key, g in self.state.groups.items() if g.settings.display_number == normal}
        display = msgspec.structs.replace(
            current,
            sms=sms,
            users=tuple(dict.fromkeys(users)),
            groups=tuple(dict.fromkeys(groups)),
            agent_access=tuple(g for g in current.agent_access if g in linked),
            supervisor_access=tuple(g for g in current.supervisor_access if g in linked),
        )
        if display == self.state.display_numbers.get(normal):
            raise ValidationFailed("the display number already has these settings", field="number")
        self._display_saved(display=display)

    def _display(self, number: str) -> DisplayNumber:
        normal = normalise_number(number, field="number")
        try:
            return self.state.display_numbers[normal]
        except KeyError:
            raise NotFoundError(f"{normal} is not a display number of the tenant", field="number") from None

    @command
    def set_display_number_access(self, number: str, group_id: str, agents: bool, supervisors: bool) -> None:
        """For a display number linked to an answer group: may its agents and/or supervisors use it."""
        display = self._display(number)
        group = self.group(group_id)
        if group_id not in display.groups and group.settings.display_number != display.number:
            raise ValidationFailed(f"{display.number} is not linked to answer group {group_id}", field="group")

        def toggled(current: tuple[str, ...], on: bool) -> tuple[str, ...]:
            rest = tuple(g for g in current if g != group_id)
            return (*rest, group_id) if on else rest

        changed = msgspec.structs.replace(
            display,
            agent_access=toggled(display.agent_access, agents),
            supervisor_access=toggled(display.supervisor_access, supervisors),
        )
        if changed == display:
            raise ValidationFailed(f"answer group {group_id} already has this access to {display.number}", field="agents")
        self._display_saved(display=changed)

    @command
    def remove_display_number(self, number: str) -> None:
        """Remove a display number; refused while it is linked to an answer group (seed 001) or in use."""
        display = self._display(number)
        linked = [f"answer group {g}" for g in display.groups] + [
            f"answer group {key}: display_number" for key, g in self.state.groups.items() if g.settings.display_number == display.number
        ]
        if linked:
            raise InUseError(f"{display.number} is linked to {'; '.join(linked)} and cannot be removed", field="number")
        self._refuse_if_referenced("display_number", display.number, f"display number {display.number}", field="number")
        self._display_removed(number=display.number)

    # -- audio files (seed 001 "ljudfiler") -------------------------------------------------------

    def _audio(self, name: str, *, field: str) -> AudioFile:
        try:
            return self.state.audio_files[name]
        except KeyError:
            raise NotFoundError(f"there is no audio file {name!r}", field=field) from None

    @command
    def add_audio_file(self, audio: AudioFile) -> None:
        """Register a recorded or uploaded audio file by name, language, content hash and duration."""
        if audio.name in self.state.audio_files:
            raise AlreadyExistsError(f"audio file {audio.name!r} already exists", field="audio.name")
        self._audio_saved(audio=audio)

    @command
    def update_audio_file(self, audio: AudioFile) -> None:
        """Change an audio file's language or content."""
        if self._audio(audio.name, field="audio.name") == audio:
            raise ValidationFailed("the audio file already has these settings", field="audio.name")
        self._audio_saved(audio=audio)

    @command
    def remove_audio_file(self, name: str) -> None:
        """Delete an audio file; only when nothing uses it (the error lists what does)."""
        self._audio(name, field="name")
        self._refuse_if_referenced("audio", name, f"audio file {name!r}", field="name")
        self._audio_removed(name=name)
