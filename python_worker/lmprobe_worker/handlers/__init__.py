"""The worker's request handlers, one module per RPC family, wired up in ``HANDLERS``.

Handler modules import the heavy libraries (torch, transformers, scikit-learn) inside the
handler functions, so that importing this registry stays cheap (``contract.py`` lists it).
"""

from __future__ import annotations

from ..context import Handler
from .baselines import baseline_fit, baseline_predict
from .embedded import embedded_prepare
from .export_native import export_native
from .extract import extract
from .fit import fit
from .hello import hello
from .model_resolve import model_resolve
from .models import loaded_models, unload
from .score import score
from .tokenize import tokenize

HANDLERS: dict[str, Handler] = {
    "loaded_models": loaded_models,
    "hello": hello,
    "extract": extract,
    "fit": fit,
    "score": score,
    "embedded_prepare": embedded_prepare,
    "unload": unload,
    "baseline_fit": baseline_fit,
    "baseline_predict": baseline_predict,
    "export_native": export_native,
    "tokenize": tokenize,
    "model_resolve": model_resolve,
}


def preload() -> None:
    """Import scikit-learn while the client is still busy validating and reading.

    Every session fits or scores, so scikit-learn is always needed; torch and transformers are not
    (a fit served from the activation cache needs no model), and importing them here would make
    such a fit wait on the compute thread for seconds. They load with the first model instead.
    """
    import sklearn.linear_model  # noqa: F401
