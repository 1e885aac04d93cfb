"""``hello``: the handshake (protocol version, versions of the worker's libraries, device)."""

from __future__ import annotations

import os
import platform
import sys

from ..context import RequestContext
from ..messages import HelloReply, HelloRequest
from ..protocol import PROTOCOL_VERSION

CAPABILITIES = ["extract.local", "extract.nnsight", "extract.ndif", "fit.sklearn", "embedded"]


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def hello(_body: HelloRequest, _ctx: RequestContext) -> HelloReply:
    import numpy
    import sklearn
    import torch
    import transformers
    import zmq

    from ..models import resolve_device

    return {
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sklearn": sklearn.__version__,
            "numpy": numpy.__version__,
            "pyzmq": zmq.__version__,
            "nnsight": _dist_version("nnsight"),
        },
        "device": str(resolve_device("auto")),
        "threads": torch.get_num_threads(),
        "capabilities": list(CAPABILITIES),
    }
