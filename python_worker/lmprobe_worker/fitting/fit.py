"""The ``fit`` request: lmprobe 0.10.3's fit pipeline on pooled activations, exported as arrays.

Order (as lmprobe's ``Probe.fit``): layer scaling (StandardScaler for one layer, per-neuron or
per-layer for several; off when preprocessing includes "standard"), mass-mean direction on the
scaled features, preprocessing Pipeline, mass-mean column appended last, classifier fitted with
``sample_weight``. ``layer_selection`` picks candidate layers first (group lasso or coefficient
norms) and refits on the selected ones with a fresh scaler. Unlike lmprobe, that refit keeps
``sample_weight``, preprocessing and the mass-mean column; without them it is lmprobe's.

``path="activations"`` (lmprobe's ``fit_from_activations``) runs the same pipeline: lmprobe 0.10.3
scales and preprocesses there too, with the layer count the caller gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import WorkerFailure
from .classifiers import BINARY_01_ONLY, build_classifier
from .export import export_model
from .group_lasso import SELECTED_ABOVE, group_norms
from .preprocessing import f64, fit_layer_scaler, fit_preprocessing, mass_mean_direction, parse_steps, scaling_strategy


def _labels(raw: Any, n: int, task: str) -> np.ndarray:
    y = np.asarray(raw)
    if y.ndim != 1 or y.shape[0] != n:
        raise WorkerFailure("BAD_REQUEST", f"got {y.size} labels for {n} samples")
    if task == "regression":
        if y.dtype.kind not in "iuf":
            raise WorkerFailure("BAD_REQUEST", "regression targets must be numbers")
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise WorkerFailure("BAD_REQUEST", "regression targets contain NaN or infinite values")
        return y
    if y.dtype.kind == "f":
        if not (np.isfinite(y).all() and np.all(y == np.round(y))):
            raise WorkerFailure("BAD_REQUEST", "classification labels must be integers")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iub":
        raise WorkerFailure("BAD_REQUEST", "classification labels must be integers")
    if np.unique(y).size < 2:
        raise WorkerFailure("BAD_REQUEST", "the training labels contain only one class; a probe needs at least two")
    return y


def _fit_estimator(template: Any, X: np.ndarray, y: np.ndarray, weights: np.ndarray | None, label: str) -> Any:
    from sklearn.base import clone

    clf = clone(template)
    kwargs = {} if weights is None else {"sample_weight": weights}
    try:
        return clf.fit(X, y, **kwargs)
    except (ValueError, TypeError) as err:
        raise WorkerFailure("BAD_REQUEST", f"{label} could not be fitted: {err}") from None


def _layer_importance(clf: Any, n_layers: int, hidden: int, label: str) -> np.ndarray:
    """Unnormalised L2 norm of each layer's coefficient block (over all rows for multiclass)."""
    coef = getattr(clf, "coef_", None)
    if coef is None:
        raise WorkerFailure(
            "BAD_REQUEST", f"fast_auto layer selection needs a linear classifier with coefficients; {label} has none"
        )
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    if W.shape[1] != n_layers * hidden:
        raise WorkerFailure("BAD_REQUEST", f"{label} coefficients do not match the {n_layers} candidate layers")
    return np.sqrt((W.reshape(W.shape[0], n_layers, hidden) ** 2).sum(axis=(0, 2)))


