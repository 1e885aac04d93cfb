"""The weightless model a remote request is traced on: meta tensors from the local config and tokenizer."""

from __future__ import annotations

import os
import threading

from ...errors import WorkerFailure
from ...models import decoder_layers
from ..checks import max_positions
from ..nnsight_trace import NnsightModel, layers_path, load_tokenizer

_STUBS: dict[tuple[str, str, str | None], NnsightModel] = {}
_STUB_LOCK = threading.Lock()


def stub_model(path: str, repo_id: str, revision: str | None) -> NnsightModel:
    """A meta-device nnsight model built from the local config and tokenizer only."""
    key = (path, repo_id, revision)
    with _STUB_LOCK:
        hit = _STUBS.get(key)
        if hit is not None:
            return hit
        from nnsight import TransformersModel
        from nnsight.modeling import huggingface

        if not os.path.isfile(os.path.join(path, "config.json")):
            raise WorkerFailure("MODEL_NOT_FOUND", f"{path} has no config.json", {"model": path})
        tokenizer = load_tokenizer(path)
        # dispatch=False: meta tensors only. nnsight gets its own tokenizer copy (it sets left padding).
        model = TransformersModel(path, task="text-generation", tokenizer=load_tokenizer(path))
        # The remote key names the hub repo, not the local folder the stub was built from. The id
        # was resolved on the TypeScript side; seeding nnsight's id cache spares a hub call.
        model.repo_id = repo_id
        model.revision = None if revision in (None, "", "main") else revision
        huggingface._ID_CACHE[repo_id] = repo_id
        blocks = decoder_layers(model._module)
        limit = max_positions(getattr(model._module, "config", None))
        stub = NnsightModel(model, tokenizer, layers_path(model._module, blocks), len(blocks), limit)
        _STUBS[key] = stub
        return stub
