"""A scripted TCP server on the loopback interface, in a thread: it plays one side of a protocol to a client under test.

A script is a list of steps, run for each connection in turn (one script per connection):
``("send", bytes)`` writes (``{ActionID}`` in it is replaced by the ``ActionID`` of the last message
received, for AMI responses), ``("expect", bytes)`` reads until the client has sent a message
ending with the protocol's terminator and checks it starts with the bytes given (the message
is kept in ``received``), ``("close", b"")`` closes the connection. No network beyond
127.0.0.1; the server thread ends when every script has run (or at ``stop``).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence

Step = tuple[str, bytes]


class LoopbackServer:
    """Serves ``scripts`` (one per connection, in order) on 127.0.0.1 at a free port."""

    def __init__(self, scripts: Sequence[Sequence[Step]], *, terminator: bytes, timeout: float = 10.0) -> None:
        self.scripts = list(scripts)
        self.terminator = terminator
        self.timeout = timeout
        self.received: list[bytes] = []
        self.errors: list[str] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        self._listener.settimeout(timeout)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._thread.join(self.timeout)
        self._listener.close()

    def _serve(self) -> None:
        for script in self.scripts:
            try:
                connection, _ = self._listener.accept()
            except OSError as exc:
                self.errors.append(f"accept: {exc}")
                return
            with connection:
                connection.settimeout(self.timeout)
                try:
                    self._play(connection, script)
                except OSError as exc:
                    self.errors.append(f"connection: {exc}")

    def _play(self, connection: socket.socket, script: Sequence[Step]) -> None:
        buffer = b""
        action_id = b""
        for action, data in script:
            if action == "send":
                connection.sendall(data.replace(b"{ActionID}", action_id))
            elif action == "expect":
                while self.terminator not in buffer:
                    chunk = connection.recv(65536)
                    if not chunk:
                        self.errors.append(f"the client closed before sending {data!r}")
                        return
                    buffer += chunk
                message, _, buffer = buffer.partition(self.terminator)
                self.received.append(message)
                for line in message.splitlines():
                    if line.lower().startswith(b"actionid:"):
                        action_id = line.split(b":", 1)[1].strip()
                if not message.lstrip().startswith(data):
                    self.errors.append(f"expected {data!r}, got {message[:80]!r}")
            elif action == "close":
                connection.shutdown(socket.SHUT_RDWR)
                return
