"""``unload`` and ``loaded_models``: the worker's loaded-model registry (see models.py)."""

from __future__ import annotations

import sys

from ..context import RequestContext
from ..messages import EmptyRequest, LoadedModelsReply, UnloadReply

# The libraries that cost seconds to import; ``loaded_models`` says which of them this worker has
# imported, so tests and benchmarks can check that a fit-only worker never imported torch (nor a
# handshake Ray).
HEAVY_MODULES = ("torch", "transformers", "nnsight", "sklearn", "ray")
_REGISTRY = __package__.rsplit(".", 1)[0] + ".models"  # lmprobe_worker.models imports torch


def unload(_body: EmptyRequest, _ctx: RequestContext) -> UnloadReply:
    if _REGISTRY not in sys.modules:
        return {"unloaded": 0}  # nothing was ever loaded; importing the registry would import torch
    from ..models import unload_all

    return {"unloaded": unload_all()}


def loaded_models(_body: EmptyRequest, _ctx: RequestContext) -> LoadedModelsReply:
    imported = [name for name in HEAVY_MODULES if name in sys.modules]
    if _REGISTRY not in sys.modules:
        return {"models": [], "imported": imported}
    from ..models import loaded_keys

    return {"models": loaded_keys(), "imported": imported}
