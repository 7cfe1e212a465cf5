"""Every refusal of the HTTP API as one JSON body: ``{"error": {"status", "rule", "message", "field", "index", "command"}}``.

Status codes:

- 400 a body that is not JSON, not UTF-8, nested too deep or gives a key twice (``adapters/inputs.py``'s checks);
- 401 no bearer token, or one that is unknown or revoked; a webhook whose signature does not check;
- 403 the principal may read the tenant but not do this (an auditor changing it; a partner handing a customer on);
- 404 a tenant the principal may not read, exactly as one that does not exist (the same body, byte for byte: it names
  the tenant and the principal, never whether it exists); an unknown path or webhook provider;
- 405 a method the path does not take (``GET`` on ``…/verify``);
- 409 other writers kept changing the tenant through every retry (``ConcurrentChangeError``); nothing was stored;
- 413 a body over the limit; 415 a body that is not JSON;
- 422 the document breaks the schema or a command breaks a rule: the index of the command, the field and the rule;
  a query parameter that cannot be read, naming it;
- 500 the store is not what was written (``StoreIntegrityError``: an edited, missing or forged event, snapshot or
  projection row), or the SQLite file is damaged: a server fault that a retry does not mend, pointing at ``audit
  verify``; an operator is told which record, anyone else only that it is so (the record may be another tenant's);
- 503 the store stayed locked by another writer, or the request ran past its time limit: try again; the PostgreSQL
  server cannot be reached (``store_unavailable``, one line naming the database without its password): nothing was
  stored, or, when the connection was lost after a batch's commit was sent and the server could not be asked since,
  the message says that whether it was stored is not known (read the tenant before sending it again).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence

import msgspec
import structlog
from eventsourcing.persistence import MapperDeserialisationError, PersistenceError, RecordConflictError

from adapters.http.answers import ErrorAnswer, ErrorDetail
from core.aggregates.context import Actor
from core.errors import (
    ConcurrentChangeError,
    DomainError,
    PermissionDeniedError,
    StoreIntegrityError,
    TenantNotVisibleError,
    UnknownTenantError,
)

logger = structlog.wrap_logger(logging.getLogger("callroute"))

_ENCODER = msgspec.json.Encoder()


class ApiError(Exception):
    """A refusal made at the edge, with its status, rule, words and where."""

    def __init__(self, status: int, rule: str, message: str, *, field: str | None = None, index: int | None = None,
                 command: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.detail = ErrorDetail(status=status, rule=rule, message=message, field=field, index=index, command=command)
        self.headers = headers or {}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="callroute"'})


def domain_status(exc: DomainError) -> int:
    """The status of a refusal by core."""
    if isinstance(exc, TenantNotVisibleError | UnknownTenantError):
        return 404
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, ConcurrentChangeError):
        return 409
    return 422


def refusal(exc: BaseException, actor: Actor | None = None, *, where: dict[str, str] | None = None,
            store: object = None) -> ApiError:
    """``exc`` as the API answers it; ``where`` renames core's field names to the query parameters that carried them;
    ``store``: where the store is (a PostgreSQL database is named in the answer when it cannot be reached)."""
    from core.service import CommandRejected

    if isinstance(exc, ApiError):
        return exc
    unavailable = _database_unavailable(exc, store)
    if unavailable is not None:
        return unavailable
    if isinstance(exc, CommandRejected):
        cause = exc.cause
        status = domain_status(cause) if isinstance(cause, DomainError) else 422
        rule = "tenant_not_found" if status == 404 else exc.rule
        return ApiError(status, rule, exc.message, field=exc.field, index=exc.index, command=exc.command_name)
    if isinstance(exc, TenantNotVisibleError | UnknownTenantError):  # the same words and rule, whether it exists or not
        return ApiError(404, "tenant_not_found", exc.message, field="tenant")
    if isinstance(exc, DomainError):
        field = exc.field if where is None else where.get(exc.field or "", exc.field)
        return ApiError(domain_status(exc), exc.rule, exc.message if field is None else f"{field}: {exc.message}", field=field)
    if isinstance(exc, msgspec.ValidationError):
        return ApiError(422, "schema", str(exc))
    operator = actor is not None and actor.operator
    if isinstance(exc, StoreIntegrityError | MapperDeserialisationError):
        logger.error("store.not_as_written", error=str(exc))
        what = f"{exc}" if operator else "a stored event, snapshot or projection row is not what was written"
        return ApiError(500, "store_integrity", f"the store is not what was written ({what}); nothing was served or stored — an "
                                                "operator runs: callroute audit verify --operator")
    if isinstance(exc, RecordConflictError):
        return ApiError(409, "concurrent_change", "another writer stored a change to the same record first; nothing was stored, "
                                                  "retry")
    if isinstance(exc, sqlite3.DatabaseError | PersistenceError):
        words = " ".join(str(exc).split())
        if "locked" in words or "busy" in words:
            return ApiError(503, "store_busy", f"the store stayed locked by another writer ({words}); nothing was stored, retry",
                            headers={"Retry-After": "1"})
        logger.error("store.damaged", error=words)
        return ApiError(500, "store_damaged", "the store's file is damaged, so what it stores cannot all be read; an operator "
                                              "restores it from a backup" + (f" ({words})" if operator else ""))
    logger.exception("http.internal_error", error=repr(exc))
    return ApiError(500, "internal", "the server failed to answer this request; it is logged")


def _database_unavailable(exc: BaseException, store: object) -> ApiError | None:
    """A PostgreSQL server that cannot be reached (gone, refusing, or lost mid-call) as a 503 naming the database."""
    cause = exc.__cause__ if isinstance(exc, PersistenceError) else exc
    if not type(cause).__module__.startswith(("psycopg", "adapters.postgres")) and \
            not type(exc).__module__.startswith("adapters.postgres"):
        return None
    from adapters.postgres import DatabaseUnavailable, OutcomeUnknown, connection_lost

    if isinstance(exc, OutcomeUnknown):
        message = f"{exc}; the change may have been stored: read the tenant before sending it again"
    elif isinstance(exc, DatabaseUnavailable):
        message = f"{exc}; nothing was stored, retry"
    elif isinstance(exc, PersistenceError) and connection_lost(exc):
        words = " ".join(str(exc).split()) or type(exc).__name__
        message = f"the PostgreSQL database {store or '(unnamed)'} cannot be reached ({words}); nothing was stored, retry"
    else:
        return None
    logger.warning("store.unavailable", error=message)
    return ApiError(503, "store_unavailable", message, headers={"Retry-After": "2"})


def encode_error(error: ApiError) -> bytes:
    return _ENCODER.encode(ErrorAnswer(error=error.detail))



__all__ = ["ApiError", "domain_status", "encode_error", "refusal", "unauthorized"]


def one_param(q: Mapping[str, Sequence[str]], name: str) -> str | None:
    """A query parameter given at most once (``None`` when absent); twice or more is a 422 naming it."""
    values = q.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(422, "validation", f"{name}: given {len(values)} times; give it once", field=name)
    return values[0]
