"""Which prompts share a forward pass, and putting per-batch results back in input order.

Batches follow lmprobe's (``batch_size`` prompts in input order, bit for bit), or, with
``group_by_length``, prompts sorted by token count so that a batch carries little padding (the
same tokens, less work). The token counts come from one tokenizer call without padding, the same
call that pads each batch later, so they are each prompt's real tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import check_lengths
from .pooling import FULL


def token_lengths(tokenizer: Any, prompts: list[str]) -> list[int]:
    return [len(ids) for ids in tokenizer(prompts, padding=False)["input_ids"]]


def batches(
    tokenizer: Any,
    prompts: list[Any],
    batch_size: int,
    group_by_length: bool,
    limit: int | None = None,
    lengths: list[int] | None = None,
) -> list[list[int]]:
    """Prompt indices per forward pass, in input order or grouped by token length.

    With the model's ``limit`` (its positions), every prompt's token count is checked first, so a
    prompt the model cannot take fails the request before any forward pass (and names the prompt).
    ``lengths``: token counts already known (chat prompts are tokenized beforehand, see chat.py).
    """
    order = list(range(len(prompts)))
    if limit is not None or group_by_length:
        lengths = lengths if lengths is not None else token_lengths(tokenizer, prompts)
        check_lengths(lengths, limit)
        if group_by_length:
            order.sort(key=lambda i: lengths[i])  # stable: equal lengths keep input order
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def gather(
    n_prompts: int, idx_batches: list[list[int]], results: list[tuple[np.ndarray, list[int]]], pooling: str
) -> tuple[np.ndarray, list[int]]:
    """Per-batch (activations, token counts) back in input order: pooled, one row per prompt;
    ``pooling="none"``, each prompt's tokens one after the other."""
    per_prompt: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * n_prompts
    lengths = [0] * n_prompts
    for idx, (acts, batch_lengths) in zip(idx_batches, results, strict=True):
        ends = np.cumsum(batch_lengths) if pooling == FULL else np.arange(1, len(idx) + 1)
        for k, i in enumerate(idx):
            per_prompt[i] = acts[(ends[k - 1] if k else 0) : ends[k]]
            lengths[i] = batch_lengths[k]
    return np.concatenate(per_prompt, axis=0), lengths
