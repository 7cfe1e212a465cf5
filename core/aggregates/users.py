"""Users (seeds 000, 002): profile, numbers, devices, notifications, voice-portal PIN and licence."""

from __future__ import annotations

from typing import Annotated

import msgspec

from core.aggregates.commanding import Command, PinHasher, handles
from core.aggregates.context import CommandContext
from core.aggregates.identifiers import Email, Extension, Name, PhoneNumber, check_pin, normalise_mac, normalise_number, whole
from core.aggregates.loops import refuse_loops
from core.aggregates.state import Device, License, User
from core.aggregates.targets import ToExtension
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import AlreadyExistsError, InUseError, NotFoundError, ValidationFailed

Mac = Annotated[str, msgspec.Meta(min_length=12, max_length=17, description="MAC address, e.g. 00:1a:2b:3c:4d:5e")]
Pin = Annotated[str, msgspec.Meta(pattern=whole(r"[0-9]{6}"), description="exactly 6 digits")]


class AddUser(Command, kw_only=True, tag="add_user"):
    """Add a user with a new extension."""

    extension: Extension
    name: Name
    email: Email | None = None
    license: License = "basic"


class UserAdded(TenantEvent):
    """A user was added. Version 2 adds ``license``: users can be added as Pro directly."""

    TOPIC = "callroute/UserAdded"
    class_version = 2
    extension: str
    name: str
    email: str | None
    license: License

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        """Version 1 had no licence: every user was added with the basic one."""
        state["license"] = "basic"

    def apply(self, tenant: Tenant) -> None:
        tenant.state.users[self.extension] = User(
            extension=self.extension, name=self.name, email=self.email, added_at_version=self.originator_version,
            license=self.license,
        )


@handles(AddUser)
def add_user(tenant: Tenant, cmd: AddUser, ctx: CommandContext) -> None:
    """A new extension, not blank-named; tenant defaults apply to it."""
    if cmd.extension in tenant.state.users:
        raise AlreadyExistsError(f"extension {cmd.extension} already exists", field="extension")
    if not cmd.name.strip():
        raise ValidationFailed("a user name must not be blank", field="name")
    tenant.trigger(UserAdded, ctx, extension=cmd.extension, name=cmd.name.strip(), email=cmd.email, license=cmd.license)


class UpdateUserProfile(Command, kw_only=True, tag="update_user_profile"):
    """Change a user's name and/or e-mail (``email: null`` clears it)."""

    extension: Extension
    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | None | msgspec.UnsetType = msgspec.UNSET


class UserProfileUpdated(TenantEvent):
    TOPIC = "callroute/UserProfileUpdated"
    extension: str
    name: str
    email: str | None

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, name=self.name, email=self.email)


@handles(UpdateUserProfile)
def update_user_profile(tenant: Tenant, cmd: UpdateUserProfile, ctx: CommandContext) -> None:
    """A profile change must change something."""
    user = tenant.user(cmd.extension)
    if cmd.name is not msgspec.UNSET and not cmd.name.strip():
        raise ValidationFailed("a user name must not be blank", field="name")
    name = user.name if cmd.name is msgspec.UNSET else cmd.name.strip()
    email = user.email if cmd.email is msgspec.UNSET else cmd.email
    if (name, email) == (user.name, user.email):
        raise ValidationFailed("the profile change changes nothing: give a new name or e-mail", field="name")
    tenant.trigger(UserProfileUpdated, ctx, extension=cmd.extension, name=name, email=email)


class RemoveUser(Command, kw_only=True, tag="remove_user"):
    """Remove a user (refused while a setting routes calls to it)."""

    extension: Extension


class UserRemoved(TenantEvent):
    TOPIC = "callroute/UserRemoved"
    extension: str

    def apply(self, tenant: Tenant) -> None:
        tenant.state.numbers_left(*tenant.state.users.pop(self.extension).numbers)


@handles(RemoveUser)
def remove_user(tenant: Tenant, cmd: RemoveUser, ctx: CommandContext) -> None:
    """Refused while any setting still sends calls to the user."""
    tenant.user(cmd.extension)
    tenant.refuse_if_referenced("user", cmd.extension, f"extension {cmd.extension}", field="extension")
    tenant.trigger(UserRemoved, ctx, extension=cmd.extension)


class AssignNumber(Command, kw_only=True, tag="assign_number"):
    """Assign a number to a user."""

    extension: Extension
    number: PhoneNumber


class NumberAssigned(TenantEvent):
    TOPIC = "callroute/NumberAssigned"
    extension: str
    number: str

    def apply(self, tenant: Tenant) -> None:
        user = tenant.state.users[self.extension]
        tenant.state.replace_user(self.extension, numbers=(*user.numbers, self.number),
                                  default_number=user.default_number or self.number)


@handles(AssignNumber)
def assign_number(tenant: Tenant, cmd: AssignNumber, ctx: CommandContext) -> None:
    """A number free in the tenant; the user's first becomes its default number."""
    tenant.user(cmd.extension)
    number = tenant.free_number(cmd.number, field="number")
    refuse_loops(tenant.state, [(("number", number), "number")], numbers={number: ToExtension(extension=cmd.extension)})
    tenant.trigger(NumberAssigned, ctx, extension=cmd.extension, number=number)


