"""ROUTER loop of the worker.

The main thread owns the ROUTER socket and answers control messages (ping, cancel, shutdown) at
once, even while a model runs. Heavy requests go to one compute thread, in arrival order (one
model, one device: running them side by side would only fight for the same cores). Remote (NDIF)
extractions are the exception: each runs on a thread of its own (``_network_bound``). The compute
thread hands its replies back over an inproc PUSH/PULL pair, because a zmq socket must stay in
the thread that uses it.

Several clients may share one worker (daemon mode, daemon.py): each request is known by its
client's identity and its id, so one client can neither cancel nor receive another's work.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import zmq

from . import curve as curve_auth
from .context import Handler, RequestContext
from .daemon import Daemon, DaemonOptions, parse_daemon_args, stop_on_signals
from .errors import WorkerFailure
from .protocol import decode, encode, error_body, reply_header

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
        self.daemon = Daemon(daemon, self.router) if daemon else None

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
        """Cancel every queued and running request of one client (it disconnected)."""
        with self.lock:
            flags = [flag for (who, _), flag in self.cancel_flags.items() if who == identity]
        for flag in flags:
            flag.set()
        return len(flags)

    # -- main thread ------------------------------------------------------------------------
    def _reply(self, identity: bytes, kind: str, parent: str | None, body: dict[str, Any]) -> None:
        try:
            self.router.send_multipart([identity, *encode(reply_header(kind, parent), body)])
        except zmq.ZMQError as exc:
            # ROUTER_MANDATORY: the client went away with messages still queued here. Never fatal
            # (other clients are being served); what it left queued is cancelled.
            log.debug("dropping a %s reply: %s", kind, exc)
            self.cancel_client(identity)

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
        elif kind == "shutdown":
            # A shared daemon outlives its clients' close(): only `lmprobe worker stop` ends it.
            # A served (TCP + CURVE) worker too: only SIGINT/SIGTERM on its machine ends it.
            shared = (self.daemon is not None and body.get("daemon") is not True) or self.served
            daemonish = self.daemon is not None or self.served
            self._reply(identity, "result", rid, {"bye": True, "shared": shared} if daemonish else {"bye": True})
            return shared
        return True

    def _daemon_tick(self, events: dict[Any, int]) -> bool:
        """Daemon bookkeeping once per loop turn: connections, dead clients, idle exit."""
        daemon = self.daemon
        assert daemon is not None
        disconnected = daemon.on_monitor_event() if daemon.monitor in events else False
        if self.router in events:
            daemon.touch()
        daemon.probe_clients(self, force=disconnected)
        if daemon.idle_expired(busy=self.inflight_count() > 0 or not self.jobs.empty()):
            log.warning("no client for %.0f s: the daemon exits", daemon.options.idle_timeout_s)
            return False
        return True

    def serve(self, preload: Callable[[], None] | None = None) -> None:
        if preload is not None:
            self.handlers.setdefault("__preload__", lambda _b, _c: (preload(), {})[1])
            self.jobs.put((b"", {"id": "__preload__", "type": "__preload__"}, {}))
        threading.Thread(target=self._compute_loop, name="compute", daemon=True).start()
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.outbox, zmq.POLLIN)
        if self.daemon is not None:
            poller.register(self.daemon.monitor, zmq.POLLIN)
        running = True
        while running:
            events = poller.poll(250 if self.daemon is not None else None)
            if self.daemon is not None:
                running = self._daemon_tick(dict(events))
            for sock, _ in events:
                if self.daemon is not None and sock is self.daemon.monitor:
                    continue
                if sock is self.outbox:
                    frames = self.outbox.recv_multipart(copy=False)
                    if frames[0].bytes:  # the preload job has no caller to answer
                        try:
                            self.router.send_multipart(frames, copy=False)
                        except zmq.ZMQError as exc:  # the client went away
                            log.debug("dropping a reply: %s", exc)
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
                    if self.daemon is not None:
                        self.daemon.requests_served += 1
        if self.daemon is not None:
            self.daemon.remove_discovery()
        # Closes every socket (the compute thread's too) and waits up to 0.5 s so the shutdown
        # reply still leaves; os._exit later would otherwise drop it.
        self.ctx.destroy(linger=500)


def _remove_socket(endpoint: str) -> None:
    """Remove our ``ipc://`` socket file and the private folder ``mkdtemp`` made for it (idempotent)."""
    if not endpoint.startswith("ipc://"):
        return
    path = endpoint[len("ipc://") :]
    for leftover in (path, os.path.dirname(path)):
        try:
            os.remove(leftover) if leftover == path else os.rmdir(leftover)
        except OSError:
            pass


