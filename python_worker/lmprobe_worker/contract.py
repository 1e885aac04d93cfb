"""``python -m lmprobe_worker.contract``: what the worker speaks, as one JSON line.

``{"protocol": N, "rpcs": [...], "error_codes": [...], "classifiers": [...], "estimator_modules": [...]}``,
each list sorted: the RPC names of ``HANDLERS``, every code a worker error may carry, the built-in
classifier names, the scikit-learn modules custom estimators may come from (the security allow-list
both sides apply).
A TypeScript test compares it with the TypeScript lists, so the two sides cannot drift apart.
Imports no torch, transformers or scikit-learn (handlers import those inside their functions).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ERROR_CODES
from .fitting.classifiers import BUILTIN
from .fitting.param_policy import SAFE_MODULES
from .handlers import HANDLERS
from .protocol import PROTOCOL_VERSION


def contract() -> dict[str, Any]:
    return {
        "protocol": PROTOCOL_VERSION,
        "rpcs": sorted(HANDLERS),
        "error_codes": sorted(ERROR_CODES),
        "classifiers": sorted(BUILTIN),
        "estimator_modules": sorted(SAFE_MODULES),
    }


if __name__ == "__main__":
    print(json.dumps(contract()))
