"""ROUTER loop of the worker.

The main thread owns the ROUTER socket and answers control messages (ping, cancel, shutdown) at
once, even while a model runs. Heavy requests go to one compute thread, in arrival order (one
model, one device: running them side by side would only fight for the same cores). Remote (NDIF)
extractions are the exception: each runs on a thread of its own (``_network_bound``). The compute
thread hands its replies back over an inproc PUSH/PULL pair, because a zmq socket must stay in
the thread that uses it.

Several clients may share one worker (daemon mode, daemon.py; a served worker, curve.py): each
request is known by its client's identity and its id, so one client can neither cancel nor
receive another's work, and a client that dies has its work cancelled (client_watch.py). How the
worker is started in each mode (endpoint, announcement, what ends it) is startup.py.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

import zmq

from . import curve as curve_auth
from .client_watch import ClientWatch, client_gone, enable_heartbeats
from .context import Handler, RequestContext
from .daemon import Daemon, DaemonOptions
from .errors import WorkerFailure
from .outbound import Outbound
from .protocol import decode, encode, error_body, reply_header
from .ray_pool.config import ray_settings

log = logging.getLogger("lmprobe_worker")

_OUTBOX = "inproc://lmprobe-outbox"
_CONTROL_TYPES = {"ping", "cancel", "shutdown", "status"}


def _network_bound(header: dict[str, Any], body: dict[str, Any]) -> bool:
    """A remote (NDIF) extraction: it waits on the network, not the device, so it runs on its own
    thread beside the compute thread and beside other remote requests (their jobs overlap on the
    server). TypeScript bounds how many it sends at once."""
    return header.get("type") == "extract" and body.get("backend") == "nnsight" and bool(body.get("remote"))


class WorkerServer:
    def __init__(
        self,
        handlers: dict[str, Handler],
        endpoint: str,
        daemon: DaemonOptions | None = None,
        *,
        curve: curve_auth.CurveConfig | None = None,
    ) -> None:
        self.handlers = dict(handlers)  # serve() adds "__preload__"; the caller's registry stays as it is
        self.ctx = zmq.Context()
        # A served (TCP + CURVE) worker outlives its clients: their close() sends shutdown, ignored here.
        self.served = curve is not None
        self.auth = curve_auth.start_authenticator(self.ctx, curve.allowed) if curve else None
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.linger = 0
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if curve:
            curve_auth.make_curve_server(self.router, curve.keys)
        if endpoint.startswith("tcp://"):
            enable_heartbeats(self.router)  # a client gone without FIN is dropped, then its work cancelled
        self.router.bind(endpoint)
        self.endpoint = self.router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.outbox = self.ctx.socket(zmq.PULL)
        self.outbox.linger = 0
        self.outbox.bind(_OUTBOX)
        self.jobs: queue.Queue[tuple[bytes, dict[str, Any], dict[str, Any]] | None] = queue.Queue()
        # (client identity, request id) -> cancel flag, from arrival until the reply: also the
        # registry of work in flight that a dead client's requests are cancelled through.
        self.cancel_flags: dict[tuple[bytes, str], threading.Event] = {}
        self.lock = threading.Lock()
        self.requests_served = 0
        # Shared modes (daemon, served) outlive their clients: a dead client's work must be cancelled.
        self.watch = ClientWatch(self.router) if daemon or self.served else None
        self.daemon = Daemon(daemon, self.watch) if daemon and self.watch else None
        self.outbound = Outbound(self.router) if self.watch else None

    # -- compute thread ---------------------------------------------------------------------
    def _compute_loop(self) -> None:
        push = self.ctx.socket(zmq.PUSH)
        push.linger = 0
        push.connect(_OUTBOX)
        while True:
            job = self.jobs.get()
            if job is None:
                break
            if _network_bound(*job[1:]):
                threading.Thread(target=self._run_aside, args=job, name="remote", daemon=True).start()
                continue
            self._run(push, *job)
        push.close()

    def _run_aside(self, identity: bytes, header: dict[str, Any], body: dict[str, Any]) -> None:
        """One request on its own thread, with its own PUSH socket (a zmq socket stays in its thread)."""
        push = self.ctx.socket(zmq.PUSH)
        push.linger = 0
        push.connect(_OUTBOX)
        try:
            self._run(push, identity, header, body)
        finally:
            push.close()

    def _run(self, push: zmq.Socket[Any], identity: bytes, header: dict[str, Any], body: dict[str, Any]) -> None:
        rid = str(header.get("id"))

        def send(kind: str, payload: dict[str, Any]) -> None:
            push.send_multipart([identity, *encode(reply_header(kind, rid), payload)], copy=False)

        with self.lock:
            flag = self.cancel_flags.setdefault((identity, rid), threading.Event())
        ctx = RequestContext(rid, send, flag)
        try:
            ctx.check_cancelled()
            handler = self.handlers.get(str(header.get("type")))
            if handler is None:
                raise WorkerFailure("BAD_REQUEST", f"unknown request type {header.get('type')!r}")
            result = handler(body, ctx)
            send("result", result)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            log.debug("request %s failed", rid, exc_info=True)
            send("error", error_body(exc))
        finally:
            with self.lock:
                self.cancel_flags.pop((identity, rid), None)

    # -- clients ----------------------------------------------------------------------------
    def identities_with_work(self) -> set[bytes]:
        with self.lock:
            return {identity for identity, _ in self.cancel_flags if identity}

    def inflight_count(self) -> int:
        with self.lock:
            return sum(1 for identity, _ in self.cancel_flags if identity)

    def cancel_client(self, identity: bytes) -> int:
        """Cancel every queued and running request of one client (it disconnected); how many were not yet."""
        with self.lock:
            flags = [flag for (who, _), flag in self.cancel_flags.items() if who == identity and not flag.is_set()]
        for flag in flags:
            flag.set()
        return len(flags)

    # -- main thread ------------------------------------------------------------------------
    def _send(self, identity: bytes, frames: list[Any]) -> None:
        """Send to a client. A shared worker never blocks here on one client's full queue (outbound.py).

        ROUTER_MANDATORY: a send to a client that went away fails. Never fatal (other clients are
        being served); what it left queued or running is cancelled.
        """
        if self.outbound is not None:
            if not self.outbound.send(identity, frames):
                client_gone(self, identity)
            return
        try:
            self.router.send_multipart(frames, copy=False)
        except zmq.ZMQError as exc:
            log.debug("dropping a reply: %s", exc)
            client_gone(self, identity)

    def _reply(self, identity: bytes, kind: str, parent: str | None, body: dict[str, Any]) -> None:
        self._send(identity, [identity, *encode(reply_header(kind, parent), body)])

    def _control(self, identity: bytes, header: dict[str, Any], body: dict[str, Any]) -> bool:
        kind, rid = header.get("type"), str(header.get("id"))
        if kind == "ping":
            self._reply(identity, "result", rid, {"pong": True, "pid": os.getpid()})
        elif kind == "cancel":
            target = str(body.get("target"))
            with self.lock:  # only the sender's own request: the key includes its identity
                flag = self.cancel_flags.get((identity, target))
            if flag is not None:  # registered on arrival, so absent means finished (or never sent)
                flag.set()
            self._reply(identity, "result", rid, {"cancelled": target})
        elif kind == "status" and self.daemon is not None:
            self._reply(identity, "result", rid, self.daemon.status(self))
        elif kind == "status" and self.watch is not None:  # a served worker: its clients and work
            self._reply(identity, "result", rid, self._served_status(self.watch))
        elif kind == "shutdown":
            # A shared daemon outlives its clients' close(): only `lmprobe worker stop` ends it.
            # A served (TCP + CURVE) worker too: only SIGINT/SIGTERM on its machine ends it.
            shared = (self.daemon is not None and body.get("daemon") is not True) or self.served
            daemonish = self.daemon is not None or self.served
            self._reply(identity, "result", rid, {"bye": True, "shared": shared} if daemonish else {"bye": True})
            return shared
        return True

    def _served_status(self, watch: ClientWatch) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "endpoint": self.endpoint,
            "clients": watch.connections,
            "requests_in_flight": self.inflight_count(),
            "requests_served": self.requests_served,
            "ray": ray_settings(),
        }

    def _shared_tick(self, watch: ClientWatch, events: dict[Any, int]) -> bool:
        """Bookkeeping of a shared worker once per loop turn: connections, dead clients, idle exit."""
        disconnected = watch.on_monitor_event() if watch.monitor in events else False
        watch.probe(self, force=disconnected)
        for identity in self.outbound.flush() if self.outbound is not None else []:
            client_gone(self, identity)
        daemon = self.daemon
        if daemon is None:
            return True
        if self.router in events or disconnected:
            daemon.touch()
        if daemon.idle_expired(busy=self.inflight_count() > 0 or not self.jobs.empty()):
            log.warning("no client for %.0f s: the daemon exits", daemon.options.idle_timeout_s)
            return False
        return True

    def _forward(self, frames: list[zmq.Frame]) -> None:
        """Pass a compute thread's reply (or progress) on to its client."""
        identity = frames[0].bytes
        if identity:  # the preload job has no caller to answer
            self._send(identity, frames)

    def serve(self, preload: Callable[[], None] | None = None) -> None:
        if preload is not None:
            self.handlers.setdefault("__preload__", lambda _b, _c: (preload(), {})[1])
            self.jobs.put((b"", {"id": "__preload__", "type": "__preload__"}, {}))
        threading.Thread(target=self._compute_loop, name="compute", daemon=True).start()
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.outbox, zmq.POLLIN)
        watch = self.watch
        if watch is not None:
            poller.register(watch.monitor, zmq.POLLIN)
        running = True
        while running:
            events = poller.poll(250 if watch is not None else None)
            if watch is not None:
                running = self._shared_tick(watch, dict(events))
            for sock, _ in events:
                if watch is not None and sock is watch.monitor:
                    continue
                if sock is self.outbox:
                    self._forward(self.outbox.recv_multipart(copy=False))
                    continue
                identity, *rest = self.router.recv_multipart(copy=False)
                try:
                    header, body = decode(rest)
                except Exception as exc:  # noqa: BLE001 - a malformed message must not kill us
                    self._reply(identity.bytes, "error", None, error_body(exc))
                    continue
                if header.get("type") in _CONTROL_TYPES:
                    running = self._control(identity.bytes, header, body)
                else:
                    rid = str(header.get("id"))
                    with self.lock:  # registered before it queues: a dead client's queue is cancellable
                        self.cancel_flags.setdefault((identity.bytes, rid), threading.Event())
                    self._reply(identity.bytes, "ack", rid, {})
                    self.jobs.put((identity.bytes, header, body))
                    self.requests_served += 1
        if self.daemon is not None:
            self.daemon.remove_discovery()
        if watch is not None:
            watch.close()
        # Closes every socket (the compute thread's too) and waits up to 0.5 s so the shutdown
        # reply still leaves; os._exit later would otherwise drop it.
        self.ctx.destroy(linger=500)
