"""Named domain errors: each says which field broke which rule."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; nothing was recorded.

    ``field`` names the offending command field (dotted for nested values) so the
    edge can point at it; ``rule`` is a short stable code for machines.
    """

    rule = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationFailed(DomainError):
    """A value breaks a rule (format, range, uniqueness)."""

    rule = "validation"


class MalformedNumberError(ValidationFailed):
    """A phone number is not a valid E.164 number."""

    rule = "malformed_number"


class MalformedMacError(ValidationFailed):
    """A device MAC address is not six hexadecimal octets."""

    rule = "malformed_mac"


class PinRuleError(ValidationFailed):
    """A voice-portal PIN is not exactly six digits."""

    rule = "pin"


class UnknownTimeZoneError(ValidationFailed):
    """A time zone is not an IANA zone name."""

    rule = "unknown_time_zone"


class NotFoundError(DomainError):
    """Something a command refers to does not exist."""

    rule = "not_found"


class UnknownTenantError(NotFoundError):
    """No tenant has that id."""

    rule = "unknown_tenant"


class UnknownExtensionError(NotFoundError):
    """No user of the tenant has that extension."""

    rule = "unknown_extension"


class ConflictError(DomainError):
    """The command contradicts the current state."""

    rule = "conflict"


class AlreadyExistsError(ConflictError):
    """Something with that key already exists."""

    rule = "already_exists"


class TenantClosedError(ConflictError):
    """The tenant is closed; it accepts no more changes."""

    rule = "tenant_closed"


class ForwardLoopError(ConflictError):
    """The change would close a routing loop that calls nobody answers go round for ever (``core/aggregates/loops.py``)."""

    rule = "forward_loop"


class InUseError(ConflictError):
    """Something cannot be removed while other settings refer to it."""

    rule = "in_use"


class NotAllowedError(ConflictError):
    """The tenant's policy forbids this change (e.g. users may not change transcription)."""

    rule = "not_allowed"


class PermissionDeniedError(DomainError):
    """The actor may not read or change this tenant's telephony settings."""

    rule = "permission_denied"


class TenantNotVisibleError(PermissionDeniedError):
    """The actor may not read the tenant, or it does not exist: the two look the same (``core/aggregates/access.py``)."""


class PlanLimitError(ConflictError):
    """The tenant's plan (with what was bought) allows no more of something."""

    rule = "plan_limit"


class ConcurrentChangeError(ConflictError):
    """Other writers kept changing the tenant while this batch retried; nothing was stored (retry later)."""

    rule = "concurrent_change"


class StoreIntegrityError(Exception):
    """What was read from the store is not what was written: an edited, missing or forged event, snapshot or
    projection row. Readers refuse to serve it and writers refuse to append after it; ``callroute audit verify``
    says where and what."""

    def __init__(self, record: str, version: int | None, detail: str) -> None:
        super().__init__(f"{record}" + (f" at version {version}" if version is not None else "") + f": {detail}")
        self.record = record
        self.version = version
        self.detail = detail
