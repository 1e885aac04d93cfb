"""Pooling (batch, seq, hidden) activations over each row's real tokens, as lmprobe does."""

from __future__ import annotations

import torch

from ..errors import WorkerFailure

POOLINGS = ("last_token", "first_token", "mean")
FULL = "none"  # no pooling: every real token's activations, unpadded


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
