"""The extraction actor: one model loaded once per actor, shards of whole batches run on it.

A shard runs the same ``extract_batch`` on the same batches as the local path (extraction/local.py),
so its activations are bit-identical. The class is plain Python; pool.py wraps it with
``ray.remote`` so that importing this module needs no Ray.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np


class ExtractActor:
    """Holds one loaded model; ``run`` extracts a shard, ``stop`` ends a cancelled request's shard."""

    def __init__(self, model: str, dtype: str, device: str, threads: int | None) -> None:
        self.spec = (model, dtype, device)
        self.threads = threads
        self.stopped: set[str] = set()
        self.lock = threading.Lock()

    def load(self) -> int:
        """Load the model (not in ``__init__``: an error here reaches the driver as itself, e.g.
        MODEL_NOT_FOUND, instead of as a dead actor). Returns this actor's pid."""
        import torch

        from ..models import load_model

        if self.threads:  # Ray sets OMP_NUM_THREADS=1 per CPU actor; match the local worker's threads
            torch.set_num_threads(self.threads)
        load_model(*self.spec)
        return os.getpid()

    def plan(
        self, prompts: list[Any], layers: list[int], pooling: str, batch_size: int, group: bool, roles: Any
    ) -> list[list[int]]:
        """The request's batches (prompt indices), exactly as the local path forms them, after its checks."""
        from ..extraction.batching import batches
        from ..extraction.chat import encode_all, is_conversation
        from ..extraction.checks import check_request, max_positions
        from ..models import load_model

        loaded = load_model(*self.spec)
        check_request(len(loaded.layers), prompts, layers, pooling)
        limit = max_positions(getattr(loaded.model, "config", None))
        lengths = None
        if any(is_conversation(p) for p in prompts):
            lengths = [len(e.ids) for e in encode_all(loaded.tokenizer, prompts, roles)]
        return batches(loaded.tokenizer, prompts, batch_size, group, limit, lengths)

    def run(
        self,
        token: str,
        prompts: list[Any],
        local_batches: list[list[int]],
        layers: list[int],
        pooling: str,
        roles: list[str] | None,
        die_after_first: bool = False,
    ) -> Any:
        """Per batch (activations, token counts) of one shard, and the seconds spent in forward passes."""
        from ..extraction.chat import encode_all, is_conversation
        from ..extraction.local import extract_batch
        from ..models import load_model

        loaded = load_model(*self.spec)
        encoded = encode_all(loaded.tokenizer, prompts, roles) if any(is_conversation(p) for p in prompts) else None
        timings: dict[str, float] = {}
        results: list[tuple[np.ndarray, list[int]]] = []
        for idx in local_batches:
            with self.lock:
                if token in self.stopped:
                    return None  # cancelled: the driver no longer waits for this shard
            part = [encoded[i] for i in idx] if encoded is not None else None
            results.append(extract_batch(loaded, [prompts[i] for i in idx], layers, pooling, timings, part))
            if die_after_first:
                os._exit(1)  # test hook (LMPROBE_RAY_TEST_DIE_SHARD): this actor's process dies mid-shard
        return results, timings.get("forward", 0.0)

    def stop(self, token: str) -> None:
        with self.lock:
            self.stopped.add(token)
