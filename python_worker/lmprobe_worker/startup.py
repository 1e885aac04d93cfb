"""How the worker starts in each of its modes, and what ends it.

- **child** (default): a private ``ipc://`` socket in a fresh 0700 folder; exits when the parent
  closes its stdin (the parent died or closed it).
- **daemon** (``--daemon``, ``lmprobe worker start``): the discovery file, SIGTERM/SIGINT; see daemon.py.
- **served** (``--serve tcp://...``, ``lmprobe worker serve``): CURVE keys and ZAP; see curve.py.

Each prints one JSON line (``{"event": "listening", "endpoint": ..., "pid": ...}``) before it serves;
the ROUTER loop itself is server.py.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from . import curve as curve_auth
from .context import Handler
from .daemon import parse_daemon_args, stop_on_signals
from .ray_pool.config import ray_settings
from .server import WorkerServer


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
        announce |= curve_auth.serve_in_foreground(served) | {"ray": ray_settings()}
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