def _exit_when_parent_dies(endpoint: str) -> None:
    """The parent holds our stdin open; EOF means it died (or closed us), so we must not outlive it.

    EOF can arrive while the main thread is still shutting down, and ``os._exit`` here would cut
    its cleanup short: so this thread removes the socket folder itself before exiting.
    """
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, ValueError):
        pass
    _remove_socket(endpoint)
    os._exit(0)


def endpoint_problem(endpoint: str, curve: curve_auth.CurveConfig | None = None) -> str | None:
    """Why an endpoint named by the environment must not be bound, or None when it is private.

    Whoever can connect can drive the worker (load models, read files it can read). So TCP is
    bound only with CURVE (``lmprobe worker serve``: keys and ZAP, see curve.py), and otherwise
    only an ``ipc://`` socket inside a folder that belongs to this user and no one else.
    """
    if curve is not None:
        return None if endpoint.startswith("tcp://") else "a CURVE worker serves tcp:// endpoints only"
    if not endpoint.startswith("ipc://"):
        return (
            "only ipc:// endpoints are served without CURVE: on TCP any local user (or host) that reaches the port "
            "could drive an unauthenticated worker. Unset LMPROBE_WORKER_ENDPOINT, or serve with CURVE keys "
            "(`lmprobe worker serve --bind tcp://HOST:PORT`)."
        )
    folder = os.path.dirname(os.path.abspath(endpoint[len("ipc://") :]))
    try:
        st = os.stat(folder)
    except OSError:
        return f"its folder {folder} does not exist"
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return f"its folder {folder} must belong to this user and be private (mode 0700), so no other user can connect"
    return None


def main(handlers: dict[str, Handler], preload: Callable[[], None] | None = None) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("LMPROBE_WORKER_LOG", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        served = curve_auth.serve_settings(sys.argv[1:])
    except curve_auth.CurveSetupError as exc:
        print(f"lmprobe worker: cannot serve: {exc}", file=sys.stderr, flush=True)
        os._exit(2)
    curve = served.curve if served else None
    endpoint = served.endpoint if served else os.environ.get("LMPROBE_WORKER_ENDPOINT")
    if endpoint:
        problem = endpoint_problem(endpoint, curve)
        if problem:
            print(f"lmprobe worker: endpoint {endpoint} refused: {problem}", file=sys.stderr, flush=True)
            os._exit(2)
    else:
        sock_dir = tempfile.mkdtemp(prefix="lmprobe-")  # mkdtemp makes it 0700
        endpoint = f"ipc://{sock_dir}/w.sock"
    daemon = None if served else parse_daemon_args(sys.argv[1:])
    server = WorkerServer(handlers, endpoint, daemon, curve=curve)
    announce: dict[str, Any] = {"event": "listening", "endpoint": server.endpoint, "pid": os.getpid()}
    if served:
        announce |= curve_auth.serve_in_foreground(served)
    elif server.daemon is None:
        threading.Thread(target=_exit_when_parent_dies, args=(endpoint,), name="stdin-watch", daemon=True).start()
    else:
        stop_on_signals(server.daemon, lambda: _remove_socket(endpoint))
        server.daemon.write_discovery(server.endpoint)
    print(json.dumps(announce), flush=True)
    server.serve(preload)
    _remove_socket(endpoint)
    sys.stdout.flush()
    os._exit(0)  # torch's thread pools can delay a normal interpreter exit
