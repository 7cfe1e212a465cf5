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

from core.aggregates.rules import CloudAccess
from adapters.inputs import InputError, read_document
from core.aggregates.identifiers import Name, whole
from core.errors import DomainError


class SipPbx(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One office PBX and its internal numbers."""

    name: Name
    internal_numbers: tuple[Annotated[str, msgspec.Meta(pattern=whole(r"[0-9*#]{1,12}"))], ...]


class DirectoryFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The SIP PBX directory file."""

    sip_pbx: dict[str, SipPbx] = {}


def load_directory_file(path: Path, *, where: str | None = None) -> DirectoryFile:
    """Read and validate a directory file through the edge reader (``adapters.inputs``: size, UTF-8, nesting).

    Every problem is one ``InputError`` line after ``where`` (default: the path); a field is named as
    ``$.sip_pbx.kyiv.internal_numbers[2]``.
    """
    where = str(path) if where is None else where
    document = read_document(path, dict[str, dict[str, object]], format="toml", where=where)
    unknown = set(document) - {"sip_pbx"}
    if unknown:
        raise InputError(where, f"Object contains unknown field `{sorted(unknown)[0]}` - at `$`")
    entries = {}
    for key, value in document.get("sip_pbx", {}).items():
        try:
            entries[key] = msgspec.convert(value, SipPbx)
        except msgspec.ValidationError as exc:
            # msgspec writes dict keys as [...]; name the PBX instead.
            raise InputError(where, str(exc).replace("`$", f"`$.sip_pbx.{key}")) from None
    return DirectoryFile(sip_pbx=entries)


class StoreDirectory:
    """Cloud PBXs from the same store's tenants, SIP PBXs from a directory file.

    ``tenant_access`` tells who may act for another tenant (``tenant_access_of``); without it
    only operators may link a cloud PBX or take its members (``core.aggregates.rules.check_cloud_rights``).
    """

    def __init__(self, tenant_users: Callable[[str], Mapping[str, str] | None], sip: DirectoryFile | None = None,
                 tenant_access: Callable[[str], CloudAccess | None] | None = None) -> None:
        self._tenant_users = tenant_users
        self._sip = sip or DirectoryFile()
        self._tenant_access = tenant_access

    def cloud_members(self, pbx: str) -> Mapping[str, str] | None:
        return self._tenant_users(pbx)

    def cloud_access(self, pbx: str) -> CloudAccess | None:
        return self._tenant_access(pbx) if self._tenant_access is not None else None

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


def tenant_access_of(app: object) -> Callable[[str], CloudAccess | None]:
    """Who may act for another tenant of ``app``'s store: its principals' permissions and partner (``None``: no such tenant)."""

    def access(slug: str) -> CloudAccess | None:
        try:
            state = app.tenant(slug).state  # type: ignore[attr-defined]
        except DomainError:
            return None
        return CloudAccess(admins=dict(state.admins), partner=state.partner)

    return access
