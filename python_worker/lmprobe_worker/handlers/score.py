"""``score``: run a custom estimator kept in the worker on already transformed features."""

from __future__ import annotations

from ..context import RequestContext
from ..messages import ScoreReply, ScoreRequest


def score(body: ScoreRequest, _ctx: RequestContext) -> ScoreReply:
    from ..fitting.export import score as run_score

    return run_score(body)
