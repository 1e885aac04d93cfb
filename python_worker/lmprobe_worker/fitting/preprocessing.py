"""Layer scaling, the optional preprocessing pipeline and the mass-mean direction (lmprobe's rules).

Scaling: one layer gets sklearn's StandardScaler (always, on the main fit path); several layers
get a per-neuron or per-layer scaler computed in float32 with population std where an exact-zero
std becomes 1. Preprocessing: an sklearn Pipeline of StandardScaler and/or PCA(n_components)
(no random_state). Every fitted piece is exported as plain arrays for TypeScript.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import WorkerFailure


def f64(a: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64))


def scaling_strategy(normalize_layers: Any) -> str | None:
    if normalize_layers is False or normalize_layers is None:
        return None
    if normalize_layers is True:
        return "per_neuron"
    if normalize_layers in ("per_neuron", "per_layer"):
        return str(normalize_layers)
    raise WorkerFailure(
        "BAD_REQUEST", f"normalize_layers must be true, false, 'per_neuron' or 'per_layer', got {normalize_layers!r}"
    )


class LayerScaler:
    """Per-neuron or per-layer standardisation of (n, n_layers * hidden) features."""

    def __init__(self, n_layers: int, hidden: int, strategy: str) -> None:
        self.n_layers, self.hidden, self.strategy = n_layers, hidden, strategy

    def fit(self, X: np.ndarray) -> LayerScaler:
        blocks = X.reshape(X.shape[0], self.n_layers, self.hidden)
        if self.strategy == "per_neuron":
            mean, std = blocks.mean(axis=0), blocks.std(axis=0)
        else:
            by_layer = blocks.transpose(1, 0, 2).reshape(self.n_layers, -1)
            mean, std = by_layer.mean(axis=1)[:, None], by_layer.std(axis=1)[:, None]
        self.mean_ = mean
        self.std_ = np.where(std == 0, 1.0, std)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        blocks = X.reshape(X.shape[0], self.n_layers, self.hidden)
        return ((blocks - self.mean_) / self.std_).reshape(X.shape[0], -1)

    def state(self) -> dict[str, Any]:
        shape = (self.n_layers, self.hidden)
        return {
            "kind": self.strategy,
            "mean": f64(np.broadcast_to(self.mean_, shape).reshape(-1)),
            "scale": f64(np.broadcast_to(self.std_, shape).reshape(-1)),
        }


def fit_layer_scaler(
    X: np.ndarray, n_layers: int, strategy: str | None, *, single_layer_standard: bool
) -> tuple[dict[str, Any], np.ndarray]:
    """Fit the scaler lmprobe would use; returns (exported state, scaled X)."""
    if single_layer_standard and n_layers == 1:
        from sklearn.preprocessing import StandardScaler

        sc = StandardScaler()
        Xs = sc.fit_transform(X)
        return {"kind": "standard", "mean": f64(sc.mean_), "scale": f64(sc.scale_)}, Xs
    if strategy is not None:
        ls = LayerScaler(n_layers, X.shape[1] // n_layers, strategy).fit(X)
        return ls.state(), ls.transform(X)
    return {"kind": "none"}, X


def parse_steps(steps: Any, pca_components: Any) -> list[tuple[str, int | None]]:
    """Normalise the preprocessing list to [("standard", None) | ("pca", k)]."""
    if steps is None:
        return []
    if isinstance(steps, str):
        steps = [s.strip() for s in steps.split("+")]
    out: list[tuple[str, int | None]] = []
    for s in steps:
        if s in ("standard", "standard_scaler"):
            out.append(("standard", None))
        elif isinstance(s, str) and s.startswith("pca"):
            k: Any = s.split(":", 1)[1] if ":" in s else pca_components
            if k is None:
                raise WorkerFailure(
                    "BAD_REQUEST", "preprocessing 'pca' needs a component count: set pca_components or use 'pca:N'"
                )
            try:
                k = int(k)
            except (TypeError, ValueError):
                raise WorkerFailure("BAD_REQUEST", f"PCA component count must be an integer, got {k!r}") from None
            if k < 1:
                raise WorkerFailure("BAD_REQUEST", f"PCA component count must be at least 1, got {k}")
            out.append(("pca", k))
        else:
            raise WorkerFailure("BAD_REQUEST", f"unknown preprocessing step {s!r}; use 'standard' or 'pca'")
    return out


def fit_preprocessing(X: np.ndarray, steps: list[tuple[str, int | None]]) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Fit an sklearn Pipeline of the steps on X; returns (exported steps, transformed X)."""
    if not steps:
        return [], X
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    n, d = X.shape
    named: list[tuple[str, Any]] = []
    width = d
    for i, (kind, k) in enumerate(steps):
        if kind == "standard":
            named.append((f"scaler{i}", StandardScaler()))
        else:
            assert k is not None
            if k > min(n, width):
                raise WorkerFailure(
                    "BAD_REQUEST",
                    f"PCA with {k} components needs at least {k} samples and {k} features (have {n} × {width})",
                )
            named.append((f"pca{i}", PCA(n_components=k)))
            width = k
    pipe = Pipeline(named)
    Xt = pipe.fit_transform(X)
    exported: list[dict[str, Any]] = []
    for _name, step in pipe.steps:
        if isinstance(step, StandardScaler):
            exported.append({"kind": "standard", "mean": f64(step.mean_), "scale": f64(step.scale_)})
        else:
            exported.append({"kind": "pca", "mean": f64(step.mean_), "components": f64(step.components_)})
    return exported, Xt


def mass_mean_direction(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    pos, neg = X[y == 1], X[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise WorkerFailure("BAD_REQUEST", "mass_mean_augment needs samples with label 1 and with label 0")
    d = pos.mean(axis=0) - neg.mean(axis=0)
    norm = np.linalg.norm(d)
    return d / norm if norm > 0 else d
