"""A PostgreSQL server for the tests: the one ``CALLROUTE_TEST_POSTGRES`` names, else a throwaway cluster.

The throwaway cluster is made from the installed binaries (``initdb`` and ``pg_ctl`` on ``PATH``, else the newest
``/usr/lib/postgresql/*/bin``) in a temporary folder, listening on a free port of 127.0.0.1 only (and on a Unix socket
in the same folder), with durability off (``fsync``, ``synchronous_commit`` and ``full_page_writes``: a test database
is thrown away) and stopped and removed when the tests end. ``initdb`` refuses to run as root, so as root (CI runs
the tests as root) the cluster is made and run by the ``postgres`` user that Debian's package creates, else by
``nobody``, through ``runuser``; the folder is handed to that user. Connections are trusted (no password check: a
SCRAM handshake per connection would be most of the time of a short command; the URL still carries a password, which
is what the callroute code under test handles). The server runs without ``LD_PRELOAD`` and
``FAKETIME``: under ``faketime`` (``.ci/run``) only the tests' own clock is moved, as a database server on another
machine would keep its own.

``CALLROUTE_TEST_POSTGRES``, when set, is a ``postgresql://`` URL of a database on an existing server whose user may
``CREATE DATABASE``: each test database is created (and dropped) there.

A server that cannot be started or reached is a failure with its reason (``ServerUnavailable``), never a skip.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg

from core.wiring import PostgresStore

ENV_SERVER = "CALLROUTE_TEST_POSTGRES"
SUPERUSER = "callroute_test"


class ServerUnavailable(RuntimeError):
    """No PostgreSQL server for the tests: why, in one line."""


def binaries() -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``; ``ServerUnavailable`` if there is none."""
    found = shutil.which("pg_ctl")
    if found is not None and shutil.which("initdb") is not None:
        folder = Path(found).resolve().parent  # Debian links them into /usr/local/bin or /usr/bin from the versioned folder
        if (folder / "postgres").exists():
            return folder
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    for folder in reversed(versions):
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    wheel = _wheel_binaries()
    if wheel is not None:
        return wheel
    raise ServerUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: "
                            "install them (Debian: apt-get install -y postgresql) or name a server in CALLROUTE_TEST_POSTGRES")


def _wheel_binaries() -> Path | None:
    """The PostgreSQL build of the ``pgserver`` wheel (the test extra installs it), found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")) else None


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env() -> dict[str, str]:
    """The environment of the server's processes: no faked clock, no libpq settings of the caller's."""
    return {key: value for key, value in os.environ.items()
            if key not in ("LD_PRELOAD", "DYLD_INSERT_LIBRARIES") and not key.startswith(("FAKETIME", "PG"))}


class PostgresServer:
    """A server on which the tests create and drop their databases (``admin`` is a database for doing so)."""

    def __init__(self, base_url: str, folder: Path | None = None, stop: list[str] | None = None) -> None:
        self.base_url = base_url
        self.folder = folder
        self._stop = stop
        self._admin: psycopg.Connection | None = None

    def url(self, dbname: str) -> str:
        """The URL of database ``dbname`` on this server."""
        return urlsplit(self.base_url)._replace(path="/" + quote(dbname)).geturl()

    @property
    def admin(self) -> psycopg.Connection:
        if self._admin is None or self._admin.closed:
            try:
                self._admin = psycopg.connect(**PostgresStore(self.base_url).conninfo(), autocommit=True)
            except psycopg.Error as exc:
                raise ServerUnavailable(f"cannot connect to the test PostgreSQL server at {PostgresStore(self.base_url)}: "
                                        f"{' '.join(str(exc).split())}") from None
        return self._admin

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create database ``name`` (a copy of ``template``, whose connections are ended first); its URL."""
        if template != "template0":
            self.disconnect(template)
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def disconnect(self, name: str) -> None:
        """End every other connection to database ``name`` (left open by applications a test did not close)."""
        self.admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                           (name,))

    def drop_database(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop a throwaway cluster and remove its folder (nothing for a server named by ``CALLROUTE_TEST_POSTGRES``)."""
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
        if self._stop is not None:
            subprocess.run(self._stop, capture_output=True, env=_server_env(), cwd=self.folder, check=False, timeout=60)
            self._stop = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def start() -> PostgresServer:
    """The server ``CALLROUTE_TEST_POSTGRES`` names, else a new throwaway cluster; ``ServerUnavailable`` saying why not."""
    named = os.environ.get(ENV_SERVER)
    if named:
        server = PostgresServer(named)
        server.admin  # noqa: B018 - connect now: an unreachable server fails here, with its reason
        return server
    return _throwaway()


def _owner() -> tuple[list[str], int | None, int | None]:
    """The command prefix that runs the cluster's programs, and the uid and gid to hand the folder to (as root)."""
    if os.geteuid() != 0:
        return [], None, None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerUnavailable("running as root, initdb refuses root and there is no runuser to run it as another user")
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return [runuser, "-u", name, "--"], entry.pw_uid, entry.pw_gid
    raise ServerUnavailable("running as root, initdb refuses root, and there is neither a postgres nor a nobody user to run it as")


def _throwaway() -> PostgresServer:
    bindir = binaries()
    prefix, uid, gid = _owner()
    folder = Path(tempfile.mkdtemp(prefix="callroute-pg-"))
    try:
        data = folder / "data"
        password = secrets.token_hex(12)
        pwfile = folder / "pw"
        pwfile.write_text(password + "\n")
        if uid is not None:
            os.chown(folder, uid, gid)  # type: ignore[arg-type]
            os.chown(pwfile, uid, gid)  # type: ignore[arg-type]
        env = _server_env()

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*prefix, *args], capture_output=True, text=True, env=env, cwd=folder, check=False, timeout=120)

        made = run(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth-local=trust",
                   "--auth-host=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        if made.returncode != 0:
            runner = (f" as user {prefix[2]} (initdb refuses root; that user must be able to reach {bindir}, as Debian's "
                      "postgresql package's binaries are)") if prefix else ""
            raise ServerUnavailable(f"initdb{runner} failed (exit {made.returncode}): {_last_line(made.stderr or made.stdout)}")
        log = folder / "server.log"
        options = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   f"-c max_connections=600 -c unix_socket_directories={folder} -c logging_collector=off")
        for _ in range(3):  # another process may take the free port between its choice and the server's bind
            port = _free_port()
            started = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                          "-o", f"{options} -p {port}", "start")
            if started.returncode == 0:
                break
        else:
            tail = log.read_text(errors="replace") if log.exists() else started.stderr
            raise ServerUnavailable(f"pg_ctl start failed (exit {started.returncode}): {_last_line(tail)}")
        stop = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        server = PostgresServer(f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres", folder, stop)
        atexit.register(server.stop)
        server.admin  # noqa: B018
        return server
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
