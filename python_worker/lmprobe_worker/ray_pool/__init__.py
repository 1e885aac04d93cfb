"""Extraction fanned out over a Ray cluster (``PythonRuntime({ ray })``, README "Scale-out on Ray").

Optional: Ray is imported only when ``LMPROBE_RAY_ADDRESS`` is set (python_worker/requirements-ray.txt).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..context import RequestContext
from .config import RayConfig, ray_config

__all__ = ["RayConfig", "extract_on_ray", "ray_config"]


def extract_on_ray(
    config: RayConfig, body: Any, prompts: list[Any], roles: list[str] | None, ctx: RequestContext
) -> dict[str, Any]:
    """The ``extract`` reply for a local-backend request, computed by the cluster's actors."""
    from .pool import pool_for
    from .shards import run_sharded

    t0 = time.perf_counter()
    spec = (body["model"], body.get("dtype", "float32"), body.get("device", "auto"))
    ctx.progress(stage="model", phase="loading", model=body["model"])
    pool = pool_for(config, spec)
    t_load = time.perf_counter() - t0
    ctx.progress(stage="model", phase="loaded", model=body["model"])
    acts, lengths, summary = run_sharded(
        pool,
        prompts,
        list(body["layers"]),
        body["pooling"],
        int(body["batch_size"]),
        bool(body.get("group_by_length", False)),
        roles,
        ctx,
    )
    return {
        "activations": acts,
        "lengths": np.asarray(lengths, dtype=np.int32),
        "tokens": int(sum(lengths)),
        "seconds": {"load": t_load, "forward": summary["forward"], "total": time.perf_counter() - t0},
        "ray": summary,
    }
