"""Activation extraction with transformers and forward hooks (the "local" backend).

Numerics follow lmprobe's LocalBackend: the tokenizer's own padding side, special tokens added,
no truncation, pad = eos, batches of ``batch_size`` prompts in input order, layer i = output of
decoder block i (no final norm). Two things are deliberately cheaper: the forward pass stops
after the highest requested block (later blocks and ``lm_head`` cannot change earlier outputs),
and pooling happens here so only pooled vectors cross the wire.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from .models import LoadedModel
from .protocol import WorkerFailure

POOLINGS = ("last_token", "first_token", "mean")
FULL = "none"  # no pooling: every real token's activations, unpadded


class _StopForward(Exception):
    """Raised from the hook of the highest requested block to skip the rest of the model."""


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Reduce (batch, seq, hidden) to (batch, hidden) over the real tokens of each row."""
    if pooling == "last_token":
        # Index of the last real token works for left and right padding alike.
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = torch.where(mask.bool(), positions, torch.full_like(positions, -1)).max(dim=1).values
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    if pooling == "first_token":
        # lmprobe reads position 0, a pad token under left padding; we take the first real token.
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        big = torch.full_like(positions, mask.shape[1])
        first = torch.where(mask.bool(), positions, big).min(dim=1).values
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), first]
    if pooling == "mean":
        m = mask.unsqueeze(-1).float()  # as lmprobe: bf16 activations are summed in float32
        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
    raise WorkerFailure("BAD_REQUEST", f"unknown pooling {pooling!r}; use one of {POOLINGS}")


def extract_batch(
    loaded: LoadedModel, prompts: list[str], layers: list[int], pooling: str, timings: dict[str, float] | None = None
) -> tuple[np.ndarray, list[int]]:
    """Pooled activations of one batch: (len(prompts), len(layers), hidden) float32, and the
    number of real tokens of each prompt. With pooling "none": (real tokens, len(layers), hidden),
    the prompts' tokens one after the other, pads dropped."""
    captured: dict[int, torch.Tensor] = {}
    top = max(layers)

    def make_hook(idx: int) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            captured[idx] = output[0] if isinstance(output, tuple) else output
            if idx == top:
                raise _StopForward()

        return hook

    enc = loaded.tokenizer(prompts, return_tensors="pt", padding=True)
    input_ids = enc["input_ids"].to(loaded.device)
    mask = enc["attention_mask"].to(loaded.device)
    handles = [loaded.layers[i].register_forward_hook(make_hook(i)) for i in layers]
    try:
        with torch.inference_mode():
            t0 = time.perf_counter()
            try:
                loaded.model(input_ids=input_ids, attention_mask=mask, use_cache=False)
            except _StopForward:
                pass
            if timings is not None:  # the forward pass alone, for the benchmark's overhead split
                timings["forward"] = timings.get("forward", 0.0) + time.perf_counter() - t0
            if pooling == FULL:
                per_layer = torch.stack([captured[i] for i in layers], dim=2)  # (B, S, L, H)
                stacked = per_layer[mask.bool()].float().cpu().numpy()  # row-major: prompt by prompt
            else:
                pooled = [pool(captured[i], mask, pooling) for i in layers]
                stacked = torch.stack(pooled, dim=1).float().cpu().numpy()
    finally:
        for h in handles:
            h.remove()
    return stacked, mask.sum(dim=1).tolist()


def batches(loaded: LoadedModel, prompts: list[str], batch_size: int, group_by_length: bool) -> list[list[int]]:
    """Prompt indices per forward pass. In input order (lmprobe's batching, bit-for-bit), or
    grouped by token length so that a batch carries little padding (the same tokens, less work)."""
    order = list(range(len(prompts)))
    if group_by_length:
        lengths = [len(ids) for ids in loaded.tokenizer(prompts, padding=False)["input_ids"]]
        order.sort(key=lambda i: lengths[i])  # stable: equal lengths keep input order
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def extract(
    loaded: LoadedModel,
    prompts: list[str],
    layers: list[int],
    pooling: str,
    batch_size: int,
    on_batch: Any = None,
    group_by_length: bool = False,
    timings: dict[str, float] | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Activations for all prompts in input order (see extract_batch), and each prompt's token count."""
    if not prompts:
        raise WorkerFailure("BAD_REQUEST", "no prompts to extract")
    n_blocks = len(loaded.layers)
    bad = [i for i in layers if not 0 <= i < n_blocks]
    if bad:
        raise WorkerFailure("BAD_REQUEST", f"layers {bad} out of range: the model has {n_blocks}")
    if pooling not in POOLINGS and pooling != FULL:
        raise WorkerFailure("BAD_REQUEST", f"unknown pooling {pooling!r}; use one of {POOLINGS} or {FULL!r}")
    per_prompt: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(prompts)
    lengths = [0] * len(prompts)
    done = tokens = 0
    for idx in batches(loaded, prompts, batch_size, group_by_length):
        acts, batch_lengths = extract_batch(loaded, [prompts[i] for i in idx], layers, pooling, timings)
        # Split the batch back into prompts (pooled: one row each; full: each prompt's tokens).
        ends = np.cumsum(batch_lengths) if pooling == FULL else np.arange(1, len(idx) + 1)
        for k, i in enumerate(idx):
            per_prompt[i] = acts[(ends[k - 1] if k else 0) : ends[k]]
            lengths[i] = batch_lengths[k]
        done += len(idx)
        tokens += sum(batch_lengths)
        if on_batch is not None:
            on_batch(done, len(prompts), tokens)
    return np.concatenate(per_prompt, axis=0), lengths
