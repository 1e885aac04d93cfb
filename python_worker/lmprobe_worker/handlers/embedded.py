"""``embedded_prepare``: materialize an embedded (offline, pip-shipped) model as a HF folder."""

from __future__ import annotations

from ..context import RequestContext
from ..messages import EmbeddedPrepareReply, EmbeddedPrepareRequest


def embedded_prepare(body: EmbeddedPrepareRequest, ctx: RequestContext) -> EmbeddedPrepareReply:
    from ..embedded import prepare_embedded

    return prepare_embedded(body["name"], body["out_dir"], lambda msg: ctx.progress(stage="embedded", message=msg))
