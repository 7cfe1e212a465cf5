"""The tenant's commands on users: profiles, numbers, devices, notifications, diverts, schedules, own call handling, PIN and licence."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from core.aggregates.chained import command
from core.aggregates.commands_base import TenantCommands
from core.aggregates.handling import BUILT_IN, CallHandling, SettingName, first_set
from core.aggregates.identifiers import check_pin, normalise_mac, normalise_number
from core.aggregates.schedule import OutOfHours, UnavailableBetween
from core.aggregates.state import License, User
from core.aggregates.targets import Condition, DivertTarget, ToExtension
from core.errors import AlreadyExistsError, ForwardLoopError, InUseError, NotAllowedError, NotFoundError, ValidationFailed


class PinHasher(Protocol):
    """Turns a PIN into a salted slow hash; supplied by the edge (core draws no random salt)."""

    def hash(self, pin: str) -> str: ...


class UserCommands(TenantCommands):
    """Commands on a tenant's users (mixed into ``Tenant``)."""

    # -- users -------------------------------------------------------------------------

    @command
    def add_user(self, extension: str, name: str, email: str | None = None, license: License = "basic") -> None:
        """Add a user with a new extension (basic or Pro licence); tenant defaults apply to it."""
        if extension in self.state.users:
            raise AlreadyExistsError(f"extension {extension} already exists", field="extension")
        if not name.strip():
            raise ValidationFailed("a user name must not be blank", field="name")
        self._user_added(extension=extension, name=name.strip(), email=email, license=license)

    @command
    def update_user_profile(self, extension: str, name: str | None = None, email: Any = msgspec.UNSET) -> None:
        """Change a user's full name and/or e-mail (``email=None`` clears it)."""
        user = self.user(extension)
        if name is not None and not name.strip():
            raise ValidationFailed("a user name must not be blank", field="name")
        new_name = user.name if name is None else name.strip()
        new_email = user.email if email is msgspec.UNSET else email
        if (new_name, new_email) == (user.name, user.email):
            raise ValidationFailed("the profile change changes nothing: give a new name or e-mail", field="name")
        self._profile_updated(extension=extension, name=new_name, email=new_email)

    @command
    def remove_user(self, extension: str) -> None:
        """Remove a user; refused while any setting still sends calls to it."""
        self.user(extension)
        self._refuse_if_referenced("user", extension, f"extension {extension}", field="extension")
        self._user_removed(extension=extension)

    # -- numbers -------------------------------------------------------------------------

    def _free_number(self, number: str, *, field: str, keep: str | None = None) -> str:
        """``number`` in E.164, refused if it already enters somewhere else than ``keep``."""
        normal = normalise_number(number, field=field)
        owner = self.state.number_owner(normal)
        if owner is not None and owner != keep:
            raise AlreadyExistsError(f"{normal} is already assigned to {owner}", field=field)
        return normal

    @command
    def assign_number(self, extension: str, number: str) -> None:
        """Assign a number to a user; the first one becomes the default number."""
        self.user(extension)
        number = self._free_number(number, field="number")
        self._number_assigned(extension=extension, number=number)

    def _owned_number(self, user: User, number: str, *, field: str = "number") -> str:
        normal = normalise_number(number, field=field)
        if normal not in user.numbers:
            raise NotFoundError(f"{normal} is not assigned to extension {user.extension}", field=field)
        return normal

    @command
    def unassign_number(self, extension: str, number: str) -> None:
        """Take a number from a user (and from its default/presentation roles)."""
        user = self.user(extension)
        self._number_unassigned(extension=extension, number=self._owned_number(user, number))

    @command
    def set_default_number(self, extension: str, number: str) -> None:
        """Choose which of the user's numbers the app uses by default (seed 002)."""
        user = self.user(extension)
        self._default_number_set(extension=extension, number=self._owned_number(user, number))

    @command
    def set_presentation_number(self, extension: str, number: str | None) -> None:
        """Choose the number shown on outgoing calls (``None``: the default number)."""
        user = self.user(extension)
        normal = None
        if number is not None:
            normal = normalise_number(number, field="number")
            display = self.state.display_numbers.get(normal)
            if normal not in user.numbers and (display is None or extension not in display.users):
                raise NotFoundError(
                    f"{normal} is neither assigned to extension {extension} nor a display number assigned to it", field="number"
                )
        self._presentation_number_set(extension=extension, number=normal)

    # -- devices -------------------------------------------------------------------------

    @command
    def add_device(self, extension: str, mac: str, model: str | None = None) -> None:
        """Register hardware (a desk phone) to a user by its MAC address."""
        self.user(extension)
        mac = normalise_mac(mac, field="mac")
        for other in self.state.users.values():
            if any(d.mac == mac for d in other.devices):
                raise AlreadyExistsError(f"device {mac} is already registered to extension {other.extension}", field="mac")
        self._device_added(extension=extension, mac=mac, model=model)

    @command
    def remove_device(self, extension: str, mac: str) -> None:
        """Unregister a device from a user."""
        user = self.user(extension)
        mac = normalise_mac(mac, field="mac")
        if not any(d.mac == mac for d in user.devices):
            raise NotFoundError(f"extension {extension} has no device {mac}", field="mac")
        self._device_removed(extension=extension, mac=mac)

    @command
    def set_permanent_redirect(self, extension: str, number: str | None) -> None:
        """Redirect every call for the user's device to a number (seed 002 "Device"); ``None`` ends it."""
        self.user(extension)
        normal = None if number is None else normalise_number(number, field="number")
        self._permanent_redirect_set(extension=extension, number=normal)

    @command
    def set_notifications(self, extension: str, missed_call: bool | None = None, voicemail: bool | None = None) -> None:
        """Choose whether the user is notified of missed calls and of new voicemail."""
        user = self.user(extension)
        if missed_call is None and voicemail is None:
            raise ValidationFailed("give missed_call and/or voicemail", field="missed_call")
        self._notifications_set(
            extension=extension,
            missed_call=user.notify_missed_call if missed_call is None else missed_call,
            voicemail=user.notify_voicemail if voicemail is None else voicemail,
        )

    # -- diverts, schedules, per-user handling ---------------------------------------------

    def _check_forward_loop(self, extension: str, target: DivertTarget) -> None:
        """Refuse a forward-always that would close a cycle of unconditional forwards."""
        path = [extension]
        current: DivertTarget = target
        while isinstance(current, ToExtension):
            path.append(current.extension)
            if current.extension in path[:-1]:
                chain = " → ".join(path)
                raise ForwardLoopError(f"forward-always would loop: {chain}", field="target")
            current = self.state.users[current.extension].forward_always

    @command
    def set_divert(self, extension: str, condition: Condition, target: DivertTarget, ring_seconds: int | None = None) -> None:
        """Set one divert of a user (seed 000): always, no answer, busy or unreachable."""
        user = self.user(extension)
        target = self._destination(target, field="target", owner=extension)
        if ring_seconds is not None and condition != "no_answer":
            raise ValidationFailed("ring_seconds applies only to the no_answer divert", field="ring_seconds")
        if condition == "always":
            self._check_forward_loop(extension, target)
        if condition == "no_answer" and ring_seconds is None:
            current = first_set(user.own.no_answer, user.pinned.no_answer, self.state.defaults.no_answer, BUILT_IN.no_answer)
            ring_seconds = current.ring_seconds  # type: ignore[union-attr]
        self._divert_set(extension=extension, condition=condition, target=target, ring_seconds=ring_seconds)

    @command
    def set_out_of_hours(self, extension: str, out_of_hours: OutOfHours | None) -> None:
        """Set (or with ``None`` remove) the user's weekly out-of-hours schedule (seed 002)."""
        self.user(extension)
        if out_of_hours is not None:
            for day, schedule in out_of_hours.days.items():
                if isinstance(schedule, UnavailableBetween) and schedule.start == schedule.end:
                    raise ValidationFailed(
                        "an unavailable window needs different start and end (use 'unavailable' for the whole day)",
                        field=f"out_of_hours.days.{day}.end",
                    )
            target = self._destination(out_of_hours.when_unavailable, field="out_of_hours.when_unavailable", owner=extension)
            out_of_hours = msgspec.structs.replace(out_of_hours, when_unavailable=target)
        self._out_of_hours_set(extension=extension, out_of_hours=out_of_hours)

    @command
    def set_reject_anonymous(self, extension: str, enabled: bool) -> None:
        """Reject callers who withhold their number (seed 002)."""
        self.user(extension)
        self._reject_anonymous_set(extension=extension, enabled=enabled)

    @command
    def set_user_call_handling(self, extension: str, changes: CallHandling) -> None:
        """Set user-level call-handling values (call waiting, greeting, transcription, rejected, display)."""
        self.user(extension)
        names = changes.set_fields()
        if not names:
            raise ValidationFailed("no call-handling value given", field="changes")
        if changes.transcription is not None and not self.state.transcription_users_may_change:
            raise NotAllowedError("the tenant does not let users change voicemail transcription", field="transcription")
        normal = {name: self._destination(getattr(changes, name), field=name, owner=extension) for name in names}
        self._user_handling_changed(extension=extension, changes=CallHandling(**normal))

    @command
    def reset_user_call_handling(self, extension: str, settings: tuple[SettingName, ...]) -> None:
        """Forget the user's own values of ``settings``, so the tenant defaults apply again."""
        user = self.user(extension)
        if not settings:
            raise ValidationFailed("name at least one setting to reset", field="settings")
        unset = [name for name in settings if getattr(user.own, name) is None]
        if unset:
            raise ValidationFailed(f"extension {extension} has no own value for {', '.join(unset)}", field="settings")
        self._user_handling_reset(extension=extension, settings=tuple(settings))

    @command
    def set_voice_portal_pin(self, extension: str, pin: str, hasher: PinHasher) -> None:
        """Set the voice-portal PIN (exactly 6 digits); only its salted slow hash is recorded."""
        self.user(extension)
        check_pin(pin)
        self._pin_set(extension=extension, pin_hash=hasher.hash(pin))

    # -- licences (seed 001) -------------------------------------------------------------------

    @command
    def set_user_license(self, extension: str, license: License) -> None:
        """Give a user the basic or the Pro licence (only Pro users may supervise groups)."""
        user = self.user(extension)
        if license == "basic":
            supervising = [key for key, g in self.state.groups.items() if extension in g.supervisors]
            if supervising:
                raise InUseError(
                    f"extension {extension} supervises {', '.join(supervising)}; supervisors must be Pro users", field="license"
                )
        if user.license == license:
            raise ValidationFailed(f"extension {extension} already has the {license} licence", field="license")
        self._license_set(extension=extension, license=license)