def _owned_number(user: User, number: str) -> str:
    normal = normalise_number(number, field="number")
    if normal not in user.numbers:
        raise NotFoundError(f"{normal} is not assigned to extension {user.extension}", field="number")
    return normal


class UnassignNumber(Command, kw_only=True, tag="unassign_number"):
    """Take a number from a user."""

    extension: Extension
    number: PhoneNumber


class NumberUnassigned(TenantEvent):
    TOPIC = "callroute/NumberUnassigned"
    extension: str
    number: str

    def apply(self, tenant: Tenant) -> None:
        user = tenant.state.users[self.extension]
        numbers = tuple(n for n in user.numbers if n != self.number)
        default = user.default_number if user.default_number != self.number else (numbers[0] if numbers else None)
        presentation = None if user.presentation_number == self.number else user.presentation_number
        tenant.state.replace_user(self.extension, numbers=numbers, default_number=default, presentation_number=presentation)
        tenant.state.numbers_left(self.number)


@handles(UnassignNumber)
def unassign_number(tenant: Tenant, cmd: UnassignNumber, ctx: CommandContext) -> None:
    """The number leaves the user, and its default and presentation roles."""
    user = tenant.user(cmd.extension)
    tenant.trigger(NumberUnassigned, ctx, extension=cmd.extension, number=_owned_number(user, cmd.number))


class SetDefaultNumber(Command, kw_only=True, tag="set_default_number"):
    """Choose the user's default number."""

    extension: Extension
    number: PhoneNumber


class DefaultNumberSet(TenantEvent):
    TOPIC = "callroute/DefaultNumberSet"
    extension: str
    number: str

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, default_number=self.number)


@handles(SetDefaultNumber)
def set_default_number(tenant: Tenant, cmd: SetDefaultNumber, ctx: CommandContext) -> None:
    """One of the user's own numbers (seed 002)."""
    user = tenant.user(cmd.extension)
    tenant.trigger(DefaultNumberSet, ctx, extension=cmd.extension, number=_owned_number(user, cmd.number))


class SetPresentationNumber(Command, kw_only=True, tag="set_presentation_number"):
    """Choose the number shown on outgoing calls (omitted: the default number)."""

    extension: Extension
    number: PhoneNumber | None = None


class PresentationNumberSet(TenantEvent):
    TOPIC = "callroute/PresentationNumberSet"
    extension: str
    number: str | None

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, presentation_number=self.number)


@handles(SetPresentationNumber)
def set_presentation_number(tenant: Tenant, cmd: SetPresentationNumber, ctx: CommandContext) -> None:
    """One of the user's numbers or a display number assigned to the user."""
    user = tenant.user(cmd.extension)
    normal = None
    if cmd.number is not None:
        normal = normalise_number(cmd.number, field="number")
        display = tenant.state.display_numbers.get(normal)
        if normal not in user.numbers and (display is None or cmd.extension not in display.users):
            raise NotFoundError(
                f"{normal} is neither assigned to extension {cmd.extension} nor a display number assigned to it", field="number"
            )
    tenant.trigger(PresentationNumberSet, ctx, extension=cmd.extension, number=normal)


class AddDevice(Command, kw_only=True, tag="add_device"):
    """Register a device by MAC address."""

    extension: Extension
    mac: Mac
    model: Name | None = None


class DeviceAdded(TenantEvent):
    TOPIC = "callroute/DeviceAdded"
    extension: str
    mac: str
    model: str | None

    def apply(self, tenant: Tenant) -> None:
        user = tenant.state.users[self.extension]
        tenant.state.replace_user(self.extension, devices=(*user.devices, Device(mac=self.mac, model=self.model)))


@handles(AddDevice)
def add_device(tenant: Tenant, cmd: AddDevice, ctx: CommandContext) -> None:
    """A MAC address registered to no other user."""
    tenant.user(cmd.extension)
    mac = normalise_mac(cmd.mac, field="mac")
    for other in tenant.state.users.values():
        if any(d.mac == mac for d in other.devices):
            raise AlreadyExistsError(f"device {mac} is already registered to extension {other.extension}", field="mac")
    tenant.trigger(DeviceAdded, ctx, extension=cmd.extension, mac=mac, model=cmd.model)


class RemoveDevice(Command, kw_only=True, tag="remove_device"):
    """Unregister a device."""

    extension: Extension
    mac: Mac


class DeviceRemoved(TenantEvent):
    TOPIC = "callroute/DeviceRemoved"
    extension: str
    mac: str

    def apply(self, tenant: Tenant) -> None:
        user = tenant.state.users[self.extension]
        tenant.state.replace_user(self.extension, devices=tuple(d for d in user.devices if d.mac != self.mac))


