"""The worker's Ray connection and its extraction actors, kept between requests.

``ray.init(address=...)`` joins an existing cluster (the worker is a Ray driver). The actors load
the request's model once and stay until a request needs another model. The worker package travels
to the cluster as a ``py_modules`` runtime env (the nodes need the worker's Python dependencies).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from ..errors import WorkerFailure
from .config import RayConfig

log = logging.getLogger("lmprobe_worker.ray")

_LOCK = threading.Lock()
_POOL: ActorPool | None = None


def cluster_error(message: str, **details: Any) -> WorkerFailure:
    """The typed failure of an unreachable or lost cluster (RayClusterError on the TypeScript side)."""
    return WorkerFailure("RAY_CLUSTER", message, details)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise cluster_error(
            "Ray is not installed in the worker's Python: run `lmprobe setup --ray` "
            "(or pip install -r python_worker/requirements-ray.txt)"
        ) from e
    return ray


def reachable(address: str, timeout_s: float = 5.0, what: str = "cannot reach", probe: str | None = None) -> None:
    """Fail fast on a cluster nobody listens for: ``ray.init`` would retry a dead address for minutes,
    and replacement actors of a lost cluster would wait for placement until the start timeout.
    ``probe`` is the HOST:PORT to try (default: ``address`` itself, or the Ray Client server of a
    ``ray://`` address); ``"auto"`` has none before ``ray.init`` resolves it (``liveness_address``)."""
    target = probe or (address.removeprefix("ray://") if address != "auto" else None)
    if target is None:
        return
    host, _, port = target.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as e:
        raise cluster_error(f"{what} the Ray cluster at {address}: {e}", address=address) from e


def liveness_address(ray: Any, address: str) -> str | None:
    """The HOST:PORT whose silence means the cluster is gone: the Ray Client server of ``ray://``,
    the GCS that ``"auto"`` resolved to (``RAY_ADDRESS`` or this node's latest cluster), else the
    address itself. None when Ray does not say (then only actor deaths and timeouts tell)."""
    if address.startswith("ray://"):
        return address.removeprefix("ray://")
    if address != "auto":
        return address
    try:
        return str(ray.get_runtime_context().gcs_address) or None
    except Exception:  # an older Ray without it, or a client-mode context
        return None


def connect(config: RayConfig) -> Any:
    """The ``ray`` module, initialised as a driver of ``config.address`` (once per worker)."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    reachable(config.address)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        ray.init(
            address=config.address,
            namespace="lmprobe",
            runtime_env={"py_modules": [package]},
            log_to_driver=False,  # the worker's stdout is not ours to fill; actor logs stay on the cluster
            logging_level=logging.WARNING,
        )
    except Exception as e:  # ConnectionError, RuntimeError...: Ray's errors for an unreachable cluster
        raise cluster_error(f"cannot reach the Ray cluster at {config.address}: {e}", address=config.address) from e
    return ray


class ActorPool:
    """N extraction actors of one model (one GPU each when the cluster has GPUs, else one CPU)."""

    def __init__(self, ray: Any, config: RayConfig, spec: tuple[str, str, str]) -> None:
        from .actor import ExtractActor

        self.ray, self.config, self.spec = ray, config, spec
        self.probe = liveness_address(ray, config.address)
        gpus = float(ray.cluster_resources().get("GPU", 0))
        self.count = config.workers or max(1, int(gpus))
        res = dict(config.resources)
        cpus = res.pop("CPU", 1.0)
        gpu_each = res.pop("GPU", 1.0 if gpus > 0 else 0.0)
        self._remote = ray.remote(ExtractActor).options(
            num_cpus=cpus,
            num_gpus=gpu_each,
            resources=res or None,
            max_restarts=0,  # a dead actor is replaced by the pool, and its shard retried elsewhere
            max_task_retries=0,
            max_concurrency=2,  # ``stop`` is served while ``run`` works
        )
        self.args = (*spec, config.threads)
        self.actors: list[Any] = []
        self.pids: dict[Any, int] = {}
        self.pending: dict[Any, Any] = {}  # model-load ref -> replacement actor still loading
        self.add(self.count)

    def add(self, n: int) -> list[Any]:
        """Start ``n`` actors and wait until each has loaded the model (bounded: too few resources fail)."""
        fresh = [self._remote.remote(*self.args) for _ in range(n)]
        refs = [a.load.remote() for a in fresh]
        ready, pending = self.ray.wait(refs, num_returns=len(refs), timeout=self.config.start_timeout_s)
        if pending:
            for a in fresh:
                self.ray.kill(a)
            have = self.ray.cluster_resources()
            raise cluster_error(
                f"{len(pending)} of {n} Ray actors could not start within {self.config.start_timeout_s:.0f}s "
                f"(the cluster has {have.get('CPU', 0):g} CPUs, {have.get('GPU', 0):g} GPUs): use fewer `workers` "
                "or smaller `resourcesPerWorker`",
                address=self.config.address,
            )
        for actor, ref in zip(fresh, refs, strict=True):
            self.pids[actor] = unwrap(self.ray, lambda r=ref: self.ray.get(r))
        self.actors.extend(fresh)
        return fresh

    def replace(self, dead: Any) -> tuple[Any, Any]:
        """Drop a dead actor and start one in its place without waiting: (actor, ref of its model load).
        It stays in ``pending`` until the caller (or the next request) sees the load done (``ready``)."""
        if dead in self.actors:
            self.actors.remove(dead)
        self.pids.pop(dead, None)
        fresh = self._remote.remote(*self.args)
        load = fresh.load.remote()
        self.pending[load] = fresh
        return fresh, load

    def ready(self, load: Any, pid: int) -> Any:
        actor = self.pending.pop(load)
        self.actors.append(actor)
        self.pids[actor] = pid
        return actor

    def settle(self) -> None:
        """Adopt the replacements from an earlier request that have loaded meanwhile (without waiting:
        the others join the next request's shard loop when their load is done)."""
        if not self.pending:
            return
        done, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=0)
        for ref in done:
            try:
                self.ready(ref, unwrap(self.ray, lambda r=ref: self.ray.get(r)))
            except self.ray.exceptions.RayActorError:
                self.pending.pop(ref, None)  # died while loading

    def check_alive(self) -> None:
        """Raise the lost-cluster error now when the cluster's address stopped answering (after an
        actor death: a dead head would otherwise show only as placement timeouts)."""
        if self.probe is not None:
            reachable(self.config.address, 2.0, "lost", self.probe)

    def close(self) -> None:
        for a in [*self.actors, *self.pending.values()]:
            try:
                self.ray.kill(a)
            except Exception:  # already dead
                pass
        self.actors.clear()
        self.pending.clear()


def unwrap(ray: Any, get: Any) -> Any:
    """``get()``, with an error raised inside an actor re-raised as itself (a WorkerFailure keeps its code)."""
    try:
        return get()
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, Exception):
            raise cause from None
        raise


def pool_for(config: RayConfig, spec: tuple[str, str, str]) -> ActorPool:
    """The actors for this model, started on first use; a request for another model replaces them."""
    global _POOL
    with _LOCK:
        ray = connect(config)
        if _POOL is not None and (_POOL.spec, _POOL.config.key()) == (spec, config.key()):
            _POOL.settle()
            if _POOL.actors or _POOL.pending:
                return _POOL
        if _POOL is not None:
            _POOL.close()
            _POOL = None
        t0 = time.perf_counter()
        _POOL = ActorPool(ray, config, spec)
        log.info("started %d Ray actors for %s in %.1fs", _POOL.count, spec[0], time.perf_counter() - t0)
        return _POOL
