"""The worker's request handlers, one module per RPC family, wired up in ``HANDLERS``.

Handler modules import the heavy libraries (torch, transformers, scikit-learn) inside the
handler functions, so that importing this registry stays cheap (``contract.py`` lists it).
"""

from __future__ import annotations

from ..context import Handler
from .embedded import embedded_prepare
from .extract import extract
from .fit import fit
from .hello import hello
from .models import loaded_models, unload
from .score import score

HANDLERS: dict[str, Handler] = {
    "loaded_models": loaded_models,
    "hello": hello,
    "extract": extract,
    "fit": fit,
    "score": score,
    "embedded_prepare": embedded_prepare,
    "unload": unload,
}


def preload() -> None:
    """Import the heavy libraries while the client is still busy validating and reading."""
    import sklearn.linear_model  # noqa: F401
    import torch  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401 - resolves the lazy modules too
