"""Building the classifier a fit request names: a built-in name or a custom sklearn estimator.

Built-in constructors and defaults are lmprobe 0.10.3's (``classifier_kwargs`` override them). A
custom estimator is ``{"estimator": "sklearn.module.Class", "params": {...}}`` and must be a
``BaseEstimator`` subclass from one of the modules param_policy allows; nothing else is imported.
Every parameter (custom ``params`` and built-in ``classifier_kwargs``) passes param_policy first.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import WorkerFailure
from .param_policy import check_estimator_path, check_params

BUILTIN = (
    "logistic_regression",
    "logistic_regression_cv",
    "ridge",
    "ridge_regression",
    "svm",
    "sgd",
    "sgd_gpu",
    "mass_mean",
    "lda",
    "ensemble",
)

# Built-ins that need the labels 0 and 1 (they hard-code classes_ = [0, 1]).
BINARY_01_ONLY = ("sgd_gpu", "mass_mean")


def _construct(cls: type, params: dict[str, Any], label: str) -> Any:
    try:
        return cls(**params)
    except TypeError as err:
        raise WorkerFailure("BAD_REQUEST", f"bad parameters for {label}: {err}") from None
    except ValueError as err:
        raise WorkerFailure("BAD_REQUEST", f"bad parameters for {label}: {err}") from None


def build_builtin(name: str, random_state: int | None, kwargs: dict[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, Ridge, RidgeClassifier, SGDClassifier
    from sklearn.svm import SVC

    from .estimators import EnsembleClassifier, MassMeanClassifier, SGDGPUClassifier

    extra = dict(check_params(name, kwargs))  # never touch the caller's dict
    rs = {"random_state": random_state}
    table: dict[str, tuple[type, dict[str, Any]]] = {
        "logistic_regression": (LogisticRegression, {"max_iter": 1000, "solver": "lbfgs", **rs}),
        "logistic_regression_cv": (LogisticRegressionCV, {"cv": 5, "max_iter": 1000, **rs}),
        "ridge": (RidgeClassifier, dict(rs)),
        "ridge_regression": (Ridge, {"alpha": 1.0}),
        "svm": (SVC, {"kernel": "linear", "probability": True, **rs}),
        "sgd": (SGDClassifier, {"loss": "log_loss", **rs}),
        "sgd_gpu": (SGDGPUClassifier, dict(rs)),
        "lda": (_lda(), {}),
    }
    if name == "mass_mean":
        return MassMeanClassifier()  # lmprobe ignores classifier_kwargs here too
    if name == "ensemble":
        own = {k: extra.pop(k) for k in ("C_values", "solver", "max_iter") if k in extra}
        if "random_state" in extra:
            own["random_state"] = extra.pop("random_state")
        else:
            own["random_state"] = random_state
        return _construct(EnsembleClassifier, {**own, "lr_params": extra}, "ensemble")
    if name not in table:
        raise WorkerFailure(
            "BAD_REQUEST", f"unknown classifier {name!r}; use one of {', '.join(BUILTIN)} or a custom sklearn estimator"
        )
    cls, defaults = table[name]
    return _construct(cls, {**defaults, **extra}, name)


def _lda() -> type:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis


def resolve_custom_class(path: Any) -> type:
    """Import ``sklearn.<module>.<Class>`` from an allowed module and check it is an estimator class."""
    from sklearn.base import BaseEstimator

    module_name, class_name = check_estimator_path(path)
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise WorkerFailure(
            "BAD_REQUEST", f"custom estimator {path!r}: no module {module_name!r} in scikit-learn"
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, BaseEstimator):
        raise WorkerFailure("BAD_REQUEST", f"custom estimator {path!r} is not a scikit-learn estimator class")
    return cls


def build_classifier(spec: Any, random_state: int | None, kwargs: dict[str, Any] | None) -> tuple[Any, str]:
    """Return (unfitted estimator, label). ``random_state`` is not injected into custom estimators."""
    if isinstance(spec, str):
        return build_builtin(spec, random_state, kwargs or {}), spec
    if isinstance(spec, dict) and "estimator" in spec:
        cls = resolve_custom_class(spec["estimator"])
        params = spec.get("params") or {}
        if not isinstance(params, dict):
            raise WorkerFailure("BAD_REQUEST", "custom estimator params must be a mapping")
        label = spec["estimator"]
        return _construct(cls, dict(check_params(label, params)), label), label
    raise WorkerFailure(
        "BAD_REQUEST", f"classifier must be a built-in name or {{'estimator': 'sklearn...'}}, got {spec!r}"
    )
