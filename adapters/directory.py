"""The PBX directory used to check members of other PBXs (seed 003).

Cloud PBXs are the other tenants of the same callroute store: their member list is
their users. Office (SIP) PBXs are listed in a TOML file (``--pbx-directory`` or
``$CALLROUTE_PBX_DIRECTORY``) until an adapter asks the PBX itself::

    [sip_pbx.kyiv-office]
    name = "Kyiv office"
    internal_numbers = ["101", "102", "205"]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from core.errors import DomainError


class SipPbx(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One office PBX and its internal numbers."""

    name: str
    internal_numbers: tuple[Annotated[str, msgspec.Meta(pattern=r"^[0-9*#]{1,12}$")], ...]


class DirectoryFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The SIP PBX directory file."""

    sip_pbx: dict[str, SipPbx] = {}


def load_directory_file(path: Path) -> DirectoryFile:
    """Read and validate a directory file; errors name the field (``$.sip_pbx.kyiv.internal_numbers[2]``)."""
    document = msgspec.toml.decode(path.read_bytes(), type=dict[str, dict[str, object]])
    unknown = set(document) - {"sip_pbx"}
    if unknown:
        raise msgspec.ValidationError(f"Object contains unknown field `{sorted(unknown)[0]}` - at `$`")
    entries = {}
    for key, value in document.get("sip_pbx", {}).items():
        try:
            entries[key] = msgspec.convert(value, SipPbx)
        except msgspec.ValidationError as exc:
            # msgspec writes dict keys as [...]; name the PBX instead.
            raise msgspec.ValidationError(str(exc).replace("`$", f"`$.sip_pbx.{key}")) from None
    return DirectoryFile(sip_pbx=entries)


class StoreDirectory:
    """Cloud PBXs from the same store's tenants, SIP PBXs from a directory file."""

    def __init__(self, tenant_users: Callable[[str], Mapping[str, str] | None], sip: DirectoryFile | None = None) -> None:
        self._tenant_users = tenant_users
        self._sip = sip or DirectoryFile()

    def cloud_members(self, pbx: str) -> Mapping[str, str] | None:
        return self._tenant_users(pbx)

    def sip_internal_number_exists(self, pbx: str, internal_number: str) -> bool | None:
        entry = self._sip.sip_pbx.get(pbx)
        if entry is None:
            return None
        return internal_number in entry.internal_numbers


def tenant_users_of(app: object) -> Callable[[str], Mapping[str, str] | None]:
    """Extension → name of the users of another tenant of ``app``'s store (``None``: no such tenant)."""

    def users(slug: str) -> Mapping[str, str] | None:
        try:
            state = app.tenant(slug).state  # type: ignore[attr-defined]
        except DomainError:
            return None
        return {ext: user.name for ext, user in state.users.items()}

    return users
