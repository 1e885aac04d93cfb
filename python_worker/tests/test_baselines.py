"""The baseline RPCs refuse bad requests with a stable code, and a fitted baseline predicts through
its handle (the parity with lmprobe itself is tested from TypeScript, with the oracle)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.fitting.baselines import BASELINE_LIMIT, baseline_fit, baseline_predict

TEXTS = ["the cat sat", "a dog ran", "cats purr loudly", "dogs bark loudly", "my cat sleeps", "the dog digs"]
Y = [1, 0, 1, 0, 1, 0]


def code_of(body: dict[str, Any], rpc: Any = baseline_fit) -> str:
    with pytest.raises(WorkerFailure) as info:
        rpc(body)
    return info.value.code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"method": "perplexity", "texts": TEXTS, "y": Y}, "BAD_REQUEST"),
        ({"method": "bow", "texts": TEXTS, "y": [1] * 6}, "BAD_REQUEST"),
        ({"method": "bow", "texts": TEXTS, "y": Y[:3]}, "BAD_REQUEST"),
        ({"method": "bow", "texts": [], "y": []}, "BAD_REQUEST"),
        ({"method": "bow", "texts": TEXTS, "y": Y, "random_state": -3}, "BAD_REQUEST"),
        ({"method": "shuffled_labels", "base_method": "pca", "texts": TEXTS, "y": Y}, "BAD_REQUEST"),
        ({"method": "bow", "texts": TEXTS, "y": Y, "classifier": "os.system"}, "BAD_REQUEST"),
        ({"method": "bow", "texts": ["a", "b", "c", "d", "e", "f"], "y": Y}, "INVALID_INPUT"),  # empty vocabulary
        ({"method": "pca", "X": np.full((6, 3), np.nan, dtype=np.float32), "y": Y}, "BAD_ACTIVATIONS"),
        ({"method": "pca", "X": np.zeros((6, 3), dtype=np.float32), "y": Y, "n_components": 0}, "BAD_REQUEST"),
    ],
)
def test_bad_fit_requests(body: dict[str, Any], code: str) -> None:
    assert code_of(body) == code


def test_unknown_handle_is_not_fitted() -> None:
    assert code_of({"handle": "nope", "texts": ["x"]}, baseline_predict) == "NOT_FITTED"


def test_store_keeps_the_last_baselines() -> None:
    first = baseline_fit({"method": "majority", "texts": TEXTS, "y": Y})["handle"]
    for _ in range(BASELINE_LIMIT):
        baseline_fit({"method": "majority", "texts": TEXTS, "y": Y})
    assert code_of({"handle": first, "texts": ["x"]}, baseline_predict) == "NOT_FITTED"


def test_predict_through_the_handle_matches_sklearn() -> None:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    reply = baseline_fit({"method": "bow", "texts": TEXTS, "y": Y, "random_state": 0})
    vec = CountVectorizer(max_features=10000)
    clf = LogisticRegression(max_iter=1000, solver="lbfgs", random_state=0).fit(vec.fit_transform(TEXTS), Y)
    out = baseline_predict({"handle": reply["handle"], "texts": ["a cat", "the dog"]})
    assert reply["classes"] == [0, 1] and reply["n_features"] == len(vec.vocabulary_)
    np.testing.assert_array_equal(out["predict"], clf.predict(vec.transform(["a cat", "the dog"])))
    np.testing.assert_array_equal(out["proba"], clf.predict_proba(vec.transform(["a cat", "the dog"])))
