"""Dead-client detection of a shared worker: the daemon (ipc) and the served worker (TCP + CURVE).

A child worker has one client, its parent, and dies with it. A shared worker outlives its clients,
and a client killed -9 never sends ``cancel``: its queued and running requests would hold the
compute thread for everyone else. Three signals tell the worker that a client is gone, and each
ends in ``cancel_client`` (server.py):

1. The ROUTER socket's monitor reports a disconnect (a local client killed -9, a TCP peer's FIN or
   RST, or a ZMTP heartbeat timeout): every client with work in flight is probed at once.
2. A probe (a tiny ``keepalive``, which clients ignore) sent to a client with work in flight fails
   with EHOSTUNREACH under ROUTER_MANDATORY: the ROUTER has no connection for that identity.
3. A reply to a gone client fails the same way (server.py's send paths).

The probe also runs every ``PROBE_INTERVAL_S`` without a disconnect event, as a safety net.
A TCP peer that vanished without FIN (power loss, a cable, a frozen laptop) produces no event
until ZMTP heartbeats time out: ``enable_heartbeats`` sets them on TCP sockets.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Protocol

import zmq
from zmq.utils.monitor import recv_monitor_message

from .protocol import encode, reply_header

log = logging.getLogger("lmprobe_worker")

# How often clients with work in flight are probed while no disconnect event came.
PROBE_INTERVAL_S = 1.0
# Server-side ZMTP heartbeats (TCP only): a PING every 5 s; a peer silent for 30 s is dropped,
# which the monitor reports as a disconnect. Long enough for a busy client's event loop; the
# operator of a served worker may change it (LMPROBE_WORKER_HEARTBEAT_TIMEOUT_MS; tests shorten it).
HEARTBEAT_IVL_MS = 5000
HEARTBEAT_TIMEOUT_MS = 30000
HEARTBEAT_ENV = "LMPROBE_WORKER_HEARTBEAT_TIMEOUT_MS"


class ClientRegistry(Protocol):
    """What the watch needs of the ROUTER loop (server.py): who has work, and how to cancel it."""

    def identities_with_work(self) -> set[bytes]: ...

    def cancel_client(self, identity: bytes) -> int: ...


def heartbeat_timeout_ms() -> int:
    """The heartbeat timeout: ``LMPROBE_WORKER_HEARTBEAT_TIMEOUT_MS`` when it is a number ≥ 100, else 30 s."""
    raw = os.environ.get(HEARTBEAT_ENV, "")
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if raw and value < 100:
        log.warning("%s=%r is not a number of milliseconds >= 100: using %d", HEARTBEAT_ENV, raw, HEARTBEAT_TIMEOUT_MS)
    return value if value >= 100 else HEARTBEAT_TIMEOUT_MS


def enable_heartbeats(socket: zmq.Socket[Any], timeout_ms: int | None = None) -> None:
    """ZMTP heartbeats on a socket that binds ``tcp://`` (set before ``bind``)."""
    timeout_ms = heartbeat_timeout_ms() if timeout_ms is None else timeout_ms
    socket.setsockopt(zmq.HEARTBEAT_IVL, min(HEARTBEAT_IVL_MS, max(100, timeout_ms // 3)))
    socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, timeout_ms)


class ClientWatch:
    """Connections of a shared worker's ROUTER socket, and the cancellation of gone clients' work."""

    def __init__(self, router: zmq.Socket[Any]) -> None:
        self.router = router
        self.monitor = router.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self.connections = 0
        self.last_probe = 0.0
        self.last_disconnect = time.monotonic()

    def on_monitor_event(self) -> bool:
        """Count a connection event; True when a peer disconnected (its work may be orphaned)."""
        event = recv_monitor_message(self.monitor)["event"]
        if event == zmq.EVENT_ACCEPTED:
            self.connections += 1
        elif event == zmq.EVENT_DISCONNECTED:
            self.connections = max(0, self.connections - 1)
            self.last_disconnect = time.monotonic()
            return True
        return False

    def probe(self, registry: ClientRegistry, force: bool = False) -> None:
        """Cancel the work of clients that are gone (only clients with queued or running work are probed)."""
        now = time.monotonic()
        if not force and now - self.last_probe < PROBE_INTERVAL_S:
            return
        self.last_probe = now
        for identity in registry.identities_with_work():
            try:
                self.router.send_multipart([identity, *encode(reply_header("keepalive", None), {})], zmq.NOBLOCK)
            except zmq.Again:
                pass  # its queue is full: it is alive, only slow to read
            except zmq.ZMQError as exc:
                if exc.errno == zmq.EHOSTUNREACH:
                    client_gone(registry, identity)

    def close(self) -> None:
        """Stop monitoring (before the context is destroyed)."""
        try:
            self.router.disable_monitor()
        except zmq.ZMQError:
            pass
        self.monitor.close(linger=0)


def client_gone(registry: ClientRegistry, identity: bytes) -> None:
    """Cancel a gone client's queued and running requests, and say so in the log (tests read it)."""
    n = registry.cancel_client(identity)
    if n:
        log.warning("a client disconnected with %d request(s) in flight: cancelled", n)
