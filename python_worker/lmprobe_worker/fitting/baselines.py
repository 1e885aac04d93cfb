"""The ``baseline_fit`` / ``baseline_predict`` RPCs: lmprobe 0.10.3's baselines fitted in the worker.

A fitted baseline (feature step + classifier) stays in this process under a handle, like a custom
estimator (export.py): a vectorizer's tokenisation is scikit-learn's own, so TypeScript could not
reproduce it from arrays. The last ``BASELINE_LIMIT`` baselines are kept; a restarted worker has
none, and predicting then fails with ``NOT_FITTED`` (refit).

The classifier is lmprobe's: ``DummyClassifier(strategy="uniform" | "most_frequent", random_state)``
for "random" / "majority", else the built-in named by ``classifier`` with ``random_state``
(classifiers.py, lmprobe's constructors). "shuffled_labels" fits ``base_method`` features on the
labels permuted by ``np.random.RandomState(random_state)``. ``predict`` is the classifier's own
``predict`` (a uniform dummy draws from a fresh RandomState(random_state) on every call), as lmprobe.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

import numpy as np

from ..errors import WorkerFailure
from .baseline_features import (
    ACTIVATION_METHODS,
    FEATURE_METHODS,
    TEXT_METHODS,
    ActivationTransform,
    TextFeatures,
    check_texts,
)
from .classifiers import build_classifier
from .export import py_classes
from .preprocessing import f64

BASELINE_LIMIT = 64
_store: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
_lock = threading.Lock()


def _random_state(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise WorkerFailure("BAD_REQUEST", f"random_state must be a non-negative integer or null, got {raw!r}")
    return int(raw)


def _labels(raw: Any, n: int) -> np.ndarray:
    y = np.asarray(raw)
    if y.ndim != 1 or y.shape[0] != n or y.dtype.kind not in "iu":
        raise WorkerFailure("BAD_REQUEST", f"y must be {n} integer labels")
    if np.unique(y).size < 2:
        raise WorkerFailure("BAD_REQUEST", "the training labels contain only one class; a baseline needs two")
    return y.astype(np.int64)


def _activations(raw: Any) -> np.ndarray:
    X = np.array(raw, dtype=np.float32)  # a copy: aligned, writable, as lmprobe's own float32 numpy rows
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise WorkerFailure("BAD_REQUEST", f"X must have shape (n, features), got {X.shape}")
    if not np.isfinite(X).all():
        raise WorkerFailure("BAD_ACTIVATIONS", "activations contain NaN or infinite values")
    return X


def _template(method: str, body: dict[str, Any], random_state: int | None) -> tuple[Any, str]:
    if method in ("random", "majority"):
        from sklearn.dummy import DummyClassifier

        strategy = "uniform" if method == "random" else "most_frequent"
        return DummyClassifier(strategy=strategy, random_state=random_state), f"dummy {strategy}"
    return build_classifier(body.get("classifier", "logistic_regression"), random_state, {})


def _feature_step(method: str, body: dict[str, Any], template: Any, random_state: int | None) -> Any:
    if method in ACTIVATION_METHODS:
        return ActivationTransform(method, random_state, int(body.get("n_components", 10)))
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    feature = body.get("base_method", "tfidf") if method == "shuffled_labels" else method
    if feature not in FEATURE_METHODS:
        raise WorkerFailure("BAD_REQUEST", f"base_method must be one of {', '.join(FEATURE_METHODS)}, got {feature!r}")
    max_features = body.get("max_features", 10000)
    low, high = body.get("ngram_range", [1, 1])
    dense = isinstance(template, LinearDiscriminantAnalysis)
    return TextFeatures(feature, None if max_features is None else int(max_features), (int(low), int(high)), dense)


def baseline_fit(body: dict[str, Any]) -> dict[str, Any]:
    from sklearn.base import clone

    method = body.get("method")
    if method not in TEXT_METHODS and method not in ACTIVATION_METHODS:
        raise WorkerFailure("BAD_REQUEST", f"unknown baseline method {method!r}")
    random_state = _random_state(body.get("random_state"))
    template, label = _template(method, body, random_state)
    step = _feature_step(method, body, template, random_state)
    if method in ACTIVATION_METHODS:
        rows = _activations(body.get("X"))
    else:
        rows = check_texts(body.get("texts"), "texts")
    y = _labels(body.get("y"), len(rows))
    X = step.fit_transform(rows)
    if method == "shuffled_labels":
        y = np.random.RandomState(random_state).permutation(y)
    try:
        clf = clone(template).fit(X, y)
    except (ValueError, TypeError) as err:
        raise WorkerFailure("BAD_REQUEST", f"{label} could not be fitted on the {method} baseline: {err}") from None
    handle = uuid.uuid4().hex
    with _lock:
        _store[handle] = (step, clf)
        while len(_store) > BASELINE_LIMIT:
            _store.popitem(last=False)
    return {
        "handle": handle,
        "classes": py_classes(getattr(clf, "classes_", None)),
        "has_proba": hasattr(clf, "predict_proba"),
        "n_features": int(X.shape[1]),
    }


def baseline_predict(body: dict[str, Any]) -> dict[str, Any]:
    handle = body.get("handle")
    with _lock:
        entry = _store.get(handle) if isinstance(handle, str) else None
        if entry is not None:
            _store.move_to_end(handle)
    if entry is None:
        raise WorkerFailure(
            "NOT_FITTED",
            f"no baseline {handle!r} in this worker: refit it (baselines live in the worker process and are "
            f"lost when it restarts; it keeps the last {BASELINE_LIMIT})",
        )
    step, clf = entry
    if isinstance(step, ActivationTransform):
        X = step.transform(_activations(body.get("X")))
    else:
        X = step.transform(check_texts(body.get("texts"), "texts"))
    predict = np.asarray(clf.predict(X)).astype(np.int64)
    proba = f64(clf.predict_proba(X)) if hasattr(clf, "predict_proba") else None
    return {"predict": np.ascontiguousarray(predict), "proba": proba}
