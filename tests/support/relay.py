"""A TCP relay on loopback that a test can cut: the network between a client and a real server.

    relay = Relay(lambda: ("127.0.0.1", server.port)).start()
    relay.hold_after(1_000_000)       # stop passing the server's bytes once 1 MB went by ...
    relay.held.wait(10)               # ... i.e. mid-download; the client now waits on a read
    relay.cut()                       # every open connection is closed: the connection is lost
    relay.refuse(True)                # new connections are closed at once (the server is down)
    Relay(target, latency=0.005)      # every byte arrives 5 ms late each way: a 10 ms round trip

Bytes pass through untouched (TLS stays end to end); the relay only counts, delays, holds and
closes. Latency is added without limiting throughput (bytes queue, each sent once its time comes),
as a network link does. The target is asked for on each new connection, so a server restarted on
other ports is followed.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Callable

Target = Callable[[], tuple[str, int]]


class Relay:
    def __init__(self, target: Target, *, latency: float = 0.0) -> None:
        self.target = target
        self.latency = latency
        self.held = threading.Event()
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._hold_after: int | None = None
        self._downstream = 0
        self._refusing = False
        self._closed = False

    def start(self) -> Relay:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def hold_after(self, downstream_bytes: int) -> None:
        """Stop passing the server's bytes once this many more have gone to clients; `held` is
        set when that happens."""
        with self._lock:
            self._downstream = 0
            self._hold_after = downstream_bytes
            self.held.clear()

    def release(self) -> None:
        """Stop holding: connections made from now on pass every byte (a held one stays held)."""
        with self._lock:
            self._hold_after = None

    def refuse(self, refusing: bool) -> None:
        self._refusing = refusing

    def cut(self) -> None:
        """Close every open connection (both ends), and stop holding."""
        with self._lock:
            sockets, self._open = self._open, []
            self._hold_after = None
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target(), timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._open += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, downstream: bool) -> None:
        # None: not yet decided; True: this connection is held for good; False: never held
        # (it began after release()).
        held_here: bool | None = None if self._hold_after is not None else False
        send: Callable[[bytes], None] = sink.sendall
        if self.latency > 0:
            late: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
            threading.Thread(target=self._deliver, args=(late, sink), daemon=True).start()

            def send(data: bytes) -> None:
                late.put((time.monotonic() + self.latency, data))

        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if downstream:
                    with self._lock:
                        limit = None if held_here is False else self._hold_after
                        if held_here:
                            data = b""
                        elif limit is not None:
                            room = limit - self._downstream
                            if room <= 0:
                                self.held.set()
                                held_here = True
                                data = b""
                            else:
                                data = data[:room]
                            self._downstream += len(data)
                    if not data:
                        # Held: keep the connection open and silent until cut().
                        continue
                send(data)
        except OSError:
            pass
        finally:
            if self.latency > 0:
                late.put((time.monotonic() + self.latency, b""))  # the end, in its turn
            else:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def _deliver(self, late: queue.SimpleQueue[tuple[float, bytes]], sink: socket.socket) -> None:
        try:
            while True:
                due, data = late.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)
