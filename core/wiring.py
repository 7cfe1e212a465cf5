"""The one composition root: every entry point (CLI, demo, simulator, tests) builds its application here.

It wires the application to a store, a clock, a PIN hasher, the PBX directory and,
where the edge supplies one, a lean event writer. Core draws no salt and reads no
clock: the caller hands those in (``adapters.bootstrap`` the wall clock and Argon2,
the simulator and tests fixed or virtual clocks and deterministic hashers).

A store is an SQLite file (a path), a PostgreSQL database (a ``postgresql://`` URL, read by
eventsourcing's PostgreSQL recorder through psycopg) or memory (``None``). ``resolve_store`` is the
one place a location given by a user or a caller becomes one of those; every opener goes through
it (the tests of the PostgreSQL backend replace it to run the whole suite on PostgreSQL:
``tests/backends.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from core.aggregates.commanding import PinHasher
from core.aggregates.rules import PbxDirectory
from core.clock import Clock
from core.service import CallrouteApp, EventWriter

DEFAULT_LOCK_TIMEOUT_SECONDS = 10

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

_URL_SETTINGS = {
    # URL query parameter → (eventsourcing setting, default)
    "pool_size": ("POSTGRES_POOL_SIZE", "1"),
    "max_overflow": ("POSTGRES_MAX_OVERFLOW", "9"),
    "connect_timeout": ("POSTGRES_CONNECT_TIMEOUT", "10"),
    "schema": ("POSTGRES_SCHEMA", ""),
    "idle_in_transaction_session_timeout": ("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "5"),
    "pre_ping": ("POSTGRES_PRE_PING", "n"),
}
"""What a ``postgresql://`` URL may set besides where the database is (``host`` also names a Unix-socket folder)."""


class StoreURLError(ValueError):
    """A ``postgresql://`` URL that does not name a database callroute can use (one line, without the password)."""


@dataclass(frozen=True)
class PostgresStore:
    """A PostgreSQL database named by a ``postgresql://user:password@host:port/dbname[?pool_size=N&...]`` URL.

    ``str()`` is the URL without its password (``postgresql://user:***@host:port/db``): what messages and logs show.
    """

    url: str

    def parts(self) -> dict[str, str]:
        """``dbname``, ``host``, ``port``, ``user``, ``password`` and the pool settings of the URL."""
        try:
            split = urlsplit(self.url)
            port = split.port
        except ValueError as exc:
            raise StoreURLError(f"{self}: not a PostgreSQL URL ({exc})") from None
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        unknown = sorted(set(query) - set(_URL_SETTINGS) - {"host", "port", "user", "password"})
        if unknown:
            raise StoreURLError(f"{self}: unknown setting {unknown[0]!r} in the URL (known: host, port, user, password, "
                                f"{', '.join(_URL_SETTINGS)})")
        dbname = unquote(split.path.lstrip("/"))
        if not dbname:
            raise StoreURLError(f"{self}: the URL names no database (postgresql://user:password@host:port/DBNAME)")
        return {
            "dbname": dbname,
            "host": query.get("host") or unquote(split.hostname or ""),
            "port": query.get("port") or str(port or 5432),
            "user": query.get("user") or unquote(split.username or "") or _os_user(),
            "password": query.get("password") or unquote(split.password or ""),
            **{name: query[name] for name in _URL_SETTINGS if name in query},
        }

    def env(self, *, lock_timeout: int = DEFAULT_LOCK_TIMEOUT_SECONDS) -> dict[str, str]:
        """eventsourcing's settings for this database (its PostgreSQL recorder, a small pool, a lock timeout)."""
        parts = self.parts()
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts["dbname"],
            "POSTGRES_HOST": parts["host"],
            "POSTGRES_PORT": parts["port"],
            "POSTGRES_USER": parts["user"],
            "POSTGRES_PASSWORD": parts["password"],
            # How long a writer waits for the events table's lock (the recorder takes it to keep notification ids in commit
            # order) before the command fails as a store that stayed locked (exit 4), as SQLite's lock timeout does.
            "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        }
        for name, (setting, default) in _URL_SETTINGS.items():
            env[setting] = parts.get(name, default)
        return env

    def conninfo(self) -> dict[str, str]:
        """psycopg's connection keywords for this database (the projection's and the call events' own connections)."""
        parts = self.parts()
        keywords = {key: parts[key] for key in ("dbname", "host", "port", "user", "password")}
        keywords["connect_timeout"] = parts.get("connect_timeout", _URL_SETTINGS["connect_timeout"][1])
        return keywords

    @property
    def schema(self) -> str:
        """The schema the tables are in (``public`` unless the URL's ``schema`` says)."""
        return self.parts().get("schema") or "public"

    def __str__(self) -> str:
        split = urlsplit(self.url)
        if split.password is None and "password=" not in split.query:
            return self.url
        netloc = split.netloc
        if split.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        query = "&".join(f"{key}={'***' if key == 'password' else quote(value)}"
                         for key, value in parse_qsl(split.query, keep_blank_values=True))
        return split._replace(netloc=netloc, query=query).geturl()


def _os_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "postgres")


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` is a ``postgresql://`` (or ``postgres://``) URL."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def resolve_store(location: str | os.PathLike[str] | PostgresStore | None) -> Path | PostgresStore | None:
    """The store ``location`` names: a ``PostgresStore`` for a ``postgresql://`` URL, else the SQLite file's ``Path``
    (``None``: memory). A URL is checked when it is used (``PostgresStore.parts``: ``StoreURLError``)."""
    if location is None or isinstance(location, PostgresStore):
        return location
    if is_postgres_url(location):
        return PostgresStore(str(location))
    return Path(location)


def store_env(location: str | os.PathLike[str] | PostgresStore | None, *,
              lock_timeout: int = DEFAULT_LOCK_TIMEOUT_SECONDS) -> dict[str, str]:
    """eventsourcing's settings for an SQLite file (WAL, so readers never block the writer), a PostgreSQL database
    (a ``postgresql://`` URL), or memory (``None``)."""
    store = resolve_store(location)
    if store is None:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if isinstance(store, PostgresStore):
        return store.env(lock_timeout=lock_timeout)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(store), "SQLITE_LOCK_TIMEOUT": str(lock_timeout)}


def wire(
    path: str | os.PathLike[str] | PostgresStore | None,
    *,
    clock: Clock,
    pin_hasher: PinHasher,
    directory: Callable[[CallrouteApp], PbxDirectory] | None = None,
    event_writer: EventWriter | None = None,
    create_tables: bool = True,
) -> CallrouteApp:
    """An application on the SQLite file at ``path``, the PostgreSQL database a ``postgresql://`` URL names, or memory
    (``None``).

    ``directory`` builds the PBX directory from the application itself (other cloud PBXs
    are the store's other tenants), so nothing is attached after construction. ``create_tables=False`` for a store
    known to have its tables (on PostgreSQL the library's ``CREATE ... IF NOT EXISTS`` statements cost a round trip each).
    """
    env = store_env(path)
    if not create_tables:
        env["CREATE_TABLE"] = "n"
    return CallrouteApp(env, clock=clock, pin_hasher=pin_hasher, directory=directory, event_writer=event_writer)
