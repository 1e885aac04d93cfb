"""``hello``: the handshake (protocol version, versions of the worker's libraries, device).

It reads versions from the installed distributions' metadata rather than importing torch and
transformers: a worker that only fits (every activation cached) must never pay for those imports.
"""

from __future__ import annotations

import os
import platform
import sys

from ..context import RequestContext
from ..messages import HelloReply, HelloRequest
from ..protocol import PROTOCOL_VERSION
from ..ray_pool.config import ray_settings

CAPABILITIES = ["extract.local", "extract.nnsight", "extract.ndif", "fit.sklearn", "embedded"]


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def hello(body: HelloRequest, _ctx: RequestContext) -> HelloReply:
    import numpy
    import zmq

    device, threads = "auto", 0
    # Resolve the device only when asked or when torch is imported anyway (a model was loaded).
    if body.get("resolve_device") or "torch" in sys.modules:
        import torch

        from ..models import resolve_device

        device, threads = str(resolve_device("auto")), torch.get_num_threads()
    return {
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": {
            "torch": _dist_version("torch"),
            "transformers": _dist_version("transformers"),
            "sklearn": _dist_version("scikit-learn"),
            "numpy": numpy.__version__,
            "pyzmq": zmq.__version__,
            "nnsight": _dist_version("nnsight"),
        },
        "device": device,
        "threads": threads,
        "capabilities": list(CAPABILITIES),
        # A client that asks for no cluster still attaches to a Ray-backed daemon (same numbers); one
        # that names a cluster checks it is this one (src/worker/ray-settings.ts).
        "ray": ray_settings(),
    }
