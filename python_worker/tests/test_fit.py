"""Parity of the worker's fit with lmprobe 0.10.3 (the oracle), through the exported state.

``score_state`` is a numpy reference of what TypeScript does with a fit result (scaler ->
preprocessing -> mass-mean column -> link); it is compared with lmprobe's own Probe driven through
``fit_from_activations`` (which runs the same scaling/preprocessing/augment chain as ``fit``), and
for layer selection with lmprobe's ``_fit_auto_layers`` / ``_fit_fast_auto_layers`` fed the same
activations in place of an extractor.
"""

from __future__ import annotations

import copy
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.fitting.export import score as score_rpc
from lmprobe_worker.fitting.export import score_linear
from lmprobe_worker.fitting.fit import fit

N, L, H = 60, 3, 16

# max |Δproba| (or |Δvalue| for regression) against lmprobe, per case; printed by test_zz_report
MEASURED: dict[str, tuple[float, float]] = {}


def _data(n_classes: int = 2, seed: int = 0, n: int = N, layers: int = L) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = (rng.normal(size=(n, layers, H)) * 2 + 0.5).astype(np.float32)
    X[:, :, 0] += y[:, None] * 1.5  # some signal in every layer
    X[:, min(1, layers - 1), 1:4] += y[:, None] * 1.0  # more in the middle layer
    X[:, 0, 5] = 3  # a constant neuron (std 0 -> 1)
    X_test = (rng.normal(size=(25, layers, H)) * 2 + 0.5).astype(np.float32)
    X_test[:, :, 0] += (np.arange(25) % n_classes)[:, None] * 1.5
    return X, y, X_test


def _transform(state: dict[str, Any], X3: np.ndarray) -> np.ndarray:
    if state["selected"] is not None:
        X3 = X3[:, state["selected"], :]
    X = X3.reshape(X3.shape[0], -1).astype(np.float64)
    sc = state["scaler"]
    if sc["kind"] != "none":
        X = (X - sc["mean"]) / sc["scale"]
    pre = X
    for step in state["preprocessing"]:
        if step["kind"] == "standard":
            X = (X - step["mean"]) / step["scale"]
        else:
            X = (X - step["mean"]) @ step["components"].T
    if state["mass_mean_direction"] is not None:
        X = np.column_stack([X, pre @ state["mass_mean_direction"]])
    return X


