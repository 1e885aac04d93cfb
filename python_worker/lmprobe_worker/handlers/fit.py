"""``fit``: lmprobe's fit pipeline on activations the client sends (see fitting/fit.py)."""

from __future__ import annotations

import time

from ..context import RequestContext
from ..messages import FitReply, FitRequest


def fit(body: FitRequest, ctx: RequestContext) -> FitReply:
    from ..fitting.fit import fit as run_fit

    t0 = time.perf_counter()
    ctx.progress(stage="fit", phase="start")
    state = run_fit(body)
    ctx.progress(stage="fit", phase="done")
    state["seconds"] = time.perf_counter() - t0
    return state
