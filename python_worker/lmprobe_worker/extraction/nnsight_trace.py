"""Activation extraction through nnsight traces (the "nnsight" backend), locally or on NDIF.

The numbers are those of the local backend (``local.py``), on purpose: the same tokenizer
call (the tokenizer's own padding side, special tokens, no truncation, pad = eos), the same
batches (``batches``), the same definition of layer i (output of decoder block i, no final norm)
and the same pooling (``pool``), which here runs *inside* the trace. Blocks are read in ascending
order (nnsight requires forward order) and ``tracer.stop()`` ends the forward pass after the
highest requested block.

nnsight's TransformersModel re-collates what a trace is given and, for a left-padding tokenizer,
adds mask-derived ``position_ids``; the local backend passes none (the model counts 0..T-1). So
the trace gets the already padded ``input_ids``/``attention_mask`` plus explicit 0..T-1
``position_ids``: nnsight then leaves the batch as it is, locally and on a server whose
tokenizer may be configured differently.

Remote (NDIF) jobs live in the ``ndif`` subpackage; this module builds the traces for both, and
ships the worker's own code to the server (``register_by_value``).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import WorkerFailure
from ..models import LoadedModel
from .batching import batches, gather
from .checks import check_request, max_positions
from .pooling import pool

TRANSFER_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass
class NnsightModel:
    """An nnsight model plus what the extraction needs beside it."""

    model: Any  # nnsight TransformersModel (dispatched locally, or a weightless meta stub)
    tokenizer: Any  # the tokenizer exactly as the local backend configures it
    layers_path: list[str]  # attribute path of the decoder blocks' ModuleList, e.g. ["model", "layers"]
    n_blocks: int
    max_positions: int | None = None  # from the model's config; None: prompt lengths are not checked

    def block(self, i: int) -> Any:
        node = self.model
        for attr in self.layers_path:
            node = getattr(node, attr)
        return node[i]


_WRAPPED: dict[int, NnsightModel] = {}
_LOCK = threading.Lock()


def layers_path(module: Any, blocks: list[Any]) -> list[str]:
    """Attribute path of the ModuleList holding ``blocks`` (as found by models.decoder_layers)."""
    for name, sub in module.named_modules():
        if sub is blocks[0]:
            parts = name.split(".")
            return parts[:-1]
    raise WorkerFailure("UNSUPPORTED_MODEL", "cannot locate the decoder blocks inside the nnsight model")


def wrap_loaded(loaded: LoadedModel) -> NnsightModel:
    """The nnsight view of a model the local backend already loaded (same weights, no second copy).

    nnsight sets its tokenizer to left padding; it gets a copy so the local backend's tokenizer
    keeps its own padding side.
    """
    with _LOCK:
        hit = _WRAPPED.get(id(loaded))
        if hit is not None:
            return hit
        from nnsight import TransformersModel

        model = TransformersModel(loaded.model, tokenizer=copy.deepcopy(loaded.tokenizer), task="text-generation")
        path = layers_path(loaded.model, loaded.layers)
        limit = max_positions(getattr(loaded.model, "config", None))
        wrapped = NnsightModel(model, loaded.tokenizer, path, len(loaded.layers), limit)
        _WRAPPED[id(loaded)] = wrapped
        return wrapped


def load_tokenizer(path: str) -> Any:
    """The tokenizer as models.load_model configures it (pad = eos when there is no pad token)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def encode(tokenizer: Any, prompts: list[str]) -> dict[str, torch.Tensor]:
    """Model inputs of one batch: the local backend's tokenization plus explicit positions."""
    enc = tokenizer(prompts, return_tensors="pt", padding=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    return {"input_ids": ids, "attention_mask": mask, "position_ids": torch.arange(ids.shape[1]).expand_as(ids).clone()}


def trace_batch(
    nm: NnsightModel,
    inputs: dict[str, torch.Tensor],
    layers: list[int],
    pooling: str,
    transfer: str | None,
    **trace_kwargs: Any,
) -> Any:
    """Runs one batch as an nnsight trace and returns what the trace saved.

    Locally the saved list of per-layer tensors comes back; with a non-blocking remote backend
    the trace only submits the job and the backend is returned for polling. Everything that
    reduces the data (pooling, dropping pads, the down-cast) happens inside the trace, i.e. on
    the server for a remote run.
    """
    blocks = [nm.block(i) for i in layers]
    out = None  # a non-blocking remote trace does not run the body here: nothing comes back yet
    with nm.model.trace(dict(inputs), use_cache=False, **trace_kwargs) as tracer:
        out = list().save()
        _reduce_blocks(blocks, inputs["attention_mask"], pooling, transfer, out)
        tracer.stop()
    return out


def _reduce_blocks(blocks: list[Any], mask: torch.Tensor, pooling: str, transfer: str | None, out: list) -> None:
    """Inside a trace: append each block's output, pooled (or real tokens only) and down-cast."""
    for block in blocks:
        h = block.output
        h = h[0] if isinstance(h, tuple) else h
        m = mask.to(h.device)
        v = (h[m.bool()] if pooling == "none" else pool(h, m, pooling)).detach()
        if transfer is not None:
            t = TRANSFER_DTYPES[transfer]
            if t is torch.float16 and v.numel() > 0 and float(v.abs().max()) >= 65504:
                t = torch.bfloat16  # beyond float16's range: keep the range, lose precision
            v = v.to(t)
        out.append(v.cpu())


def trace_session(
    nm: NnsightModel,
    batch_inputs: list[dict[str, torch.Tensor]],
    layers: list[int],
    pooling: str,
    transfer: str | None,
    **session_kwargs: Any,
) -> Any:
    """Runs several batches as the traces of one nnsight session: one NDIF job for all of them.

    Each trace is the one ``trace_batch`` builds; the session is the save boundary, so the
    per-batch lists go into one saved list (``outs[b][layer]``). With a non-blocking remote
    backend nothing runs here: the session is submitted and the backend is polled for ``outs``.
    """
    blocks = [nm.block(i) for i in layers]
    outs = None
    with nm.model.session(**session_kwargs):
        outs = list().save()
        for inputs in batch_inputs:
            with nm.model.trace(dict(inputs), use_cache=False) as tracer:
                out = list()
                _reduce_blocks(blocks, inputs["attention_mask"], pooling, transfer, out)
                outs.append(out)
                tracer.stop()
    return outs


def assemble(per_layer: list[torch.Tensor], mask: torch.Tensor) -> tuple[np.ndarray, list[int]]:
    """(rows, layers, hidden) float32 from the per-layer tensors a trace saved, and token counts."""
    stacked = torch.stack([t.detach().float() for t in per_layer], dim=1).numpy()
    return stacked, mask.sum(dim=1).tolist()


def extract_local(
    loaded: LoadedModel,
    prompts: list[str],
    layers: list[int],
    pooling: str,
    batch_size: int,
    on_batch: Callable[[int, int, int], None] | None = None,
    group_by_length: bool = False,
    timings: dict[str, float] | None = None,
    simulate_remote: bool = False,
) -> tuple[np.ndarray, list[int]]:
    """nnsight traces on the worker's own model. ``simulate_remote`` runs each trace through
    nnsight's local simulation of NDIF (serialize, deserialize with local modules hidden, run)."""
    nm = wrap_loaded(loaded)
    check_request(nm.n_blocks, prompts, layers, pooling, ascending=True)
    idx_batches = batches(nm.tokenizer, prompts, batch_size, group_by_length, nm.max_positions)
    results = []
    done = tokens = 0
    for idx in idx_batches:
        inputs = encode(nm.tokenizer, [prompts[i] for i in idx])
        inputs = {k: v.to(loaded.device) for k, v in inputs.items()}
        t0 = time.perf_counter()
        with torch.inference_mode():
            if simulate_remote:
                register_by_value()
                out = trace_batch(nm, inputs, layers, pooling, None, remote="local")
            else:
                out = trace_batch(nm, inputs, layers, pooling, None)
        if timings is not None:
            timings["forward"] = timings.get("forward", 0.0) + time.perf_counter() - t0
        res = assemble(list(out), inputs["attention_mask"].cpu())
        results.append(res)
        done += len(idx)
        tokens += sum(res[1])
        if on_batch is not None:
            on_batch(done, len(prompts), tokens)
    return gather(len(prompts), idx_batches, results, pooling)


def register_by_value() -> None:
    """Ship the worker's own code (``pool`` and friends, used inside traces) by value: NDIF does
    not have lmprobe_worker installed, whether it is on PYTHONPATH or pip-installed here."""
    import nnsight

    nnsight.register("lmprobe_worker")
