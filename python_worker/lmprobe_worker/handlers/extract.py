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


def _check_prompts(prompts: Any, chat_ok: bool = True) -> list[Any]:
    """Non-empty strings or chat conversations: checked before a model loads or anything is tokenized."""
    from ..extraction.chat import check_prompt, is_conversation

    if not isinstance(prompts, list):
        raise WorkerFailure("BAD_REQUEST", "prompts must be a list")
    checked = [check_prompt(p, i) for i, p in enumerate(prompts)]
    if not chat_ok and any(is_conversation(p) for p in checked):
        raise WorkerFailure("BAD_REQUEST", "chat conversations are extracted by the local backend only")
    return checked


def _roles(body: Any) -> list[str] | None:
    roles = body.get("roles")
    if roles is None:
        return None
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r for r in roles):
        raise WorkerFailure("BAD_REQUEST", "roles must be a non-empty list of role names, or absent")
    return roles


def _ray_config() -> Any:
    """The worker's Ray settings (ray_pool/config.py), or None: extraction stays in this process."""
    from ..ray_pool.config import ray_config

    return ray_config()


def extract(body: ExtractRequest, ctx: RequestContext) -> ExtractReply:
    from ..extraction.local import extract as run_extract
    from ..models import is_loaded, load_model

    t0 = time.perf_counter()
    backend = body.get("backend", "local")
    if backend not in BACKENDS:
        raise WorkerFailure("BAD_REQUEST", f"unknown backend {backend!r}; use 'local' or 'nnsight'")
    if backend == "nnsight" and body.get("remote"):
        return _extract_remote(body, ctx, t0)  # NDIF: no local weights are loaded
    prompts = _check_prompts(body["prompts"], chat_ok=backend == "local")
    roles = _roles(body) if backend == "local" else None
    if backend == "local" and (ray := _ray_config()) is not None:
        from ..ray_pool import extract_on_ray

        return extract_on_ray(ray, body, prompts, roles, ctx)  # type: ignore[return-value]
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
        **({"roles": roles} if roles is not None else {}),
    )
    return {
        "activations": acts,
        "lengths": np.asarray(lengths, dtype=np.int32),
        "tokens": int(sum(lengths)),
        "seconds": {"load": t_load, "forward": timings.get("forward", 0.0), "total": time.perf_counter() - t0},
    }


def _extract_remote(body: ExtractRequest, ctx: RequestContext, t0: float) -> ExtractReply:
    from ..extraction.ndif.client import extract_remote

    prompts = _check_prompts(body["prompts"], chat_ok=False)
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
