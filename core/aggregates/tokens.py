"""The service's access record: which bearer tokens stand for which principal, as hash-chained events.

A bearer token of the HTTP API is drawn at the edge (``adapters/tokens.py``: core draws no random
number) and shown once; the store keeps only its SHA-256 (``token_hash``). The token itself is 256
random bits, so its hash cannot be turned back into it by guessing, however fast the hash: a slow
password hash (Argon2, as for the six-digit voice-portal PIN) protects low-entropy secrets and would
cost every request tens of milliseconds for nothing here.

Issuing and revoking a token are events on one record of the store (``access_record_id``), chained
like a tenant's and its provisioning record's (``chained.py``), so grants are audited like every
other change: who issued which token for whom, when and why, and when it was revoked. Only a platform
operator may issue or revoke a token (a token can stand for an operator, or for any partner).

``TokenBook`` keeps a copy of the record that follows the store (each look-up first applies the events
stored since, one indexed read), so a token revoked by another process is refused at its next use.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from core.aggregates.chain import GENESIS
from core.aggregates.chained import Chained, ChainedEvent
from core.aggregates.context import Actor, CommandContext
from core.aggregates.identifiers import NAME_RULE, REASON_RULE, TENANT_NAMESPACE, Principal, Reason, rule_problem
from core.errors import AlreadyExistsError, ConcurrentChangeError, ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed

TOKEN_ID = re.compile(r"[0-9a-f]{12,32}")
"""A token's public id: 12 to 32 lowercase hex digits (the edge draws 16)."""
TOKEN_HASH = re.compile(r"[0-9a-f]{64}")
TOKEN_PREFIX = "crt_"
"""Every token reads ``crt_<id>_<secret>``: the id finds its grant, the whole token's SHA-256 must be the stored one."""


