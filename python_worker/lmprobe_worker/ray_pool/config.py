"""The Ray settings of a worker, read from the environment the TypeScript runtime sets.

``PythonRuntime({ ray })`` (src/worker/ray-options.ts) checks the option and passes it as
``LMPROBE_RAY_ADDRESS`` / ``LMPROBE_RAY_WORKERS`` / ``LMPROBE_RAY_RESOURCES`` (JSON), so that
server.py and the request schema stay as they are: a worker started with these set fans its
local extractions out over the cluster.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import WorkerFailure


@dataclass(frozen=True)
class RayConfig:
    """Where the cluster is, how many extraction actors to start and what each one reserves."""

    address: str
    workers: int | None  # None: one per GPU of the cluster, else 1
    resources: dict[str, float] = field(default_factory=dict)  # "CPU", "GPU", custom resources
    start_timeout_s: float = 300.0  # actors that cannot be placed (too few CPUs/GPUs) fail after this
    threads: int | None = None  # torch threads per actor; None: what Ray gives it (its CPU reservation)

    def key(self) -> tuple[Any, ...]:
        return (self.address, self.workers, tuple(sorted(self.resources.items())), self.threads)


def ray_config(env: dict[str, str] | None = None) -> RayConfig | None:
    """The worker's Ray settings, or None when ``LMPROBE_RAY_ADDRESS`` is unset (local extraction)."""
    env = dict(os.environ) if env is None else env
    address = env.get("LMPROBE_RAY_ADDRESS", "").strip()
    if not address:
        return None
    try:
        workers = int(env["LMPROBE_RAY_WORKERS"]) if env.get("LMPROBE_RAY_WORKERS") else None
        resources = json.loads(env.get("LMPROBE_RAY_RESOURCES") or "{}")
        timeout = float(env.get("LMPROBE_RAY_START_TIMEOUT_S") or 300)
        threads = int(env["LMPROBE_RAY_TORCH_THREADS"]) if env.get("LMPROBE_RAY_TORCH_THREADS") else None
    except ValueError as e:
        raise WorkerFailure("BAD_REQUEST", f"malformed LMPROBE_RAY_* settings: {e}") from e
    if workers is not None and workers < 1:
        raise WorkerFailure("BAD_REQUEST", "LMPROBE_RAY_WORKERS must be an integer ≥ 1")
    if threads is not None and threads < 1:
        raise WorkerFailure("BAD_REQUEST", "LMPROBE_RAY_TORCH_THREADS must be an integer ≥ 1")
    if not isinstance(resources, dict) or not all(isinstance(v, int | float) and v >= 0 for v in resources.values()):
        raise WorkerFailure("BAD_REQUEST", "LMPROBE_RAY_RESOURCES must be a JSON object of numbers ≥ 0")
    return RayConfig(address, workers, {str(k): float(v) for k, v in resources.items()}, timeout, threads)


def ray_settings(env: dict[str, str] | None = None) -> dict[str, Any] | None:
    """What a worker tells its clients about its cluster (the ``hello`` reply, a daemon's discovery
    file and status): ``{"address", "workers", "resources", "threads"}``, or None for local extraction. Reads
    the environment only: Ray is not imported (a handshake must stay cheap)."""
    config = ray_config(env)
    if config is None:
        return None
    resources = dict(sorted(config.resources.items()))
    return {"address": config.address, "workers": config.workers, "resources": resources, "threads": config.threads}
