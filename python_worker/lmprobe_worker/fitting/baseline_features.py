"""Features of lmprobe 0.10.3's baselines: text features (``BaselineProbe``) and activation
transforms (``ActivationBaseline``), with lmprobe's constructors and seeds.

Text: "bow" is ``CountVectorizer(max_features, ngram_range)``, "tfidf" ``TfidfVectorizer`` with
the same two settings, "sentence_length" three columns (characters, words, characters per word),
"random"/"majority" one column of zeros (a ``DummyClassifier`` ignores it). The vectorizers'
sparse output goes to the classifier as it is (lmprobe densifies only for LDA).
Activations: "random_direction" projects onto a unit vector drawn with
``np.random.RandomState(random_state).randn(d)``, "pca" is ``PCA(min(k, n, d), random_state)``,
"layer_0" uses the activations unchanged (the caller extracted layer 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import WorkerFailure

TEXT_METHODS = ("bow", "tfidf", "random", "majority", "sentence_length", "shuffled_labels")
FEATURE_METHODS = ("bow", "tfidf", "random", "majority", "sentence_length")
ACTIVATION_METHODS = ("random_direction", "pca", "layer_0")


def check_texts(raw: Any, name: str) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
        raise WorkerFailure("BAD_REQUEST", f"{name} must be a non-empty list of strings")
    return raw


def sentence_length(texts: list[str]) -> np.ndarray:
    """lmprobe's length features: len(text), len(text.split()), len / max(words, 1)."""
    rows = []
    for text in texts:
        chars, words = len(text), len(text.split())
        rows.append([chars, words, chars / max(words, 1)])
    return np.array(rows)


def make_vectorizer(method: str, max_features: int | None, ngram_range: tuple[int, int]) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    cls = CountVectorizer if method == "bow" else TfidfVectorizer
    return cls(max_features=max_features, ngram_range=ngram_range)


class TextFeatures:
    """The fitted feature step of a text baseline (a vectorizer, or a fixed function)."""

    def __init__(self, method: str, max_features: int | None, ngram_range: tuple[int, int], dense: bool) -> None:
        if method not in FEATURE_METHODS:
            raise WorkerFailure("BAD_REQUEST", f"unknown text feature method {method!r}")
        self.method = method
        self.dense = dense  # LDA needs dense rows; every other classifier gets the sparse matrix
        self.vectorizer = make_vectorizer(method, max_features, ngram_range) if method in ("bow", "tfidf") else None

    def fit_transform(self, texts: list[str]) -> Any:
        if self.vectorizer is not None:
            try:
                return self._densify(self.vectorizer.fit_transform(texts))
            except ValueError as err:  # e.g. "empty vocabulary; perhaps the documents only contain stop words"
                detail = {"argument": "prompts"}
                raise WorkerFailure("INVALID_INPUT", f"{self.method} baseline: {err}", detail) from None
        return self.transform(texts)

    def transform(self, texts: list[str]) -> Any:
        if self.vectorizer is not None:
            return self._densify(self.vectorizer.transform(texts))
        if self.method == "sentence_length":
            return sentence_length(texts)
        return np.zeros((len(texts), 1))

    def _densify(self, X: Any) -> Any:
        return X.toarray() if self.dense else X


class ActivationTransform:
    """The fitted transform of an activation baseline."""

    def __init__(self, method: str, random_state: int | None, n_components: int) -> None:
        if method not in ACTIVATION_METHODS:
            raise WorkerFailure("BAD_REQUEST", f"unknown activation baseline {method!r}")
        if n_components < 1:
            raise WorkerFailure("BAD_REQUEST", "n_components must be at least 1")
        self.method, self.random_state, self.n_components = method, random_state, n_components
        self.direction: np.ndarray | None = None
        self.pca: Any = None

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        if self.method == "random_direction":
            direction = np.random.RandomState(self.random_state).randn(X.shape[1])
            self.direction = direction / np.linalg.norm(direction)
        elif self.method == "pca":
            from sklearn.decomposition import PCA

            k = min(self.n_components, X.shape[0], X.shape[1])
            self.pca = PCA(n_components=k, random_state=self.random_state)
            return np.asarray(self.pca.fit_transform(X))
        return self.transform(X)

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.method == "random_direction":
            assert self.direction is not None
            return np.asarray((X @ self.direction).reshape(-1, 1))
        if self.method == "pca":
            return np.asarray(self.pca.transform(X))
        return X