def fit(body: dict[str, Any]) -> dict[str, Any]:
    X3 = np.asarray(body["X"])
    if X3.ndim != 3 or X3.shape[0] == 0 or X3.shape[1] == 0 or X3.shape[2] == 0:
        raise WorkerFailure("BAD_REQUEST", f"X must have shape (n, n_layers, hidden), got {X3.shape}")
    X3 = X3.astype(np.float32, copy=False)
    if not np.isfinite(X3).all():
        raise WorkerFailure("BAD_ACTIVATIONS", "activations contain NaN or infinite values")
    n, n_layers, hidden = X3.shape

    task = body.get("task", "classification")
    if task not in ("classification", "regression"):
        raise WorkerFailure("BAD_REQUEST", f"task must be 'classification' or 'regression', got {task!r}")
    regression = task == "regression"
    y = _labels(body["y"], n, task)
    if body.get("path", "prompt") not in ("prompt", "activations"):
        raise WorkerFailure("BAD_REQUEST", f"path must be 'prompt' or 'activations', got {body.get('path')!r}")

    spec = body["classifier"]
    template, label = build_classifier(spec, body.get("random_state"), body.get("classifier_kwargs") or {})
    if isinstance(spec, str) and spec in BINARY_01_ONLY and not set(np.unique(y).tolist()) <= {0, 1}:
        raise WorkerFailure("BAD_REQUEST", f"{spec} is binary only: the labels must be 0 and 1")

    weights = body.get("sample_weight")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1 or weights.shape[0] != n:
            raise WorkerFailure("BAD_REQUEST", f"sample_weight has {weights.size} values for {n} samples")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise WorkerFailure("BAD_REQUEST", "sample_weight must be finite and non-negative")
        if spec == "mass_mean":
            raise WorkerFailure("BAD_REQUEST", "sample_weight is not supported by the mass_mean classifier")
        from sklearn.utils.validation import has_fit_parameter

        if not has_fit_parameter(template, "sample_weight"):
            raise WorkerFailure("BAD_REQUEST", f"sample_weight is not supported by {label}")

    steps = parse_steps(body.get("preprocessing"), body.get("pca_components"))
    has_standard = any(kind == "standard" for kind, _ in steps)
    strategy = scaling_strategy(body.get("normalize_layers", True))
    augment = bool(body.get("mass_mean_augment", False))
    X = X3.reshape(n, n_layers * hidden)

    selected: list[int] | None = None
    importances: np.ndarray | None = None
    selection = body.get("layer_selection")
    if selection is None:
        X_final, layers_final, single_layer_standard = X, n_layers, True
    else:
        mode = selection.get("mode") if isinstance(selection, dict) else None
        if mode not in ("auto", "fast_auto"):
            raise WorkerFailure("BAD_REQUEST", f"layer_selection mode must be 'auto' or 'fast_auto', got {mode!r}")
        # Candidates are scaled as lmprobe does it (no single-layer StandardScaler, no preprocessing).
        _, X_cand = fit_layer_scaler(X, n_layers, strategy, single_layer_standard=False)
        if mode == "auto":
            if n_layers < 2:
                raise WorkerFailure("BAD_REQUEST", "auto layer selection needs at least 2 candidate layers")
            if regression:
                raise WorkerFailure(
                    "BAD_REQUEST", "auto layer selection (logistic group lasso) is for classification only"
                )
            alpha = float(selection.get("alpha", 0.01) if selection.get("alpha") is not None else 0.01)
            if not alpha > 0:
                raise WorkerFailure("BAD_REQUEST", "auto layer selection alpha must be positive")
            importances = group_norms(X_cand, y, n_layers, hidden, alpha)
            selected = [i for i in range(n_layers) if importances[i] > SELECTED_ABOVE] or list(range(n_layers))
        else:
            first = _fit_estimator(template, X_cand, y, None, label)
            importances = _layer_importance(first, n_layers, hidden, label)
            top_k = selection.get("top_k")
            top_k = max(1, n_layers // 2) if top_k is None else int(top_k)
            if top_k < 1:
                raise WorkerFailure("BAD_REQUEST", "fast_auto top_k must be at least 1")
            top_k = min(top_k, n_layers)
            selected = sorted(int(i) for i in np.argsort(importances)[-top_k:])
        # Gather the columns the way lmprobe does (a column take, which numpy lays out in Fortran
        # order): float32 means/stds then sum in the same order and match lmprobe bit for bit.
        X_final = X[:, [c for i in selected for c in range(i * hidden, (i + 1) * hidden)]]
        layers_final, single_layer_standard = len(selected), False

    refit_strategy = None if has_standard else strategy
    scaler, Xs = fit_layer_scaler(X_final, layers_final, refit_strategy, single_layer_standard=single_layer_standard)
    direction = mass_mean_direction(Xs, y) if augment else None
    preprocessing, Xt = fit_preprocessing(Xs, steps)
    if direction is not None:
        Xt = np.column_stack([Xt, Xs @ direction])
    clf = _fit_estimator(template, Xt, y, weights, label)
    model = export_model(clf, Xt, regression, label)
    if regression and model["kind"] != "opaque":
        model["classes"] = []
    return {
        "n_layers": layers_final,
        "hidden": hidden,
        "selected": selected,
        "importances": None if importances is None else f64(importances),
        "scaler": scaler,
        "preprocessing": preprocessing,
        "mass_mean_direction": None if direction is None else f64(direction),
        "model": model,
    }
