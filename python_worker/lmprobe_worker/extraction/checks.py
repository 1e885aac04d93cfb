"""Checks made before any forward pass: the request's layers and pooling, and each prompt.

Prompt problems are the caller's (``INVALID_INPUT`` with ``details = {"argument": "prompts",
"index": i}``, i counted in the request's prompt list); the rest means the TypeScript side sent
something it validates itself (``BAD_REQUEST``).

- An empty prompt is refused: a tokenizer without BOS gives it no token at all (torch then fails
  on a reshape), and padded in a batch its "activation" would be whatever the pad positions hold,
  so its value would depend on its batch companions.
- A prompt longer than the model's positions is refused with its token count, instead of an
  ``IndexError`` from the position embedding in the middle of the forward pass.
"""

from __future__ import annotations

from typing import Any

from ..errors import WorkerFailure, invalid_prompt
from .pooling import FULL, POOLINGS

# Where transformers configs keep the number of positions a model takes (GPT-2: n_positions).
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "n_ctx")


def check_request(
    n_blocks: int, prompts: list[str], layers: list[int], pooling: str, *, ascending: bool = False
) -> None:
    """Layers in range (ascending and unique when ``ascending``), a known pooling, non-empty prompts."""
    if not prompts:
        raise WorkerFailure("BAD_REQUEST", "no prompts to extract")
    bad = [i for i in layers if not 0 <= i < n_blocks]
    if bad:
        raise WorkerFailure("BAD_REQUEST", f"layers {bad} out of range: the model has {n_blocks}")
    if ascending and layers != sorted(set(layers)):
        # nnsight must see the blocks in forward order; the client sends them sorted and unique.
        raise WorkerFailure("BAD_REQUEST", f"layers must be ascending and unique for the nnsight backend, got {layers}")
    if pooling not in POOLINGS and pooling != FULL:
        raise WorkerFailure("BAD_REQUEST", f"unknown pooling {pooling!r}; use one of {POOLINGS} or {FULL!r}")
    check_non_empty(prompts)


def check_non_empty(prompts: list[str]) -> None:
    for i, p in enumerate(prompts):
        if p == "":
            raise invalid_prompt(i, f"prompt {i} is an empty string: prompts must be non-empty")


def max_positions(config: Any) -> int | None:
    """How many token positions the model takes, from its config; None when the config says nothing
    (then nothing is checked: e.g. a model whose positions are computed, not looked up)."""
    if config is None:
        return None
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    for key in _POSITION_KEYS:
        value = getattr(text, key, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def check_lengths(lengths: list[int], limit: int | None) -> None:
    """Every prompt has at least one token and, when the model's limit is known, at most ``limit``."""
    for i, n in enumerate(lengths):
        if n == 0:
            raise invalid_prompt(i, f"prompt {i} has no tokens: prompts must be non-empty")
        if limit is not None and n > limit:
            raise invalid_prompt(i, f"prompt {i} has {n} tokens; the model takes at most {limit}")
