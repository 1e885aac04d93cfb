"""What a request (and so a probe file) may put into a scikit-learn constructor.

A probe folder is untrusted input: its ``probe.json`` names a classifier and its parameters, and
a refit sends them here. Some scikit-learn parameters make joblib read and write pickles (``memory``
caches fitted transformers as pickles in the folder it names, and loads whatever it finds there),
so a crafted file could run code. The rule is an allow-list, not a deny-list: only estimator
classes from public modules that hold plain estimators, parameter names that are identifiers,
and values that are scalars, short identifier-like strings (never a path) or flat lists/maps of
those. TypeScript checks the same rules before Python starts (src/config/estimator-policy.ts);
this is the second line for any client of the worker.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

from ..errors import WorkerFailure

# Public scikit-learn modules whose estimators take plain values only (no folders, no callables
# that a request could name). Meta-estimators needing estimator objects cannot be built from JSON
# anyway; pipeline/compose/cluster (which take ``memory``) and utils/externals are not listed.
SAFE_MODULES = (
    "calibration",
    "cross_decomposition",
    "discriminant_analysis",
    "dummy",
    "ensemble",
    "gaussian_process",
    "isotonic",
    "kernel_ridge",
    "linear_model",
    "naive_bayes",
    "neighbors",
    "neural_network",
    "svm",
    "tree",
)

# Parameters refused whatever their value: they reach joblib's on-disk cache.
FORBIDDEN_PARAMS = ("memory",)

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CLASS = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SAFE_STR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-]{0,63}$")
_MAX_ITEMS = 10_000


def check_estimator_path(path: Any) -> tuple[str, str]:
    """Return (module, class name) of ``sklearn.<module>.<Class>`` or raise BAD_REQUEST."""
    parts = path.split(".") if isinstance(path, str) else []
    if len(parts) != 3 or parts[0] != "sklearn" or parts[1] not in SAFE_MODULES or not _CLASS.match(parts[2]):
        raise WorkerFailure(
            "BAD_REQUEST",
            f"custom estimator {path!r} is not allowed: use a public class path sklearn.<module>.<Class> with "
            f"<module> one of {', '.join(SAFE_MODULES)} (e.g. 'sklearn.svm.LinearSVC')",
        )
    return f"sklearn.{parts[1]}", parts[2]


def _bad(label: str, key: str, why: str) -> WorkerFailure:
    return WorkerFailure("BAD_REQUEST", f"parameter {key!r} of {label} is not allowed: {why}")


def _check_scalar(label: str, key: str, value: Any) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(label, key, "numbers must be finite")
        return
    if isinstance(value, str):
        if not _SAFE_STR.match(value):
            raise _bad(label, key, f"string {value!r} is not a plain option value (letters, digits, _ . + -; no paths)")
        return
    raise _bad(
        label,
        key,
        "values must be numbers, booleans, null, short option strings or flat lists of those, "
        f"got {type(value).__name__}",
    )


def _check_value(label: str, key: str, value: Any) -> None:
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ITEMS:
            raise _bad(label, key, f"lists may hold at most {_MAX_ITEMS} items")
        for item in value:
            _check_scalar(label, key, item)
        return
    if isinstance(value, dict):
        # e.g. class_weight={"0": 1.0, "1": 2.0}: one level, scalar values
        for k, item in value.items():
            if not isinstance(k, (str, int)) or (isinstance(k, str) and not _SAFE_STR.match(k)):
                raise _bad(label, key, f"map key {k!r} is not a plain value")
            _check_scalar(label, key, item)
        return
    _check_scalar(label, key, value)


def check_params(label: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check constructor parameters against the allow-list; returns them unchanged."""
    cpus = os.cpu_count() or 1
    for key, value in params.items():
        if not isinstance(key, str) or not _NAME.match(key) or "__" in key:
            raise _bad(label, str(key), "names must be plain identifiers (no nested 'a__b' parameters)")
        if key in FORBIDDEN_PARAMS:
            raise _bad(label, key, "it makes scikit-learn read and write pickles on disk")
        if (
            key == "n_jobs"
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= cpus)
        ):
            raise _bad(label, key, f"n_jobs must be null or an integer from 1 to {cpus} (this machine's cores)")
        _check_value(label, key, value)
    return params
