"""Daemon mode of the worker (``lmprobe worker start``): one long-lived worker for many clients.

A child worker has one client, its parent, and exits when the parent's stdin closes. A daemon
has no parent to watch: it serves every process of the user that finds its discovery file, and
so it must (1) tell clients where it is (the discovery file, written atomically, private),
(2) notice clients that died with work in flight and cancel that work (client_watch.py, shared
with the served worker), and (3) exit by itself after an idle timeout. The ROUTER loop (server.py)
calls in here; nothing here imports torch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import model_budget
from .client_watch import ClientWatch
from .protocol import PROTOCOL_VERSION
from .ray_pool.config import ray_settings

log = logging.getLogger("lmprobe_worker")


class WorkerServer(Protocol):
    """What the daemon needs of the ROUTER loop (server.py), which imports this module."""

    endpoint: str

    requests_served: int

    def inflight_count(self) -> int: ...


@dataclass
class DaemonOptions:
    """The command line of a daemon worker (``lmprobe worker start`` builds it)."""

    discovery: str
    idle_timeout_s: float
    model_memory: int | None


def parse_daemon_args(argv: list[str]) -> DaemonOptions | None:
    """The daemon options in ``argv`` (the worker's own arguments), or None for a child worker."""
    if "--daemon" not in argv:
        return None
    parser = argparse.ArgumentParser(prog="lmprobe_worker --daemon")
    parser.add_argument("--daemon", action="store_true")
    parser.add_argument("--discovery", required=True, help="path of the discovery file to write")
    parser.add_argument("--idle-timeout", type=float, default=1800.0, help="seconds; 0 = never")
    parser.add_argument("--model-memory", type=int, default=None, help="bytes of loaded models")
    ns = parser.parse_args(argv)
    return DaemonOptions(ns.discovery, ns.idle_timeout, ns.model_memory)


def stop_on_signals(daemon: Daemon, cleanup: Callable[[], None]) -> None:
    """A daemon has no parent to close its stdin: SIGTERM/SIGINT (kill, logout) ends it, leaving no
    discovery file or socket behind (a SIGKILL leaves them: clients detect the dead pid)."""

    def stop(_sig: int, _frame: Any) -> None:
        daemon.remove_discovery()
        cleanup()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def write_private_json(path: str, content: dict[str, Any]) -> None:
    """Write ``path`` atomically (temp file + rename in the same folder), mode 0600 from the start."""
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".daemon-", suffix=".tmp", dir=folder)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(content, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


class Daemon:
    """The daemon's state beside the ROUTER loop: connections, idle clock, discovery file."""

    def __init__(self, options: DaemonOptions, watch: ClientWatch) -> None:
        self.options = options
        self.watch = watch  # connections and dead clients (server.py drives it)
        self.started_at = time.time()
        self.last_activity = time.monotonic()
        if options.model_memory is not None:
            model_budget.set_budget(options.model_memory)

    # -- discovery file ---------------------------------------------------------------------
    def write_discovery(self, endpoint: str) -> None:
        folder = os.path.dirname(os.path.abspath(self.options.discovery))
        st = os.stat(folder)
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise SystemExit(f"lmprobe worker: {folder} must belong to this user and be private (mode 0700)")
        write_private_json(
            self.options.discovery,
            {
                "endpoint": endpoint,
                "pid": os.getpid(),
                "uid": os.getuid(),
                "protocol": PROTOCOL_VERSION,
                "startedAt": self.started_at,
                "idleTimeoutSeconds": self.options.idle_timeout_s,
                # A runtime that names a cluster attaches only to a daemon of the same one.
                "ray": ray_settings(),
            },
        )

    def remove_discovery(self) -> None:
        """Remove the discovery file if it still names this process (a newer daemon may own it)."""
        try:
            with open(self.options.discovery) as f:
                if json.load(f).get("pid") != os.getpid():
                    return
            os.remove(self.options.discovery)
        except (OSError, ValueError, AttributeError):
            pass

    # -- the loop's hooks -------------------------------------------------------------------
    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def idle_expired(self, busy: bool) -> bool:
        """True when the idle timeout passed with no client connected and nothing to do."""
        if busy or self.options.idle_timeout_s <= 0:
            if busy:
                self.touch()
            return False
        return self.watch.connections == 0 and time.monotonic() - self.last_activity > self.options.idle_timeout_s

    def status(self, server: WorkerServer) -> dict[str, Any]:
        """What ``lmprobe worker status`` prints: pid, uptime, clients, models, memory."""
        models: list[list[str]] = []
        model_bytes = 0
        if __package__ + ".models" in sys.modules:  # importing the registry would import torch
            from .models import loaded_bytes, loaded_keys

            models, model_bytes = loaded_keys(), loaded_bytes()
        return {
            "pid": os.getpid(),
            "endpoint": server.endpoint,
            "protocol": PROTOCOL_VERSION,
            "started_at": self.started_at,
            "uptime_s": time.time() - self.started_at,
            "clients": self.watch.connections,
            "requests_in_flight": server.inflight_count(),
            "requests_served": server.requests_served,
            "models": models,
            "model_bytes": model_bytes,
            "model_memory_budget": model_budget.budget(),
            "rss_bytes": _rss_bytes(),
            "max_rss_bytes": _max_rss_bytes(),
            "idle_timeout_s": self.options.idle_timeout_s,
            "ray": ray_settings(),
        }


def _rss_bytes() -> int:
    """Resident memory now (Linux /proc; elsewhere the peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _max_rss_bytes()


def _max_rss_bytes() -> int:
    """Peak resident memory (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
