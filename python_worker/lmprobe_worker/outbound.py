"""Replies of a shared worker (daemon, served) that never block its loop on one client.

A ROUTER send blocks when the client's queue is full (its high-water mark): a client that is
frozen (SIGSTOP, a suspended laptop) or slow to read would stop the loop that serves every other
client, and on ipc (no heartbeats) for good. So a shared worker sends without blocking and keeps
what a client cannot take yet in that client's own backlog, in order, retried on every loop turn.
A child worker has one client and keeps blocking sends: that backpressure bounds its memory.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import zmq

Frames = list[Any]  # zmq.Frame or bytes: the identity first


class Outbound:
    """Per-client backlogs of replies that a full queue refused."""

    def __init__(self, router: zmq.Socket[Any]) -> None:
        self.router = router
        self.backlog: dict[bytes, deque[Frames]] = {}

    def send(self, identity: bytes, frames: Frames) -> bool:
        """Send now or queue behind the client's backlog; False when the client is gone (ROUTER_MANDATORY)."""
        queue = self.backlog.get(identity)
        if queue is not None:
            queue.append(frames)  # behind what is already waiting: replies keep their order
            return True
        try:
            self.router.send_multipart(frames, zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.backlog[identity] = deque([frames])
        except zmq.ZMQError:  # EHOSTUNREACH: no connection has this identity any more
            return False
        return True

    def flush(self) -> list[bytes]:
        """Send what the backlogs' clients can take now; the identities found gone (their backlog dropped)."""
        gone: list[bytes] = []
        for identity, queue in list(self.backlog.items()):
            try:
                while queue:
                    self.router.send_multipart(queue[0], zmq.NOBLOCK, copy=False)
                    queue.popleft()
            except zmq.Again:
                continue  # still full: next turn
            except zmq.ZMQError:
                gone.append(identity)
            del self.backlog[identity]
        return gone

    def pending(self) -> int:
        """How many replies wait in backlogs."""
        return sum(len(q) for q in self.backlog.values())
