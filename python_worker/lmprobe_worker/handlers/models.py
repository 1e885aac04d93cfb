"""``unload`` and ``loaded_models``: the worker's loaded-model registry (see models.py)."""

from __future__ import annotations

from ..context import RequestContext
from ..messages import EmptyRequest, LoadedModelsReply, UnloadReply


def unload(_body: EmptyRequest, _ctx: RequestContext) -> UnloadReply:
    from ..models import unload_all

    return {"unloaded": unload_all()}


def loaded_models(_body: EmptyRequest, _ctx: RequestContext) -> LoadedModelsReply:
    from ..models import loaded_keys

    return {"models": loaded_keys()}
