"""Exporting a fitted classifier as arrays TypeScript can score with, or keeping it in the worker.

Linear models become ``{"kind": "linear", "link": ...}`` (see ``score_linear`` for each link's
meaning); the ensemble becomes ``{"kind": "ensemble", "members": [...]}``. Every export is checked
against the estimator itself on the training rows; a model whose scores the export cannot
reproduce is kept in the worker instead (``{"kind": "opaque", "handle": ...}``) and scored over
the ``score`` RPC.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

import numpy as np

from ..errors import WorkerFailure
from .preprocessing import f64

OPAQUE_LIMIT = 64
_opaque: OrderedDict[str, Any] = OrderedDict()
_opaque_lock = threading.Lock()


def py_classes(classes: Any) -> list[Any]:
    if classes is None:
        return []
    return [c.item() if hasattr(c, "item") else c for c in list(classes)]


def _expit(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _libsvm_sigmoid(dec: np.ndarray, a: float, b: float) -> np.ndarray:
    f = dec * a + b
    out = np.empty_like(f)
    pos = f >= 0
    out[pos] = np.exp(-f[pos]) / (1.0 + np.exp(-f[pos]))
    out[~pos] = 1.0 / (1.0 + np.exp(f[~pos]))
    return out


def _libsvm_coupling(r: np.ndarray) -> np.ndarray:
    """libsvm's multiclass_probability (Wu, Lin & Weng method 2) for one sample's k×k matrix."""
    k = r.shape[0]
    q = np.zeros((k, k))
    for t in range(k):
        q[t, t] = sum(r[j, t] ** 2 for j in range(k) if j != t)
        for j in range(k):
            if j != t:
                q[t, j] = -r[j, t] * r[t, j]
    p = np.full(k, 1.0 / k)
    eps = 0.005 / k
    for _ in range(max(100, k)):
        qp = q @ p
        pqp = float(p @ qp)
        if np.max(np.abs(qp - pqp)) < eps:
            break
        for t in range(k):
            diff = (-qp[t] + pqp) / q[t, t]
            p[t] += diff
            pqp = (pqp + diff * (diff * q[t, t] + 2 * qp[t])) / (1 + diff) / (1 + diff)
            qp = (qp + diff * q[t, :]) / (1 + diff)
            p = p / (1 + diff)
    return p


def score_linear(model: dict[str, Any], X: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(proba or None, predictions) for an exported linear/ensemble model, in float64.

    The reference implementation of the schema TypeScript follows; the tests use it too.
    """
    classes = np.asarray(model["classes"], dtype=object) if model.get("classes") else None
    if model["kind"] == "ensemble":
        probas = [score_linear(m, X)[0] for m in model["members"]]
        proba = np.mean(probas, axis=0)
        return proba, classes[np.argmax(proba, axis=1)]
    Xd = np.asarray(X, dtype=np.float64)
    W = np.asarray(model["coef"], dtype=np.float64)
    b = np.asarray(model["intercept"], dtype=np.float64)
    z = Xd @ W.T + b
    link = model["link"]
    if link == "identity":
        return None, z[:, 0]
    if link == "logistic":
        p1 = _expit(z[:, 0])
        proba = np.column_stack([1 - p1, p1])
    elif link == "platt":
        p1 = _expit(model["platt_a"] * z[:, 0] + model["platt_b"])
        proba = np.column_stack([1 - p1, p1])
    elif link == "softmax":
        proba = _softmax(z)
    elif link == "ovr":
        e = _expit(z)
        proba = e / e.sum(axis=1, keepdims=True)
    elif link == "decision":
        if z.shape[1] == 1:
            return None, classes[(z[:, 0] > 0).astype(int)]
        return None, classes[np.argmax(z, axis=1)]
    elif link == "libsvm":
        k = len(classes)
        pa, pb = np.asarray(model["prob_a"], dtype=np.float64), np.asarray(model["prob_b"], dtype=np.float64)
        pr = np.clip(_libsvm_sigmoid(z, pa, pb), 1e-7, 1 - 1e-7)
        # scikit-learn's libsvm couples the pairwise probabilities for two classes too (newer
        # upstream libsvm returns the pairwise one directly; the two differ by up to ~1e-4).
        proba = np.empty((Xd.shape[0], k))
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        for s in range(Xd.shape[0]):
            r = np.zeros((k, k))
            for col, (i, j) in enumerate(pairs):
                r[i, j], r[j, i] = pr[s, col], 1 - pr[s, col]
            proba[s] = _libsvm_coupling(r)
    else:
        raise ValueError(f"unknown link {link!r}")
    return proba, classes[np.argmax(proba, axis=1)]