@handles(RemoveDevice)
def remove_device(tenant: Tenant, cmd: RemoveDevice, ctx: CommandContext) -> None:
    """A device the user has."""
    user = tenant.user(cmd.extension)
    mac = normalise_mac(cmd.mac, field="mac")
    if not any(d.mac == mac for d in user.devices):
        raise NotFoundError(f"extension {cmd.extension} has no device {mac}", field="mac")
    tenant.trigger(DeviceRemoved, ctx, extension=cmd.extension, mac=mac)


class SetPermanentRedirect(Command, kw_only=True, tag="set_permanent_redirect"):
    """Redirect the user's device permanently to a number (omitted: no redirect)."""

    extension: Extension
    number: PhoneNumber | None = None


class PermanentRedirectSet(TenantEvent):
    TOPIC = "callroute/PermanentRedirectSet"
    extension: str
    number: str | None

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, permanent_redirect=self.number)


@handles(SetPermanentRedirect)
def set_permanent_redirect(tenant: Tenant, cmd: SetPermanentRedirect, ctx: CommandContext) -> None:
    """Every call for the user's device goes to the number (seed 002 "Device"); one of the tenant's may not close a loop."""
    user = tenant.user(cmd.extension)
    normal = None if cmd.number is None else normalise_number(cmd.number, field="number")
    refuse_loops(tenant.state, [(("user", cmd.extension), "number")],
                 users={cmd.extension: msgspec.structs.replace(user, permanent_redirect=normal)})
    tenant.trigger(PermanentRedirectSet, ctx, extension=cmd.extension, number=normal)


class SetNotifications(Command, kw_only=True, tag="set_notifications"):
    """Missed-call and new-voicemail notifications."""

    extension: Extension
    missed_call: bool | None = None
    voicemail: bool | None = None


class NotificationsSet(TenantEvent):
    TOPIC = "callroute/NotificationsSet"
    extension: str
    missed_call: bool
    voicemail: bool

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, notify_missed_call=self.missed_call, notify_voicemail=self.voicemail)


@handles(SetNotifications)
def set_notifications(tenant: Tenant, cmd: SetNotifications, ctx: CommandContext) -> None:
    """At least one of the two; the other keeps its value."""
    user = tenant.user(cmd.extension)
    if cmd.missed_call is None and cmd.voicemail is None:
        raise ValidationFailed("give missed_call and/or voicemail", field="missed_call")
    tenant.trigger(
        NotificationsSet, ctx, extension=cmd.extension,
        missed_call=user.notify_missed_call if cmd.missed_call is None else cmd.missed_call,
        voicemail=user.notify_voicemail if cmd.voicemail is None else cmd.voicemail,
    )


class SetVoicePortalPin(Command, kw_only=True, tag="set_voice_portal_pin"):
    """Set the voice-portal PIN (exactly 6 digits; only a salted hash is stored)."""

    extension: Extension
    pin: Pin

    def __repr__(self) -> str:
        return f"SetVoicePortalPin(tenant={self.tenant!r}, extension={self.extension!r}, pin='******')"


class VoicePortalPinSet(TenantEvent):
    TOPIC = "callroute/VoicePortalPinSet"
    extension: str
    pin_hash: str

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, pin_hash=self.pin_hash)


@handles(SetVoicePortalPin)
def set_voice_portal_pin(tenant: Tenant, cmd: SetVoicePortalPin, ctx: CommandContext) -> None:
    """Hashed here, once: the event holds only the salted slow hash."""
    tenant.user(cmd.extension)
    check_pin(cmd.pin)
    hasher: PinHasher = ctx.pin_hasher  # type: ignore[assignment]
    tenant.trigger(VoicePortalPinSet, ctx, extension=cmd.extension, pin_hash=hasher.hash(cmd.pin))


class SetUserLicense(Command, kw_only=True, tag="set_user_license"):
    """Basic or Pro licence for a user (only Pro users may supervise answer groups)."""

    extension: Extension
    license: License


class UserLicenseSet(TenantEvent):
    TOPIC = "callroute/UserLicenseSet"
    extension: str
    license: License

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, license=self.license)


@handles(SetUserLicense)
def set_user_license(tenant: Tenant, cmd: SetUserLicense, ctx: CommandContext) -> None:
    """A supervisor keeps the Pro licence (seed 001 "endast Pro")."""
    user = tenant.user(cmd.extension)
    if cmd.license == "basic":
        supervising = [key for key, g in tenant.state.groups.items() if cmd.extension in g.supervisors]
        if supervising:
            raise InUseError(
                f"extension {cmd.extension} supervises {', '.join(supervising)}; supervisors must be Pro users", field="license"
            )
    if user.license == cmd.license:
        raise ValidationFailed(f"extension {cmd.extension} already has the {cmd.license} licence", field="license")
    tenant.trigger(UserLicenseSet, ctx, extension=cmd.extension, license=cmd.license)


__all__ = [
    "AddDevice", "AddUser", "AssignNumber", "RemoveDevice", "RemoveUser", "SetDefaultNumber", "SetNotifications",
    "SetPermanentRedirect", "SetPresentationNumber", "SetUserLicense", "SetVoicePortalPin", "UnassignNumber",
    "UpdateUserProfile",
]
