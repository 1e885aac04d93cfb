"""Fitting scalers and classifiers with scikit-learn, and exporting the fitted state as arrays.

The state goes back to TypeScript as plain arrays (no pickle): TypeScript keeps it, scores new
activations with it, and saves it. The scaling rules are lmprobe's: one layer is always
StandardScaler-ed (sklearn), several layers get a per-neuron (or per-layer) scaler computed in
float32 with population std and exact-zero std replaced by 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .protocol import WorkerFailure

CLASSIFIERS = ("logistic_regression",)


def build_classifier(name: str, random_state: int | None, kwargs: dict[str, Any]) -> Any:
    if name == "logistic_regression":
        from sklearn.linear_model import LogisticRegression

        params: dict[str, Any] = {"max_iter": 1000, "solver": "lbfgs", "random_state": random_state}
        params.update(kwargs)
        return LogisticRegression(**params)
    raise WorkerFailure("BAD_REQUEST", f"unknown classifier {name!r}; use one of {CLASSIFIERS}")


def fit_scaler(X: np.ndarray, n_layers: int, normalize_layers: bool | str) -> tuple[dict[str, Any], np.ndarray]:
    """Fit lmprobe's layer scaling on X (n, n_layers * hidden); returns (state, scaled X)."""
    if n_layers == 1:
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler()
        Xs = scaler.fit_transform(X)
        return {"kind": "standard", "mean": scaler.mean_, "scale": scaler.scale_}, Xs
    strategy = "per_neuron" if normalize_layers is True else normalize_layers
    if not strategy:
        return {"kind": "none"}, X
    if strategy not in ("per_neuron", "per_layer"):
        raise WorkerFailure("BAD_REQUEST", f"unknown normalize_layers {strategy!r}")
    n, width = X.shape
    per_layer = X.reshape(n, n_layers, width // n_layers)
    if strategy == "per_neuron":
        mean, std = per_layer.mean(axis=0), per_layer.std(axis=0)
    else:
        flat = per_layer.transpose(1, 0, 2).reshape(n_layers, -1)
        mean, std = flat.mean(axis=1)[:, None], flat.std(axis=1)[:, None]
    std = np.where(std == 0, np.float32(1.0), std).astype(X.dtype)
    Xs = ((per_layer - mean) / std).reshape(n, width)
    hidden = width // n_layers
    # Exported per feature so that TypeScript applies every strategy the same way.
    mean_f = np.broadcast_to(mean, (n_layers, hidden)).reshape(-1)
    std_f = np.broadcast_to(std, (n_layers, hidden)).reshape(-1)
    return {"kind": strategy, "mean": np.ascontiguousarray(mean_f), "scale": np.ascontiguousarray(std_f)}, Xs


def export_linear(clf: Any) -> dict[str, Any]:
    """Coefficients of a fitted linear classifier and how its scores map to probabilities."""
    classes = clf.classes_
    coef = np.asarray(clf.coef_, dtype=np.float64)
    intercept = np.atleast_1d(np.asarray(clf.intercept_, dtype=np.float64))
    return {
        "kind": "linear",
        "link": "logistic" if coef.shape[0] == 1 else "softmax",
        "coef": np.ascontiguousarray(coef),
        "intercept": intercept,
        "classes": [c.item() if hasattr(c, "item") else c for c in classes],
    }


def fit(body: dict[str, Any]) -> dict[str, Any]:
    """Fit scaler + classifier on pooled activations ``X`` of shape (n, n_layers, hidden)."""
    X3 = np.asarray(body["X"], dtype=np.float32)
    if X3.ndim != 3:
        raise WorkerFailure("BAD_REQUEST", "X must have shape (n, n_layers, hidden)")
    if not np.isfinite(X3).all():
        raise WorkerFailure("BAD_ACTIVATIONS", "activations contain NaN or infinite values")
    n, n_layers, hidden = X3.shape
    y = np.asarray(body["y"])
    if y.shape[0] != n:
        raise WorkerFailure("BAD_REQUEST", f"{y.shape[0]} labels for {n} samples")
    if np.unique(y).size < 2:
        raise WorkerFailure("BAD_REQUEST", "the training labels contain only one class")
    X = X3.reshape(n, n_layers * hidden)
    scaler, Xs = fit_scaler(X, n_layers, body.get("normalize_layers", True))
    clf = build_classifier(body["classifier"], body.get("random_state"), body.get("classifier_kwargs") or {})
    weights = body.get("sample_weight")
    fit_kwargs = {} if weights is None else {"sample_weight": np.asarray(weights, dtype=float)}
    clf.fit(Xs, y, **fit_kwargs)
    return {"scaler": scaler, "model": export_linear(clf), "n_layers": n_layers, "hidden": hidden}