def score_state(state: dict[str, Any], X3: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(proba | None, labels or regression values) as TypeScript computes them from the state."""
    Xt = _transform(state, X3)
    model = state["model"]
    if model["kind"] == "opaque":
        out = score_rpc({"handle": model["handle"], "X": Xt.astype(np.float32)})
        return out["proba"], out["predict"]
    return score_linear(model, Xt)


def _probe(body: dict[str, Any], estimator: Any = None, **extra: Any) -> Any:
    from lmprobe import Probe

    spec = body["classifier"]
    return Probe(
        model=None,
        classifier=estimator if estimator is not None else spec,
        task=body.get("task", "classification"),
        random_state=body.get("random_state"),
        normalize_layers=body.get("normalize_layers", True),
        classifier_kwargs=copy.deepcopy(body.get("classifier_kwargs")),
        preprocessing=body.get("preprocessing"),
        pca_components=body.get("pca_components"),
        mass_mean_augment=body.get("mass_mean_augment", False),
        **extra,
    )


def _oracle_outputs(clf: Any, Xt: np.ndarray, regression: bool) -> tuple[np.ndarray | None, np.ndarray]:
    if regression:
        return None, np.asarray(clf.predict(Xt), dtype=np.float64)
    if hasattr(clf, "predict_proba"):
        try:
            proba = np.asarray(clf.predict_proba(Xt), dtype=np.float64)
            return proba, np.asarray(clf.classes_)[np.argmax(proba, axis=1)]  # Probe.predict = argmax proba
        except AttributeError:
            pass
    return None, np.asarray(clf.predict(Xt))


def oracle(body: dict[str, Any], X_test: np.ndarray, estimator: Any = None) -> tuple[Any, Any, Any]:
    """lmprobe 0.10.3's fit on the same activations: (probe, proba | None, labels/values) on X_test."""
    X3 = body["X"]
    n, layers, _ = X3.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe = _probe(body, estimator)
        sel = body.get("layer_selection")
        if sel is None:
            probe.fit_from_activations(
                X3.reshape(n, -1), np.asarray(body["y"]), sample_weight=body.get("sample_weight"), n_layers=layers
            )
            chosen = list(range(layers))
        else:
            from lmprobe import Probe

            probe = _probe(
                body,
                estimator,
                layers=sel["mode"],
                auto_alpha=sel.get("alpha") or 0.01,
                fast_auto_top_k=sel.get("top_k"),
            )
            assert isinstance(probe, Probe)
            probe._extractor = SimpleNamespace(layer_indices=list(range(layers)))
            probe._train_pooling = "last_token"
            probe._extract_and_pool = lambda prompts, pooling, **kw: (X3.reshape(n, -1), None)
            probe._create_selected_extractor = lambda chosen_layers: (
                SimpleNamespace(layer_indices=list(chosen_layers)),
                None,
            )
            run = probe._fit_auto_layers if sel["mode"] == "auto" else probe._fit_fast_auto_layers
            run(["p"] * n, np.asarray(body["y"]), None, False)
            chosen = list(probe.selected_layers_)
        Xt = probe._apply_inference_transforms(X_test[:, chosen, :].reshape(len(X_test), -1))
        proba, labels = _oracle_outputs(probe.classifier_, Xt, body.get("task") == "regression")
    return probe, proba, labels


# lmprobe transforms features in float32 (PerLayerScaler, StandardScaler and PCA keep the dtype);
# the exported state is scored in float64. End to end that rounding alone moves probabilities by
# up to ~1e-5, so the model itself is compared on identical (our float64) features at `tol`, and
# the end-to-end output within END_TO_END.
END_TO_END = 5e-5


def compare(
    name: str,
    body: dict[str, Any],
    X_test: np.ndarray,
    *,
    estimator: Any = None,
    tol: float = 1e-6,
    kind: str | None = None,
) -> dict[str, Any]:
    state = fit(copy.copy(body))
    probe, ref_proba, ref_labels = oracle(body, X_test, estimator)
    if kind is not None:
        assert state["model"]["kind"] == kind
    if body.get("layer_selection") is not None:
        assert state["selected"] == [int(i) for i in probe.selected_layers_]
        np.testing.assert_allclose(state["importances"], probe.layer_importances_, rtol=1e-5, atol=1e-8)
    proba, labels = score_state(state, X_test)
    same_features = _transform(state, X_test)
    if state["model"]["kind"] == "opaque":
        same_features = same_features.astype(np.float32)
    model_proba, model_labels = _oracle_outputs(probe.classifier_, same_features, body.get("task") == "regression")
    if body.get("task") == "regression":
        scale = 1 + np.abs(ref_labels).max()
        model_delta = float(np.abs(labels - model_labels).max())
        delta = float(np.abs(labels - ref_labels).max())
        assert model_delta < tol * scale and delta < END_TO_END * scale, (model_delta, delta)
    elif ref_proba is not None:
        assert proba is not None, "lmprobe gives probabilities, the export does not"
        model_delta = float(np.abs(proba - model_proba).max())
        delta = float(np.abs(proba - ref_proba).max())
        assert model_delta < tol, f"{name}: max |Δproba| on the same features {model_delta}"
        assert delta < max(tol, END_TO_END), f"{name}: max |Δproba| end to end {delta}"
        # identical labels except where lmprobe's own top two probabilities are a near tie
        top2 = np.sort(ref_proba, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 10 * tol
        assert (np.asarray(labels)[clear] == ref_labels[clear]).all()
    else:
        delta = model_delta = 0.0
        assert proba is None
        assert (np.asarray(labels) == ref_labels).all()
    old = MEASURED.get(name, (0.0, 0.0))
    MEASURED[name] = (max(old[0], model_delta), max(old[1], delta))
    return state


BUILTIN_BINARY = [
    "logistic_regression",
    "logistic_regression_cv",
    "ridge",
    "svm",
    "sgd",
    "sgd_gpu",
    "mass_mean",
    "lda",
    "ensemble",
]
BUILTIN_MULTI = ["logistic_regression", "logistic_regression_cv", "ridge", "svm", "sgd", "lda", "ensemble"]
# iterative solvers fitted the same way on float32 data: lbfgs & co converge to the same point,
# agreement is limited by float32 rounding of the features; sgd_gpu is torch SGD (same steps).
TOL = {"sgd_gpu": 1e-4, "logistic_regression_cv": 1e-5}
EXPECTED_LINK = {
    "logistic_regression": "logistic",
    "logistic_regression_cv": "logistic",
    "ridge": "decision",
    "svm": "libsvm",
    "sgd": "logistic",
    "sgd_gpu": "logistic",
    "mass_mean": "platt",
    "lda": "logistic",
}


def _body(X: np.ndarray, y: np.ndarray, classifier: Any, **kw: Any) -> dict[str, Any]:
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


@pytest.mark.parametrize("name", BUILTIN_BINARY)
def test_builtin_binary_matches_lmprobe(name: str) -> None:
    X, y, Xt = _data(2)
    state = compare(f"{name}/binary", _body(X, y, name), Xt, tol=TOL.get(name, 1e-6))
    assert state["model"]["kind"] == ("ensemble" if name == "ensemble" else "linear")
    if name in EXPECTED_LINK:
        assert state["model"]["link"] == EXPECTED_LINK[name]
    assert state["n_layers"] == L and state["hidden"] == H and state["selected"] is None


@pytest.mark.parametrize("name", BUILTIN_MULTI)
def test_builtin_three_classes_match_lmprobe(name: str) -> None:
    X, y, Xt = _data(3)
    state = compare(f"{name}/3-class", _body(X, y, name), Xt, tol=TOL.get(name, 1e-6))
    model = state["model"]
    if name != "ensemble":
        want = {
            "logistic_regression": "softmax",
            "logistic_regression_cv": "softmax",
            "lda": "softmax",
            "sgd": "ovr",
            "ridge": "decision",
            "svm": "libsvm",
        }[name]
        assert model["link"] == want and model["coef"].shape[0] == 3


@pytest.mark.parametrize(
    "name", ["logistic_regression", "svm", "sgd", "sgd_gpu", "mass_mean", "lda", "ensemble", "ridge"]
)
def test_builtin_with_standard_pca_and_augment(name: str) -> None:
    X, y, Xt = _data(2, seed=1)
    body = _body(X, y, name, preprocessing=["standard", "pca"], pca_components=6, mass_mean_augment=True)
    state = compare(f"{name}/standard+pca+augment", body, Xt, tol=TOL.get(name, 1e-6))
    assert [s["kind"] for s in state["preprocessing"]] == ["standard", "pca"]
    assert state["preprocessing"][1]["components"].shape == (6, L * H)
    assert state["scaler"]["kind"] == "none"  # lmprobe turns layer scaling off under "standard"
    assert state["mass_mean_direction"].shape == (L * H,)


@pytest.mark.parametrize("name", ["logistic_regression", "logistic_regression_cv", "ridge", "svm", "sgd", "sgd_gpu"])
def test_builtin_with_sample_weight(name: str) -> None:
    X, y, Xt = _data(2, seed=2)
    w = np.random.default_rng(5).uniform(0.2, 3.0, size=N).tolist()
    compare(f"{name}/sample_weight", _body(X, y, name, sample_weight=w), Xt, tol=TOL.get(name, 1e-6))


@pytest.mark.parametrize(
    "extra",
    [
        {"preprocessing": ["standard"]},
        {"preprocessing": ["pca:5"]},
        {"preprocessing": ["pca"], "pca_components": 4, "mass_mean_augment": True},
        {"preprocessing": ["standard", "pca:7"], "normalize_layers": "per_layer"},
        {"mass_mean_augment": True, "sample_weight": [1.0 + (i % 3) for i in range(N)]},
        {"normalize_layers": "per_layer"},
        {"normalize_layers": "per_neuron"},
        {"normalize_layers": False},
        {"normalize_layers": False, "mass_mean_augment": True},
        {"path": "activations", "mass_mean_augment": True},
    ],
    ids=lambda e: ",".join(f"{k}={v if not isinstance(v, list) or len(v) < 5 else 'w'}" for k, v in e.items()),
)
def test_lr_pipeline_variants(extra: dict[str, Any]) -> None:
    X, y, Xt = _data(2, seed=3)
    state = compare("logistic_regression/variants", _body(X, y, "logistic_regression", **extra), Xt)
    strategy = extra.get("normalize_layers", True)
    if "standard" in (extra.get("preprocessing") or []) or strategy is False:
        assert state["scaler"]["kind"] == "none"
    else:
        assert state["scaler"]["kind"] == ("per_layer" if strategy == "per_layer" else "per_neuron")


@pytest.mark.parametrize("normalize", [True, False, "per_layer"])
def test_single_layer_always_standard_scaler(normalize: Any) -> None:
    X, y, Xt = _data(2, seed=4, layers=1)
    state = compare(
        "logistic_regression/1-layer",
        _body(X, y, "logistic_regression", normalize_layers=normalize, preprocessing=["standard"]),
        Xt,
    )
    assert state["scaler"]["kind"] == "standard"


@pytest.mark.parametrize("layers", [1, 3])
def test_ridge_regression(layers: int) -> None:
    X, _, Xt = _data(2, seed=6, layers=layers)
    y = X[:, 0, 0].astype(np.float64) * 0.7 + np.random.default_rng(1).normal(size=N) * 0.1
    body = _body(X, y, "ridge_regression", task="regression", preprocessing=["pca:4"], mass_mean_augment=False)
    state = compare("ridge_regression", body, Xt)
    assert state["model"]["link"] == "identity" and state["model"]["classes"] == []


def test_ridge_regression_with_weights_and_augment_is_lmprobe() -> None:
    X, _, Xt = _data(2, seed=6)
    y = np.where(X[:, 0, 0] > 0.5, 1.0, 0.0)  # 0/1 targets so the mass-mean direction exists
    w = [1.0 + (i % 4) for i in range(N)]
    compare(
        "ridge_regression",
        _body(X, y, "ridge_regression", task="regression", mass_mean_augment=True, sample_weight=w),
        Xt,
    )


CUSTOM = [
    ("sklearn.linear_model.LogisticRegression", {"C": 0.3, "max_iter": 500}, 2, "logistic"),
    ("sklearn.linear_model.LogisticRegression", {"C": 0.3, "max_iter": 500}, 3, "softmax"),
    ("sklearn.svm.LinearSVC", {"C": 0.1, "random_state": 0}, 2, "decision"),
    ("sklearn.svm.LinearSVC", {"C": 0.1, "random_state": 0}, 3, "decision"),
    ("sklearn.linear_model.SGDClassifier", {"loss": "hinge", "random_state": 0}, 3, "decision"),
    ("sklearn.linear_model.SGDClassifier", {"loss": "log_loss", "random_state": 1}, 3, "ovr"),
    ("sklearn.linear_model.RidgeClassifierCV", {}, 2, "decision"),
    ("sklearn.svm.SVC", {"kernel": "linear", "probability": True, "random_state": 0, "C": 0.5}, 4, "libsvm"),
    ("sklearn.discriminant_analysis.LinearDiscriminantAnalysis", {"solver": "lsqr"}, 3, "softmax"),
    ("sklearn.tree.DecisionTreeClassifier", {"max_depth": 3, "random_state": 0}, 3, None),
    ("sklearn.svm.SVC", {"kernel": "rbf", "probability": False}, 2, None),
    ("sklearn.linear_model.SGDClassifier", {"loss": "modified_huber", "random_state": 0}, 2, None),
]


@pytest.mark.parametrize(
    "path, params, n_classes, link", CUSTOM, ids=[f"{c[0].rsplit('.', 1)[1]}-{c[2]}" for c in CUSTOM]
)
def test_custom_estimators(path: str, params: dict[str, Any], n_classes: int, link: str | None) -> None:
    import importlib

    module, _, cls = path.rpartition(".")
    estimator = getattr(importlib.import_module(module), cls)(**params)
    X, y, Xt = _data(n_classes, seed=7)
    body = _body(X, y, {"estimator": path, "params": params}, mass_mean_augment=n_classes == 2)
    state = compare(f"custom {cls}", body, Xt, estimator=estimator, kind="linear" if link else "opaque")
    if link:
        assert state["model"]["link"] == link
    else:
        assert state["model"]["estimator"] == path


@pytest.mark.parametrize(
    "path, params",
    [
        ("sklearn.linear_model.LinearRegression", {}),
        ("sklearn.linear_model.Lasso", {"alpha": 0.01}),
        ("sklearn.linear_model.SGDRegressor", {"random_state": 0}),
        ("sklearn.tree.DecisionTreeRegressor", {"max_depth": 2}),
    ],
)
def test_custom_regressors(path: str, params: dict[str, Any]) -> None:
    import importlib

    module, _, cls = path.rpartition(".")
    X, _, Xt = _data(2, seed=8)
    y = X[:, 1, 2].astype(np.float64) - X[:, 2, 3]
    body = _body(X, y, {"estimator": path, "params": params}, task="regression")
    state = compare(
        f"custom {cls}", body, Xt, estimator=getattr(importlib.import_module(module), cls)(**params), tol=1e-5
    )
    assert state["model"]["kind"] == ("opaque" if "tree" in path else "linear")


@pytest.mark.parametrize("name", ["logistic_regression", "svm", "mass_mean", "sgd_gpu", "ensemble", "lda", "ridge"])
def test_fast_auto_matches_lmprobe(name: str) -> None:
    X, y, Xt = _data(2, seed=9, layers=4)
    for top_k in (None, 1, 3):
        body = _body(X, y, name, layer_selection={"mode": "fast_auto", "top_k": top_k})
        state = compare(f"{name}/fast_auto", body, Xt, tol=TOL.get(name, 1e-6))
        assert state["n_layers"] == len(state["selected"])
        assert state["selected"] == sorted(state["selected"])
    # one selected layer + normalize_layers=False: lmprobe uses no scaler at all on the refit
    body = _body(X, y, name, normalize_layers=False, layer_selection={"mode": "fast_auto", "top_k": 1})
    assert compare(f"{name}/fast_auto", body, Xt, tol=TOL.get(name, 1e-6))["scaler"]["kind"] == "none"


@pytest.mark.parametrize("alpha", [0.01, 0.05, 5.0])
def test_auto_group_lasso_matches_lmprobe(alpha: float) -> None:
    pytest.importorskip("skglm")
    X, y, Xt = _data(2, seed=10, layers=4)
    state = compare(
        "logistic_regression/auto",
        _body(X, y, "logistic_regression", layer_selection={"mode": "auto", "alpha": alpha}),
        Xt,
    )
    if alpha == 5.0:  # nothing survives: lmprobe falls back to every candidate
        assert state["selected"] == [0, 1, 2, 3]
    assert state["importances"].shape == (4,)


def test_auto_refit_keeps_weights_preprocessing_and_augment() -> None:
    """Our deliberate difference from lmprobe: the refit on the selected layers keeps them."""
    pytest.importorskip("skglm")
    from lmprobe.scaling import PerLayerScaler
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    X, y, Xt = _data(2, seed=11, layers=4)
    w = np.linspace(0.5, 2.0, N)
    body = _body(
        X,
        y,
        "logistic_regression",
        layer_selection={"mode": "auto", "alpha": 0.02},
        preprocessing=["pca:5"],
        mass_mean_augment=True,
        sample_weight=w.tolist(),
    )
    state = fit(body)
    sel = state["selected"]
    Xs = X[:, sel, :].reshape(N, -1)
    sc = PerLayerScaler(len(sel), H).fit(Xs)
    Xsc = sc.transform(Xs)
    d = Xsc[y == 1].mean(0) - Xsc[y == 0].mean(0)
    d = d / np.linalg.norm(d)
    pca = PCA(n_components=5).fit(Xsc)
    clf = LogisticRegression(max_iter=1000, random_state=0).fit(
        np.column_stack([pca.transform(Xsc), Xsc @ d]), y, sample_weight=w
    )
    Xts = sc.transform(Xt[:, sel, :].reshape(len(Xt), -1))
    ref = clf.predict_proba(np.column_stack([pca.transform(Xts), Xts @ d]))
    proba, _ = score_state(state, Xt)
    assert np.abs(proba - ref).max() < 1e-6


def test_ensemble_sample_weight_and_kwargs_are_kept() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y, Xt = _data(2, seed=12, layers=1)
    w = np.linspace(0.2, 2.0, N)
    kwargs = {"C_values": [0.1, 1.0], "tol": 1e-6}
    before = copy.deepcopy(kwargs)
    state = fit(_body(X, y, "ensemble", classifier_kwargs=kwargs, sample_weight=w.tolist()))
    assert kwargs == before  # not mutated (lmprobe pops C_values)
    sc = StandardScaler().fit(X[:, 0])
    members = [
        LogisticRegression(C=c, max_iter=1000, random_state=0, tol=1e-6).fit(sc.transform(X[:, 0]), y, sample_weight=w)
        for c in (0.1, 1.0)
    ]
    ref = np.mean([m.predict_proba(sc.transform(Xt[:, 0])) for m in members], axis=0)
    proba, _ = score_state(state, Xt)
    assert len(state["model"]["members"]) == 2
    assert np.abs(proba - ref).max() < 1e-6
    np.testing.assert_allclose(state["model"]["coef"], np.mean([m.coef_ for m in members], axis=0), rtol=1e-9)


def test_score_rpc_unknown_handle() -> None:
    with pytest.raises(WorkerFailure) as info:
        score_rpc({"handle": "nope", "X": np.zeros((1, 3), np.float32)})
    assert info.value.code == "NOT_FITTED" and "refit" in str(info.value)


def test_opaque_registry_is_bounded() -> None:
    from lmprobe_worker.fitting import export

    X, y, _ = _data(2, seed=13, layers=1)
    body = _body(X, y, {"estimator": "sklearn.tree.DecisionTreeClassifier", "params": {"max_depth": 1}})
    first = fit(body)["model"]["handle"]
    for _ in range(export.OPAQUE_LIMIT):
        fit(body)
    with pytest.raises(WorkerFailure):
        score_rpc({"handle": first, "X": np.zeros((1, H), np.float32)})


def _bad(change: Any, code: str, needle: str) -> None:
    X, y, _ = _data(2, seed=14)
    body = _body(X.copy(), y, "logistic_regression")
    change(body)
    with pytest.raises(WorkerFailure) as info:
        fit(body)
    assert info.value.code == code, str(info.value)
    assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "change, code, needle",
    [
        (lambda b: b["X"].__setitem__((0, 0, 0), np.nan), "BAD_ACTIVATIONS", "NaN"),
        (lambda b: b["X"].__setitem__((1, 2, 3), np.inf), "BAD_ACTIVATIONS", "infinite"),
        (lambda b: b.update(y=[0, 1, 0]), "BAD_REQUEST", "3 labels for 60"),
        (lambda b: b.update(y=[1] * N), "BAD_REQUEST", "one class"),
        (lambda b: b.update(sample_weight=[1.0] * 5), "BAD_REQUEST", "sample_weight has 5"),
        (lambda b: b.update(preprocessing=["pca"]), "BAD_REQUEST", "pca_components"),
        (lambda b: b.update(preprocessing=["whiten"]), "BAD_REQUEST", "unknown preprocessing"),
        (
            lambda b: b.update(X=b["X"][:, :1], layer_selection={"mode": "auto", "alpha": 0.01}),
            "BAD_REQUEST",
            "at least 2 candidate layers",
        ),
        (
            lambda b: b.update(classifier="mass_mean", sample_weight=[1.0] * N),
            "BAD_REQUEST",
            "not supported by the mass_mean",
        ),
        (
            lambda b: b.update(classifier="lda", sample_weight=[1.0] * N),
            "BAD_REQUEST",
            "sample_weight is not supported",
        ),
        (lambda b: b.update(classifier="xgboost"), "BAD_REQUEST", "unknown classifier 'xgboost'"),
        (lambda b: b.update(classifier={"estimator": "os.system", "params": {}}), "BAD_REQUEST", "is not allowed"),
        (lambda b: b.update(classifier={"estimator": "sklearnx.evil.Thing"}), "BAD_REQUEST", "is not allowed"),
        (lambda b: b.update(classifier={"estimator": "sklearn.utils.Bunch"}), "BAD_REQUEST", "is not allowed"),
        (lambda b: b.update(classifier={"estimator": "sklearn.svm.libsvm"}), "BAD_REQUEST", "is not allowed"),
        (
            lambda b: b.update(classifier={"estimator": "sklearn.linear_model.Nope"}),
            "BAD_REQUEST",
            "not a scikit-learn",
        ),
        (
            lambda b: b.update(classifier={"estimator": "sklearn.linear_model.Ridge", "params": {"bogus": 1}}),
            "BAD_REQUEST",
            "bad parameters",
        ),
        (lambda b: b.update(classifier_kwargs={"bogus": 1}), "BAD_REQUEST", "bad parameters for logistic_regression"),
        (lambda b: b.update(classifier="sgd_gpu", y=[i % 3 for i in range(N)]), "BAD_REQUEST", "binary only"),
        (lambda b: b.update(normalize_layers="per_token"), "BAD_REQUEST", "normalize_layers"),
        (lambda b: b.update(X=np.zeros((N, 4), np.float32)), "BAD_REQUEST", "(n, n_layers, hidden)"),
        (
            lambda b: b.update(
                classifier={"estimator": "sklearn.tree.DecisionTreeClassifier"},
                layer_selection={"mode": "fast_auto", "top_k": 1},
            ),
            "BAD_REQUEST",
            "needs a linear classifier",
        ),
    ],
)
def test_errors(change: Any, code: str, needle: str) -> None:
    _bad(change, code, needle)


def test_classifier_kwargs_override_defaults_and_are_not_mutated() -> None:
    X, y, Xt = _data(2, seed=15)
    kwargs = {"C": 0.05}
    compare("logistic_regression/variants", _body(X, y, "logistic_regression", classifier_kwargs=kwargs), Xt)
    assert kwargs == {"C": 0.05}


def test_zz_report(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\nmax |Δproba| vs lmprobe 0.10.3 (|Δvalue| for regression): same features / end to end")
        for name, (model_delta, delta) in sorted(MEASURED.items()):
            print(f"  {name:45s} {model_delta:.1e}  {delta:.1e}")


@pytest.mark.parametrize(
    "classifier",
    ["ensemble", "svm", "mass_mean", {"estimator": "sklearn.tree.DecisionTreeClassifier", "params": {"max_depth": 2}}],
)
def test_request_and_result_survive_the_wire(classifier: Any) -> None:
    """Decoded request arrays are read-only frames; every result must encode (no numpy scalars)."""
    from lmprobe_worker.protocol import decode, encode

    X, y, Xt = _data(2, seed=16)
    body = _body(
        X,
        y,
        classifier,
        preprocessing=["standard", "pca"],
        pca_components=3,
        mass_mean_augment=True,
        layer_selection={"mode": "fast_auto", "top_k": 2} if isinstance(classifier, str) else None,
    )
    frames = encode({"kind": "request"}, body)
    _, decoded = decode([bytes(f) for f in frames])
    assert not decoded["X"].flags.writeable
    state = fit(decoded)
    _, back = decode([bytes(f) for f in encode({"kind": "reply"}, state)])
    p1, l1 = score_state(state, Xt)
    p2, l2 = score_state(back, Xt)
    assert (l1 == l2).all() and (p1 is None or np.array_equal(p1, p2))
    if back["model"]["kind"] == "opaque":
        out = score_rpc({"handle": back["model"]["handle"], "X": _transform(back, Xt).astype(np.float32)})
        _, again = decode([bytes(f) for f in encode({"kind": "reply"}, out)])
        assert again["predict"].dtype == np.int64 and again["proba"].shape == (len(Xt), 2)


def test_fast_auto_multiclass_uses_every_coefficient_row() -> None:
    """lmprobe flattens a (3, f) coef_ and mislabels the blocks; we take each layer's block over all rows."""
    from lmprobe.scaling import PerLayerScaler
    from sklearn.linear_model import LogisticRegression

    X, y, _ = _data(3, seed=17, layers=4)
    state = fit(_body(X, y, "logistic_regression", layer_selection={"mode": "fast_auto", "top_k": 2}))
    Xs = PerLayerScaler(4, H).fit_transform(X.reshape(N, -1))
    W = LogisticRegression(max_iter=1000, random_state=0).fit(Xs, y).coef_
    want = np.linalg.norm(W.reshape(3, 4, H).transpose(1, 0, 2).reshape(4, -1), axis=1)
    np.testing.assert_allclose(state["importances"], want, rtol=1e-6)
    assert state["selected"] == sorted(np.argsort(want)[-2:].tolist())
