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

from ..models import LoadedModel
from .batching import batches, gather
from .chat import Encoded, encode_all, is_conversation, pad_batch
from .checks import check_request, max_positions
from .pooling import FULL, pool


class _StopForward(Exception):
    """Raised from the hook of the highest requested block to skip the rest of the model."""


def extract_batch(
    loaded: LoadedModel,
    prompts: list[str],
    layers: list[int],
    pooling: str,
    timings: dict[str, float] | None = None,
    encoded: list[Encoded] | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Pooled activations of one batch: (len(prompts), len(layers), hidden) float32, and the
    number of real tokens of each prompt. With pooling "none": (real tokens, len(layers), hidden),
    the prompts' tokens one after the other, pads dropped. With ``encoded`` (chat prompts or a role
    mask, see chat.py) the batch is padded from those ids, and pooling and "none" read only the
    kept tokens (attention still sees every real token)."""
    captured: dict[int, torch.Tensor] = {}
    top = max(layers)

    def make_hook(idx: int) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            captured[idx] = output[0] if isinstance(output, tuple) else output
            if idx == top:
                raise _StopForward()

        return hook

    if encoded is None:
        enc = loaded.tokenizer(prompts, return_tensors="pt", padding=True)
        input_ids, attention = enc["input_ids"], enc["attention_mask"]
        keep = attention
    else:
        input_ids, attention, keep = pad_batch(loaded.tokenizer, encoded)
    input_ids = input_ids.to(loaded.device)
    attention = attention.to(loaded.device)
    mask = keep.to(loaded.device)  # the tokens pooled / returned
    handles = [loaded.layers[i].register_forward_hook(make_hook(i)) for i in layers]
    try:
        with torch.inference_mode():
            t0 = time.perf_counter()
            try:
                loaded.model(input_ids=input_ids, attention_mask=attention, use_cache=False)
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


def extract(
    loaded: LoadedModel,
    prompts: list[Any],
    layers: list[int],
    pooling: str,
    batch_size: int,
    on_batch: Any = None,
    group_by_length: bool = False,
    timings: dict[str, float] | None = None,
    roles: list[str] | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Activations for all prompts in input order (see extract_batch), and each prompt's token count
    (kept tokens, under a role mask). Prompts are strings or chat conversations (chat.py)."""
    check_request(len(loaded.layers), prompts, layers, pooling)
    limit = max_positions(getattr(loaded.model, "config", None))
    # Plain string requests keep the batched tokenizer call (lmprobe's numerics, bit for bit).
    chat = any(is_conversation(p) for p in prompts)
    encoded = encode_all(loaded.tokenizer, prompts, roles) if chat else None
    lengths = [len(e.ids) for e in encoded] if encoded is not None else None
    idx_batches = batches(loaded.tokenizer, prompts, batch_size, group_by_length, limit, lengths)
    results = []
    done = tokens = 0
    for idx in idx_batches:
        part = [encoded[i] for i in idx] if encoded is not None else None
        acts, batch_lengths = extract_batch(loaded, [prompts[i] for i in idx], layers, pooling, timings, part)
        results.append((acts, batch_lengths))
        done += len(idx)
        tokens += sum(batch_lengths)
        if on_batch is not None:
            on_batch(done, len(prompts), tokens)
    return gather(len(prompts), idx_batches, results, pooling)
