"""ROUTER loop of the worker.

The main thread owns the ROUTER socket and answers control messages (ping, cancel, shutdown) at
once, even while a model runs. Heavy requests go to one compute thread, in arrival order (one
model, one device: running them side by side would only fight for the same cores). Remote (NDIF)
extractions are the exception: each runs on a thread of its own (``_network_bound``). The compute
thread hands its replies back over an inproc PUSH/PULL pair, because a zmq socket must stay in
the thread that uses it.
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
from .errors import WorkerFailure
from .protocol import decode, encode, error_body, reply_header

log = logging.getLogger("lmprobe_worker")

_OUTBOX = "inproc://lmprobe-outbox"
_CONTROL_TYPES = {"ping", "cancel", "shutdown"}


def _network_bound(header: dict[str, Any], body: dict[str, Any]) -> bool:
    """A remote (NDIF) extraction: it waits on the network, not the device, so it runs on its own
    thread beside the compute thread and beside other remote requests (their jobs overlap on the
    server). TypeScript bounds how many it sends at once."""
    return header.get("type") == "extract" and body.get("backend") == "nnsight" and bool(body.get("remote"))


class WorkerServer:
    def __init__(
        self, handlers: dict[str, Handler], endpoint: str, *, curve: curve_auth.CurveConfig | None = None
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
        self.cancel_flags: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

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
            flag = self.cancel_flags.setdefault(rid, threading.Event())
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
                self.cancel_flags.pop(rid, None)

    # -- main thread ------------------------------------------------------------------------
    def _reply(self, identity: bytes, kind: str, parent: str | None, body: dict[str, Any]) -> None:
        self.router.send_multipart([identity, *encode(reply_header(kind, parent), body)])

    def _control(self, identity: bytes, header: dict[str, Any], body: dict[str, Any]) -> bool:
        kind, rid = header.get("type"), str(header.get("id"))
        if kind == "ping":
            self._reply(identity, "result", rid, {"pong": True, "pid": os.getpid()})
        elif kind == "cancel":
            target = str(body.get("target"))
            with self.lock:
                self.cancel_flags.setdefault(target, threading.Event()).set()
            self._reply(identity, "result", rid, {"cancelled": target})
        elif kind == "shutdown":
            self._reply(identity, "result", rid, {"bye": not self.served})
            return self.served
        return True

    def serve(self, preload: Callable[[], None] | None = None) -> None:
        if preload is not None:
            self.handlers.setdefault("__preload__", lambda _b, _c: (preload(), {})[1])
            self.jobs.put((b"", {"id": "__preload__", "type": "__preload__"}, {}))
        threading.Thread(target=self._compute_loop, name="compute", daemon=True).start()
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.outbox, zmq.POLLIN)
        running = True
        while running:
            for sock, _ in poller.poll():
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
                    self._reply(identity.bytes, "ack", str(header.get("id")), {})
                    self.jobs.put((identity.bytes, header, body))
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
    server = WorkerServer(handlers, endpoint, curve=curve)
    announce: dict[str, Any] = {"event": "listening", "endpoint": server.endpoint, "pid": os.getpid()}
    if served:
        announce |= curve_auth.serve_in_foreground(served)
    else:
        threading.Thread(target=_exit_when_parent_dies, args=(endpoint,), name="stdin-watch", daemon=True).start()
    print(json.dumps(announce), flush=True)
    server.serve(preload)
    _remove_socket(endpoint)
    sys.stdout.flush()
    os._exit(0)  # torch's thread pools can delay a normal interpreter exit
