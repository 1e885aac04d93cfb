"""``baseline_fit`` / ``baseline_predict``: lmprobe's baselines in the worker (see fitting/baselines.py)."""

from __future__ import annotations

import time

from ..context import RequestContext
from ..messages_tools import BaselineFitReply, BaselineFitRequest, BaselinePredictReply, BaselinePredictRequest


def baseline_fit(body: BaselineFitRequest, _ctx: RequestContext) -> BaselineFitReply:
    from ..fitting.baselines import baseline_fit as run

    t0 = time.perf_counter()
    reply = run(dict(body))
    reply["seconds"] = time.perf_counter() - t0
    return reply  # type: ignore[return-value]


def baseline_predict(body: BaselinePredictRequest, _ctx: RequestContext) -> BaselinePredictReply:
    from ..fitting.baselines import baseline_predict as run

    return run(dict(body))  # type: ignore[return-value]
