"""The worker's request handlers: one function per request type, wired up in ``HANDLERS``."""

from __future__ import annotations

import os
import platform
import sys
import time
from functools import partial
from typing import Any

import numpy as np

from .protocol import PROTOCOL_VERSION, WorkerFailure
from .server import Handler, RequestContext


def preload() -> None:
    """Import the heavy libraries while the client is still busy validating and reading."""
    import sklearn.linear_model  # noqa: F401
    import torch  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401 - resolves the lazy modules too


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def hello(_body: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    import numpy
    import sklearn
    import torch
    import transformers
    import zmq

    from .models import resolve_device

    return {
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sklearn": sklearn.__version__,
            "numpy": numpy.__version__,
            "pyzmq": zmq.__version__,
            "nnsight": _dist_version("nnsight"),
        },
        "device": str(resolve_device("auto")),
        "threads": torch.get_num_threads(),
        "capabilities": ["extract.local", "extract.nnsight", "extract.ndif", "fit.sklearn", "embedded"],
    }


def extract(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    from .extract_local import extract as run_extract
    from .models import is_loaded, load_model

    t0 = time.perf_counter()
    backend = body.get("backend", "local")
    if backend not in ("local", "nnsight"):
        raise WorkerFailure("BAD_REQUEST", f"unknown backend {backend!r}; use 'local' or 'nnsight'")
    if backend == "nnsight" and body.get("remote"):
        return _extract_remote(body, ctx, t0)  # NDIF: no local weights are loaded
    spec = (body["model"], body.get("dtype", "float32"), body.get("device", "auto"))
    fresh = not is_loaded(*spec)  # report a model load only when one happens
    if fresh:
        ctx.progress(stage="model", phase="loading", model=body["model"])
    loaded = load_model(*spec)
    t_load = time.perf_counter() - t0
    if fresh:
        ctx.progress(stage="model", phase="loaded", model=body["model"])

    def on_batch(done: int, total: int, tokens: int) -> None:
        ctx.progress(stage="extract", done=done, total=total, tokens=tokens)
        ctx.check_cancelled()

    prompts = body["prompts"]
    timings: dict[str, float] = {}
    if not all(isinstance(p, str) for p in prompts):
        raise WorkerFailure("BAD_REQUEST", "every prompt must be a string")
    if backend == "nnsight":
        from .extract_nnsight import extract_local as nnsight_extract

        run_extract = partial(nnsight_extract, simulate_remote=bool(body.get("simulate_remote", False)))
    acts, lengths = run_extract(
        loaded,
        prompts,
        list(body["layers"]),
        body["pooling"],
        int(body["batch_size"]),
        on_batch,
        bool(body.get("group_by_length", False)),
        timings,
    )
    return {
        "activations": acts,
        "lengths": np.asarray(lengths, dtype=np.int32),
        "tokens": int(sum(lengths)),
        "seconds": {"load": t_load, "forward": timings.get("forward", 0.0), "total": time.perf_counter() - t0},
    }


def _extract_remote(body: dict[str, Any], ctx: RequestContext, t0: float) -> dict[str, Any]:
    from .ndif import extract_remote

    prompts = body["prompts"]
    if not all(isinstance(p, str) for p in prompts):
        raise WorkerFailure("BAD_REQUEST", "every prompt must be a string")
    acts, lengths, summary = extract_remote(
        body, prompts, list(body["layers"]), body["pooling"], int(body["batch_size"]),
        ctx.progress, ctx.check_cancelled, bool(body.get("group_by_length", False)),
    )
    total = time.perf_counter() - t0
    return {
        "activations": acts,
        "lengths": np.asarray(lengths, dtype=np.int32),
        "tokens": int(sum(lengths)),
        "seconds": {"load": 0.0, "forward": total, "total": total},
        "remote": summary,
    }


def fit(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    from .fit import fit as run_fit

    t0 = time.perf_counter()
    ctx.progress(stage="fit", phase="start")
    state = run_fit(body)
    ctx.progress(stage="fit", phase="done")
    state["seconds"] = time.perf_counter() - t0
    return state


def score(body: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    """Score transformed features with a custom estimator kept in the worker (see export.py)."""
    from .export import score as run_score

    return run_score(body)


def embedded_prepare(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    from .embedded import prepare_embedded

    return prepare_embedded(
        body["name"], body["out_dir"], lambda msg: ctx.progress(stage="embedded", message=msg)
    )


def unload(_body: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    from .models import unload_all

    return {"unloaded": unload_all()}


def loaded_models(_body: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    from .models import loaded_keys

    return {"models": loaded_keys()}


HANDLERS: dict[str, Handler] = {
    "loaded_models": loaded_models,
    "hello": hello,
    "extract": extract,
    "fit": fit,
    "score": score,
    "embedded_prepare": embedded_prepare,
    "unload": unload,
}
