import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from lmprobe_worker.fit import fit
from lmprobe_worker.protocol import WorkerFailure


def _data(n_layers: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, n_layers, 6)).astype(np.float32) * np.float32(3) + np.float32(1)
    y = np.array([0, 1] * 20)
    X[y == 1, :, 0] += 2
    X[:, 0, 5] = 7  # a constant neuron: its std is 0 and must become 1
    return X, y


def test_one_layer_uses_sklearn_standard_scaler_like_lmprobe() -> None:
    X, y = _data(1)
    state = fit({"X": X, "y": y, "classifier": "logistic_regression", "random_state": 0})
    ref = StandardScaler().fit(X[:, 0])
    assert state["scaler"]["kind"] == "standard"
    np.testing.assert_array_equal(state["scaler"]["mean"], ref.mean_)
    np.testing.assert_array_equal(state["scaler"]["scale"], ref.scale_)
    clf = LogisticRegression(max_iter=1000, random_state=0).fit(ref.transform(X[:, 0]), y)
    np.testing.assert_allclose(state["model"]["coef"], clf.coef_, rtol=1e-10)
    assert state["model"]["classes"] == [0, 1]
    assert state["model"]["link"] == "logistic"


@pytest.mark.parametrize("strategy", ["per_neuron", "per_layer"])
def test_multi_layer_scaling_matches_lmprobe_per_layer_scaler(strategy: str) -> None:
    from lmprobe.scaling import PerLayerScaler  # the parity oracle, installed for tests

    X, y = _data(3)
    state = fit({"X": X, "y": y, "classifier": "logistic_regression", "normalize_layers": strategy})
    ref = PerLayerScaler(3, 6, strategy).fit(X.reshape(40, -1))
    flat = X.reshape(40, -1)
    ours = (flat - state["scaler"]["mean"]) / state["scaler"]["scale"]
    np.testing.assert_array_equal(ours.astype(np.float32), ref.transform(flat))


def test_no_scaler_when_normalization_is_off_for_several_layers() -> None:
    X, y = _data(2)
    assert fit({"X": X, "y": y, "classifier": "logistic_regression", "normalize_layers": False})["scaler"] == {"kind": "none"}


def test_multiclass_exports_softmax_rows() -> None:
    X, _ = _data(1)
    y = np.arange(40) % 3
    state = fit({"X": X, "y": y, "classifier": "logistic_regression"})
    assert state["model"]["link"] == "softmax"
    assert state["model"]["coef"].shape == (3, 6)


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda b: b.update(y=np.zeros(40, dtype=int)), "BAD_REQUEST"),
        (lambda b: b["X"].__setitem__((0, 0, 0), np.nan), "BAD_ACTIVATIONS"),
        (lambda b: b.update(y=np.zeros(3, dtype=int)), "BAD_REQUEST"),
        (lambda b: b.update(classifier="xgboost"), "BAD_REQUEST"),
    ],
)
def test_bad_requests_fail_with_codes(change, code: str) -> None:
    X, y = _data(1)
    body = {"X": X.copy(), "y": y, "classifier": "logistic_regression"}
    change(body)
    with pytest.raises(WorkerFailure) as info:
        fit(body)
    assert info.value.code == code
