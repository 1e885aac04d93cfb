"""Security: a fit request (so a crafted probe.json) cannot make scikit-learn touch pickles or paths.

The attack this guards against: a custom estimator whose ``memory`` parameter names a folder makes
joblib write fitted transformers there as pickles and load whatever pickle it finds there on the next
fit. Every case below is refused before any estimator is built, and the planted folder stays as it was.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.fitting.fit import fit
from lmprobe_worker.fitting.param_policy import SAFE_MODULES, check_estimator_path, check_params


class _Boom:
    """Unpickling this object writes a marker file: proof that a planted pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.marker).write_text, ("pwned",))


def _body(classifier: Any, **kw: Any) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    X = rng.normal(size=(40, 1, 8)).astype(np.float32)
    X[:, 0, 0] += y
    return {
        "X": X,
        "y": y.tolist(),
        "task": "classification",
        "classifier": classifier,
        "random_state": 0,
        "normalize_layers": True,
        "path": "prompt",
        "preprocessing": None,
        "pca_components": None,
        "mass_mean_augment": False,
        "sample_weight": None,
        "layer_selection": None,
        **kw,
    }


def _plant(folder: Path) -> Path:
    """A joblib-style cache folder holding a hostile pickle; returns the marker it would write."""
    marker = folder / "marker"
    target = folder / "joblib" / "sklearn" / "pipeline" / "_fit_transform_one"
    target.mkdir(parents=True)
    with open(target / "output.pkl", "wb") as f:
        pickle.dump(_Boom(str(marker)), f)
    return marker


def _snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    "classifier, kwargs, needle",
    [
        ({"estimator": "sklearn.pipeline.Pipeline", "params": {"steps": [], "memory": "DIR"}}, None, "is not allowed"),
        ({"estimator": "sklearn.linear_model.LogisticRegression", "params": {"memory": "DIR"}}, None, "'memory'"),
        ("logistic_regression", {"memory": "DIR"}, "'memory'"),
        ("ensemble", {"memory": "DIR"}, "'memory'"),
        ({"estimator": "sklearn.linear_model.LogisticRegression", "params": {"solver": "DIR"}}, None, "no paths"),
        ("logistic_regression", {"n_jobs": 10_000}, "n_jobs"),
        ("logistic_regression", {"n_jobs": -1}, "n_jobs"),
        ("logistic_regression", {"estimator__memory": "DIR"}, "plain identifiers"),
        ("logistic_regression", {"class_weight": {"0": "DIR"}}, "no paths"),
        ("logistic_regression", {"C": [[1.0]]}, "values must be"),
        ({"estimator": "sklearn.cluster.FeatureAgglomeration", "params": {"memory": "DIR"}}, None, "is not allowed"),
        ({"estimator": "sklearn.linear_model._logistic.LogisticRegression"}, None, "is not allowed"),
    ],
)
def test_hostile_params_are_refused_and_nothing_is_read_or_written(
    tmp_path: Path, classifier: Any, kwargs: dict[str, Any] | None, needle: str
) -> None:
    marker = _plant(tmp_path)
    before = _snapshot(tmp_path)

    def put_dir(value: Any) -> Any:
        if value == "DIR":
            return str(tmp_path)
        if isinstance(value, dict):
            return {k: put_dir(v) for k, v in value.items()}
        return value

    classifier = put_dir(classifier)
    body = _body(classifier, classifier_kwargs=put_dir(kwargs) if kwargs else None)
    with pytest.raises(WorkerFailure) as info:
        fit(body)
    assert info.value.code == "BAD_REQUEST"
    assert needle in str(info.value), str(info.value)
    assert not marker.exists()
    assert _snapshot(tmp_path) == before


def test_ordinary_params_still_fit() -> None:
    body = _body(
        {
            "estimator": "sklearn.linear_model.LogisticRegression",
            "params": {"C": 0.5, "solver": "liblinear", "class_weight": "balanced", "n_jobs": 1},
        },
    )
    state = fit(body)
    assert state["model"]["kind"] == "linear"
    assert check_params("x", {"C_values": [0.1, 1.0], "tol": 1e-4, "random_state": None}) == {
        "C_values": [0.1, 1.0],
        "tol": 1e-4,
        "random_state": None,
    }


def test_allowed_paths() -> None:
    assert check_estimator_path("sklearn.svm.LinearSVC") == ("sklearn.svm", "LinearSVC")
    for module in ("pipeline", "compose", "cluster", "utils", "externals", "model_selection"):
        assert module not in SAFE_MODULES
    with pytest.raises(WorkerFailure):
        check_estimator_path("sklearn.svm.LinearSVC.extra")