def _linear(link: str, coef: Any, intercept: Any, classes: Any, **extra: Any) -> dict[str, Any]:
    W = f64(coef)
    if W.ndim == 1:
        W = W.reshape(1, -1)
    b = f64(np.atleast_1d(intercept)).reshape(-1)
    if b.shape[0] == 1 and W.shape[0] > 1:
        b = np.full(W.shape[0], b[0])
    return {
        "kind": "linear",
        "link": link,
        "coef": np.ascontiguousarray(W),
        "intercept": np.ascontiguousarray(b),
        "classes": py_classes(classes),
        **extra,
    }


def _candidate(clf: Any) -> dict[str, Any] | None:
    """The array form of a fitted estimator, or None when it has none."""
    from sklearn.base import is_classifier, is_regressor
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, SGDClassifier
    from sklearn.svm import SVC

    from .estimators import EnsembleClassifier, MassMeanClassifier, SGDGPUClassifier

    if isinstance(clf, EnsembleClassifier):
        members = [_candidate(m) for m in clf.estimators_]
        if any(m is None for m in members):
            return None
        return {
            "kind": "ensemble",
            "members": members,
            "classes": py_classes(clf.classes_),
            "coef": f64(np.atleast_2d(clf.coef_)),
            "intercept": f64(np.atleast_1d(clf.intercept_)),
        }
    if isinstance(clf, MassMeanClassifier):
        cal = clf.calibrator_
        return _linear(
            "platt",
            clf.coef_,
            clf.intercept_,
            clf.classes_,
            platt_a=float(cal.coef_[0, 0]),
            platt_b=float(cal.intercept_[0]),
        )
    if isinstance(clf, SGDGPUClassifier):
        return _linear("logistic", clf.coef_, clf.intercept_, clf.classes_)
    if not hasattr(clf, "coef_") and not isinstance(clf, SVC):
        return None
    binary = is_classifier(clf) and len(getattr(clf, "classes_", [])) == 2
    if isinstance(clf, SVC):
        if clf.kernel != "linear" or not clf.probability or clf.decision_function_shape not in ("ovr", "ovo"):
            return None
        if getattr(clf, "break_ties", False):
            return None
        sign = -1.0 if binary else 1.0  # libsvm's sign convention (sklearn flips it for 2 classes)
        return _linear(
            "libsvm",
            sign * np.asarray(clf.coef_),
            clf._intercept_,
            clf.classes_,
            prob_a=f64(clf.probA_),
            prob_b=f64(clf.probB_),
        )
    if isinstance(clf, (LogisticRegression, LogisticRegressionCV, LinearDiscriminantAnalysis)):
        return _linear("logistic" if binary else "softmax", clf.coef_, clf.intercept_, clf.classes_)
    if isinstance(clf, SGDClassifier):
        if clf.loss == "log_loss":
            return _linear("logistic" if binary else "ovr", clf.coef_, clf.intercept_, clf.classes_)
        if hasattr(clf, "predict_proba") and clf.loss == "modified_huber":
            return None
        return _linear("decision", clf.coef_, clf.intercept_, clf.classes_)
    if is_regressor(clf):
        coef = np.asarray(clf.coef_)
        if coef.ndim == 2 and coef.shape[0] != 1:
            return None
        return _linear("identity", coef.reshape(1, -1), np.atleast_1d(getattr(clf, "intercept_", 0.0))[:1], [])
    if is_classifier(clf) and not hasattr(clf, "predict_proba"):
        return _linear("decision", clf.coef_, getattr(clf, "intercept_", 0.0), clf.classes_)
    return None


