"""Loading models and tokenizers, and keeping them loaded across requests.

The loaded-model cache is the only global state of the worker: loading costs seconds, and the
same model serves many probes, fits and predictions in one session.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch

from . import model_budget
from .errors import WorkerFailure

log = logging.getLogger("lmprobe_worker")

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    layers: list[Any]
    device: torch.device
    nbytes: int = 0


# Least recently used first: loading a model beyond the budget evicts from the front.
_LOADED: OrderedDict[tuple[str, str, str], LoadedModel] = OrderedDict()
_LOCK = threading.Lock()


def resolve_device(device: str) -> torch.device:
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def decoder_layers(model: Any) -> list[Any]:
    """The decoder blocks, in order: layer i of a probe is the output of block i."""
    candidates = [
        ("model", "layers"),
        ("model", "language_model", "layers"),
        ("transformer", "h"),
        ("gpt_neox", "layers"),
        ("transformer", "blocks"),
        ("model", "decoder", "layers"),
    ]
    for path in candidates:
        node = model
        for attr in path:
            node = getattr(node, attr, None)
            if node is None:
                break
        if node is not None:
            return list(node)
    raise WorkerFailure(
        "UNSUPPORTED_MODEL",
        f"cannot find the decoder layers of {type(model).__name__}; "
        "supported layouts: model.layers, transformer.h, gpt_neox.layers, transformer.blocks, "
        "model.decoder.layers",
    )


def is_loaded(path: str, dtype: str = "float32", device: str = "auto") -> bool:
    with _LOCK:
        return (path, dtype, str(resolve_device(device))) in _LOADED


def refuse_pickled_weights(path: str) -> None:
    """Only safetensors weights are loaded: a .bin/.pt checkpoint is a pickle, and a model folder can
    be named by a probe file (untrusted input). Refused with the fix before transformers looks."""
    if not os.path.isdir(path):
        return
    names = os.listdir(path)
    if not any(n.endswith(".safetensors") for n in names) and any(n.endswith((".bin", ".pt", ".pth")) for n in names):
        raise WorkerFailure(
            "UNSUPPORTED_MODEL",
            f"{path} has only pickle-based weights (.bin/.pt), which can run code when loaded; lmprobe-ts loads "
            "safetensors only. Convert once in Python: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(dir) "
            "(writes model.safetensors), after checking the folder comes from a source you trust.",
            {"model": path},
        )


def load_model(path: str, dtype: str = "float32", device: str = "auto") -> LoadedModel:
    """Load (once) a causal LM and its tokenizer from a local folder or a cached hub id."""
    torch_dtype = DTYPES.get(dtype)
    if torch_dtype is None:
        raise WorkerFailure("BAD_REQUEST", f"unsupported dtype {dtype!r}; use one of {list(DTYPES)}")
    dev = resolve_device(device)
    key = (path, dtype, str(dev))
    with _LOCK:
        hit = _LOADED.get(key)
        if hit is not None:
            _LOADED.move_to_end(key)
            return hit
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "config.json")):
            raise WorkerFailure("MODEL_NOT_FOUND", f"{path} has no config.json", {"model": path})
        refuse_pickled_weights(path)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        if tokenizer.pad_token is None:
            # Same rule as lmprobe: batches need a pad token; eos is never attended to anyway.
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch_dtype, use_safetensors=True, trust_remote_code=False
        )
        model.to(dev)
        model.eval()
        loaded = LoadedModel(model, tokenizer, decoder_layers(model), dev, model_bytes(model))
        _evict_for(loaded.nbytes)
        _LOADED[key] = loaded
        log.info("loaded %s (%s, %s, %d MB)", path, dtype, dev, loaded.nbytes >> 20)
        return loaded


def model_bytes(model: Any) -> int:
    """The bytes a model's parameters and buffers hold (what the budget counts)."""
    tensors = [*model.parameters(), *model.buffers()]
    return int(sum(t.numel() * t.element_size() for t in tensors))


def _evict_for(nbytes: int) -> None:
    """Drop least recently used models until ``nbytes`` more fit the budget (caller holds _LOCK).

    A request already running on an evicted model keeps its own reference: the memory is freed
    when that request ends, not under it.
    """
    limit = model_budget.budget()
    while _LOADED and sum(m.nbytes for m in _LOADED.values()) + nbytes > limit:
        key, _old = _LOADED.popitem(last=False)
        log.info("evicted %s (%s, %s) to stay within the model memory budget", *key)


def loaded_bytes() -> int:
    """The bytes all loaded models hold."""
    with _LOCK:
        return sum(m.nbytes for m in _LOADED.values())


def loaded_keys() -> list[list[str]]:
    with _LOCK:
        return [list(k) for k in _LOADED]


def unload_all() -> int:
    with _LOCK:
        n = len(_LOADED)
        _LOADED.clear()
    return n
