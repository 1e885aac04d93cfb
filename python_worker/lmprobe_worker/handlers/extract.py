"""``extract``: pooled (or full-sequence) activations of prompts, locally, through nnsight, or on NDIF."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np

from ..context import RequestContext
from ..errors import WorkerFailure
from ..messages import ExtractReply, ExtractRequest

BACKENDS = ("local", "nnsight")


def _check_prompts(prompts: Any) -> list[str]:
    """Strings, none empty: checked before a model loads or anything is tokenized."""
    from ..extraction.checks import check_non_empty

    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise WorkerFailure("BAD_REQUEST", "every prompt must be a string")
    check_non_empty(prompts)
    return prompts


def extract(body: ExtractRequest, ctx: RequestContext) -> ExtractReply:
    from ..extraction.local import extract as run_extract
    from ..models import is_loaded, load_model

    t0 = time.perf_counter()
    backend = body.get("backend", "local")
    if backend not in BACKENDS:
        raise WorkerFailure("BAD_REQUEST", f"unknown backend {backend!r}; use 'local' or 'nnsight'")
    if backend == "nnsight" and body.get("remote"):
        return _extract_remote(body, ctx, t0)  # NDIF: no local weights are loaded
    prompts = _check_prompts(body["prompts"])
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

    timings: dict[str, float] = {}
    if backend == "nnsight":
        from ..extraction.nnsight_trace import extract_local as nnsight_extract

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


def _extract_remote(body: ExtractRequest, ctx: RequestContext, t0: float) -> ExtractReply:
    from ..extraction.ndif.client import extract_remote

    prompts = _check_prompts(body["prompts"])
    acts, lengths, summary = extract_remote(
        body,
        prompts,
        list(body["layers"]),
        body["pooling"],
        int(body["batch_size"]),
        ctx.progress,
        ctx.check_cancelled,
        bool(body.get("group_by_length", False)),
    )
    total = time.perf_counter() - t0
    return {
        "activations": acts,
        "lengths": np.asarray(lengths, dtype=np.int32),
        "tokens": int(sum(lengths)),
        "seconds": {"load": 0.0, "forward": total, "total": total},
        "remote": summary,
    }