def _agrees(model: dict[str, Any], clf: Any, X: np.ndarray, regression: bool) -> bool:
    """Does the export reproduce the estimator on X (up to float32 rounding)?"""
    rows = X[: min(len(X), 512)]
    proba, pred = score_linear(model, rows)
    if regression:
        ref = np.asarray(clf.predict(rows), dtype=np.float64).reshape(-1)
        return bool(np.allclose(pred, ref, rtol=1e-4, atol=1e-4 * (1 + np.abs(ref).max())))
    if proba is not None:
        ref_p = np.asarray(clf.predict_proba(rows), dtype=np.float64)
        return ref_p.shape == proba.shape and bool(np.abs(ref_p - proba).max() < 1e-4)
    ref = np.asarray(clf.predict(rows))
    if hasattr(clf, "decision_function"):
        dec = np.asarray(clf.decision_function(rows), dtype=np.float64)
        dec = dec.reshape(len(rows), -1)
        W, b = np.asarray(model["coef"]), np.asarray(model["intercept"])
        ours = np.asarray(rows, dtype=np.float64) @ W.T + b
        if ours.shape != dec.shape or not np.allclose(ours, dec, rtol=1e-4, atol=1e-5 * (1 + np.abs(dec).max())):
            return False
        near_tie = np.abs(dec).min(axis=1) < 1e-6 if dec.shape[1] == 1 else np.zeros(len(rows), bool)
        return bool(np.all((pred == ref) | near_tie))
    return bool(np.all(pred == ref))


def export_model(clf: Any, X: np.ndarray, regression: bool, label: str) -> dict[str, Any]:
    model = None
    try:
        model = _candidate(clf)
        if model is not None and not _agrees(model, clf, X, regression):
            model = None
    except (AttributeError, ValueError, IndexError):
        model = None
    if model is not None:
        return model
    handle = uuid.uuid4().hex
    with _opaque_lock:
        _opaque[handle] = clf
        while len(_opaque) > OPAQUE_LIMIT:
            _opaque.popitem(last=False)
    classes = [] if regression else py_classes(getattr(clf, "classes_", None))
    return {
        "kind": "opaque",
        "handle": handle,
        "classes": classes,
        "has_proba": (not regression) and hasattr(clf, "predict_proba"),
        "estimator": label if label.startswith("sklearn.") else f"{type(clf).__module__}.{type(clf).__name__}",
    }


def score(body: dict[str, Any]) -> dict[str, Any]:
    """RPC ``score``: run a model kept in the worker on already transformed features."""
    handle = body.get("handle")
    with _opaque_lock:
        clf = _opaque.get(handle) if isinstance(handle, str) else None
        if clf is not None:
            _opaque.move_to_end(handle)
    if clf is None:
        raise WorkerFailure(
            "NOT_FITTED",
            f"no model {handle!r} in this worker: refit the probe (custom estimators live in the worker process "
            f"and are lost when it restarts; it keeps the last {OPAQUE_LIMIT})",
        )
    X = np.asarray(body["X"], dtype=np.float32)
    if X.ndim != 2:
        raise WorkerFailure("BAD_REQUEST", "X must have shape (n, features)")
    if not np.isfinite(X).all():
        raise WorkerFailure("BAD_ACTIVATIONS", "activations contain NaN or infinite values")
    expected = getattr(clf, "n_features_in_", X.shape[1])
    if X.shape[1] != expected:
        raise WorkerFailure("BAD_REQUEST", f"X has {X.shape[1]} features, the model expects {expected}")
    proba = None
    if hasattr(clf, "predict_proba") and hasattr(clf, "classes_"):
        try:
            proba = f64(clf.predict_proba(X))
        except AttributeError:
            proba = None
    if proba is not None:
        predict = np.asarray(clf.classes_)[np.argmax(proba, axis=1)]  # lmprobe: argmax of proba
    else:
        predict = np.asarray(clf.predict(X))
    if predict.dtype.kind == "f":
        predict = f64(predict)
    elif predict.dtype.kind in "biu":
        predict = predict.astype(np.int64)
    else:
        raise WorkerFailure("BAD_REQUEST", f"the model predicts labels of dtype {predict.dtype}; use integer labels")
    return {"proba": proba, "predict": np.ascontiguousarray(predict)}
