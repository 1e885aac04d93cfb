"""Adapters of the test tier's NDIF server, applied when the modules they adapt are imported.

1. A compatibility shim between released ndif (0.1.0-0.1.2) and released nnsight (0.8.1), here.
2. Ordered job responses (lmprobe_response_order.py): NDIF 0.1.2 can leave a finished
   non-blocking job's stored status at QUEUED (a race between its writers).

Why 1 exists: every ndif release calls
    Remotable.describe_checkpoint(model_key, dtype, trust_remote_code=...)
    Remotable.max_tp_size(model_key, trust_remote_code=...)
when it deploys a model, and nnsight 0.8.1 (the newest release) has no such keyword there: it
reads trust_remote_code from the model key itself. Unpatched, the first job for any model ends in
"Could not deploy this model ... unexpected keyword argument 'trust_remote_code'". Dropping the
keyword does exactly what 0.8.1 does anyway; nothing else is touched.

How: this file is on PYTHONPATH of every server process (the harness sets it), so Python imports
it at start-up. It only installs an import hook; each patch is applied when its module is first
imported, so processes that never import them pay nothing. Test-only code: never part of the SDK.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any


def _drop_trust_remote_code(module: ModuleType) -> None:
    remotable: Any = module.Remotable
    if getattr(remotable, "_lmprobe_ndif_compat", False):
        return
    describe = remotable.describe_checkpoint.__func__
    max_tp = remotable.max_tp_size.__func__

    def describe_checkpoint(cls: Any, key: Any, dtype: Any, trust_remote_code: Any = None) -> Any:
        return describe(cls, key, dtype)

    def max_tp_size(cls: Any, key: Any, trust_remote_code: Any = None) -> Any:
        return max_tp(cls, key)

    remotable.describe_checkpoint = classmethod(describe_checkpoint)
    remotable.max_tp_size = classmethod(max_tp_size)
    remotable._lmprobe_ndif_compat = True


def _order_responses(module: ModuleType) -> None:
    from lmprobe_response_order import patch

    patch(module)


_PATCHES = {
    "nnsight.modeling.mixins.remotable": _drop_trust_remote_code,
    "ndif.common.schema.request": _order_responses,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds a patched module through the normal finders, then patches it once it is loaded."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        apply = _PATCHES.get(name)
        if apply is None:
            return None
        sys.meta_path.remove(self)  # let the regular finders locate the real module
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            apply(module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _PatchOnImport())