def access_record_id() -> uuid.UUID:
    """The aggregate id of the store's one access record."""
    return uuid.uuid5(TENANT_NAMESPACE, "#access-tokens")


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token as the record keeps it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id_of(token: str) -> str | None:
    """The id a token carries (``crt_<id>_<secret>``), or None when it is not of that form."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or not secret or TOKEN_ID.fullmatch(token_id) is None:
        return None
    return token_id


class TokenGrant(msgspec.Struct, frozen=True):
    """One token: whom it stands for, who issued it and when, and whether it was revoked (never the token or its hash)."""

    token_id: str
    principal: str
    partner: str | None
    operator: bool
    issued_at: datetime
    issued_by: str
    reason: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(principal=self.principal, partner=self.partner, operator=self.operator)


class AccessEvent(ChainedEvent):
    TOPIC = "callroute/AccessEvent"


class AccessRecordOpened(AccessEvent, Aggregate.Created):
    TOPIC = "callroute/AccessRecordOpened"


class TokenIssued(AccessEvent):
    """A token was issued; ``token_hash`` is the SHA-256 of the token (the token itself is never stored).

    (``hash`` and ``partner`` are the chain's and the issuer's fields, as on every chained event.)"""

    TOPIC = "callroute/TokenIssued"
    token_id: str
    token_hash: str
    principal: str
    principal_partner: str | None
    """The channel partner the token's principal acts for (``partner`` is the issuer's, as on every chained event)."""
    operator: bool

    def apply(self, record: AccessRecord) -> None:
        record.grants[self.token_id] = TokenGrant(token_id=self.token_id, principal=self.principal, partner=self.principal_partner,
                                                  operator=self.operator, issued_at=self.timestamp, issued_by=self.actor,
                                                  reason=self.reason)
        record.hashes[self.token_id] = self.token_hash


class TokenRevoked(AccessEvent):
    TOPIC = "callroute/TokenRevoked"
    token_id: str

    def apply(self, record: AccessRecord) -> None:
        grant = record.grants[self.token_id]
        record.grants[self.token_id] = msgspec.structs.replace(grant, revoked_at=self.timestamp, revoked_by=self.actor)


class AccessRecord(Chained, Aggregate):
    """The tokens of the service (see the module's docstring)."""

    TOPIC = "callroute/AccessRecord"
    Event = AccessEvent
    Created = AccessRecordOpened

    grants: dict[str, TokenGrant]
    hashes: dict[str, str]
    head: str

    @event(AccessRecordOpened)
    def __init__(self) -> None:
        self.grants = {}
        self.hashes = {}
        self.head = GENESIS

    @classmethod
    def open(cls, ctx: CommandContext) -> AccessRecord:
        record = cls._create(cls.Created, id=access_record_id(), timestamp=ctx.at, actor=ctx.actor.principal,
                             partner=ctx.actor.partner, reason=ctx.reason, prev_hash=GENESIS, hash="")
        record._seal(record.pending_events[-1])
        return record

    def actor_for(self, token: str) -> Actor | None:
        """The principal ``token`` stands for, or None: unknown, malformed or revoked."""
        token_id = token_id_of(token)
        if token_id is None:
            return None
        grant = self.grants.get(token_id)
        if grant is None or grant.revoked_at is not None:
            return None
        if not hmac.compare_digest(self.hashes[token_id], token_hash(token)):
            return None
        return grant.actor


def load_access_record(app: Any, record: AccessRecord | None = None) -> AccessRecord | None:
    """The access record as stored: ``record`` brought up to date with the events stored after it (``None``: from the first).

    Read from the events, never the application's aggregate cache (which does not follow other processes); each event
    is checked as it is decoded and applied (its hash, its version, its link: ``core/integrity.py``).
    """
    after = 0 if record is None else record.version
    for stored in app.events.get(access_record_id(), gt=after):
        record = stored.mutate(record)
    return record


def _check_issuer(actor: Actor) -> None:
    if not actor.operator:
        raise PermissionDeniedError(f"{actor.principal!r} is not a platform operator: only an operator issues or revokes "
                                    "tokens of the service", field="actor")


def _check_name(value: str | None, field: str) -> None:
    if value is not None and (problem := rule_problem(value, Principal, NAME_RULE)) is not None:
        raise ValidationFailed(problem, field=field)


def _change(app: Any, actor: Actor, reason: str | None, attempts: int, change: Callable[[AccessRecord, CommandContext], TokenGrant]
            ) -> TokenGrant:
    """Apply ``change`` to the access record as stored now and save it; again on fresh state when another writer got in first."""
    _check_issuer(actor)
    if reason is not None and (problem := rule_problem(reason, Reason, REASON_RULE)) is not None:
        raise ValidationFailed(problem, field="reason")
    for _ in range(attempts):
        ctx = CommandContext(actor=actor, at=app.clock.now(), reason=reason)
        record = load_access_record(app)
        if record is None:
            record = AccessRecord.open(ctx)
        else:
            record.check_writable(ctx)
        grant = change(record, ctx)
        try:
            app.save(record)
        except IntegrityError:
            continue
        return grant
    raise ConcurrentChangeError(f"other writers kept changing the access record through {attempts} attempts; nothing was stored, "
                                "retry")


def issue_token(app: Any, actor: Actor, *, token_id: str, token_hash: str, principal: str, partner: str | None = None,
                operator: bool = False, reason: str | None = None, attempts: int = 8) -> TokenGrant:
    """Record a token (its id and SHA-256) standing for ``principal`` (acting for ``partner``; a platform ``operator``).

    ``actor`` must be an operator (``PermissionDeniedError``); the id must be new (``AlreadyExistsError``).
    """
    if TOKEN_ID.fullmatch(token_id) is None:
        raise ValidationFailed("a token id is 12 to 32 lowercase hex digits", field="token_id")
    if TOKEN_HASH.fullmatch(token_hash) is None:
        raise ValidationFailed("a token hash is the SHA-256 of the token, 64 lowercase hex digits", field="token_hash")
    _check_name(principal, "principal")
    _check_name(partner, "partner")
    if operator and partner is not None:
        raise ValidationFailed("an operator acts for every tenant, never for one partner: give --partner or --operator", field="partner")

    def issue(record: AccessRecord, ctx: CommandContext) -> TokenGrant:
        if token_id in record.grants:
            raise AlreadyExistsError(f"token {token_id} already exists", field="token_id")
        record.trigger(TokenIssued, ctx, token_id=token_id, token_hash=token_hash, principal=principal,
                       principal_partner=partner, operator=operator)
        return record.grants[token_id]

    return _change(app, actor, reason, attempts, issue)


def revoke_token(app: Any, actor: Actor, token_id: str, *, reason: str | None = None, attempts: int = 8) -> TokenGrant:
    """Revoke a token: from then on it stands for nobody. An unknown or already revoked id is refused."""

    def revoke(record: AccessRecord, ctx: CommandContext) -> TokenGrant:
        grant = record.grants.get(token_id)
        if grant is None:
            raise NotFoundError(f"no token {token_id!r}", field="token_id")
        if grant.revoked_at is not None:
            raise ConflictError(f"token {token_id} was revoked already, at {grant.revoked_at.isoformat()}", field="token_id")
        record.trigger(TokenRevoked, ctx, token_id=token_id)
        return record.grants[token_id]

    return _change(app, actor, reason, attempts, revoke)


def list_tokens(app: Any, actor: Actor) -> list[TokenGrant]:
    """Every token ever issued, in the order issued (ids and principals, never a secret): for an operator only."""
    _check_issuer(actor)
    record = load_access_record(app)
    return [] if record is None else list(record.grants.values())


class TokenBook:
    """The tokens as stored, followed: each look-up first reads the events stored since the last (one indexed read)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.record: AccessRecord | None = None

    def actor_for(self, token: str) -> Actor | None:
        """Whom ``token`` stands for now, or None (unknown, malformed, revoked)."""
        self.record = load_access_record(self.app, self.record)
        return None if self.record is None else self.record.actor_for(token)


__all__ = ["TOKEN_PREFIX", "AccessRecord", "TokenBook", "TokenGrant", "TokenIssued", "TokenRevoked", "access_record_id",
           "issue_token", "list_tokens", "load_access_record", "revoke_token", "token_hash", "token_id_of"]
