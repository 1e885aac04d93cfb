"""The three classifiers lmprobe defines itself, written for the worker.

They follow lmprobe 0.10.3's algorithms (the parity oracle) so that fitted models agree with it,
with two deliberate differences: the ensemble accepts ``sample_weight`` and keeps extra keyword
arguments when cloned (lmprobe's drops them), and nothing here mutates the caller's kwargs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


def _sigmoid_two_columns(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    p = np.empty_like(s)
    nonneg = s >= 0
    p[nonneg] = 1.0 / (1.0 + np.exp(-s[nonneg]))
    e = np.exp(s[~nonneg])
    p[~nonneg] = e / (1.0 + e)
    return np.column_stack([1.0 - p, p])


class MassMeanClassifier(ClassifierMixin, BaseEstimator):
    """Difference-of-class-means direction with a midpoint threshold and Platt-calibrated proba.

    Labels must be 0/1. ``coef_`` is the unit direction mean(X|1) - mean(X|0); ``intercept_`` puts
    the threshold halfway between the projected class means; probabilities come from a
    one-feature logistic regression (lbfgs, max_iter=1000, C=1) fitted on the decision scores.
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> MassMeanClassifier:
        y = np.asarray(y)
        pos, neg = X[y == 1], X[y == 0]
        if len(pos) == 0 or len(neg) == 0:
            raise ValueError("mass_mean needs at least one sample of class 0 and one of class 1")
        self.classes_ = np.array([0, 1])
        self.mean_positive_ = pos.mean(axis=0)
        self.mean_negative_ = neg.mean(axis=0)
        direction = self.mean_positive_ - self.mean_negative_
        length = np.linalg.norm(direction)
        self.coef_ = direction / length if length > 0 else direction
        midpoint = np.dot(self.mean_positive_, self.coef_) + np.dot(self.mean_negative_, self.coef_)
        self.intercept_ = -midpoint / 2
        self.calibrator_ = LogisticRegression(max_iter=1000, solver="lbfgs")
        self.calibrator_.fit(self.decision_function(X).reshape(-1, 1), y)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef_ + self.intercept_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.decision_function(X) >= 0).astype(int)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.calibrator_.predict_proba(self.decision_function(X).reshape(-1, 1))


class EnsembleClassifier(ClassifierMixin, BaseEstimator):
    """One LogisticRegression per C in ``C_values``; proba is the members' mean, coef_ the mean coef."""

    DEFAULT_C_VALUES = (0.01, 0.1, 0.5, 1.0, 5.0)

    def __init__(
        self,
        C_values: list[float] | None = None,
        solver: str = "lbfgs",
        max_iter: int = 1000,
        random_state: int | None = None,
        lr_params: dict[str, Any] | None = None,
    ) -> None:
        self.C_values = C_values
        self.solver = solver
        self.max_iter = max_iter
        self.random_state = random_state
        self.lr_params = lr_params

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> EnsembleClassifier:
        cs = list(self.DEFAULT_C_VALUES if self.C_values is None else self.C_values)
        if not cs:
            raise ValueError("C_values must not be empty")
        extra = dict(self.lr_params or {})
        self.estimators_ = [
            LogisticRegression(
                C=c, solver=self.solver, max_iter=self.max_iter, random_state=self.random_state, **extra
            ).fit(X, y, sample_weight=sample_weight)
            for c in cs
        ]
        self.classes_ = self.estimators_[0].classes_
        self.coef_ = np.mean([m.coef_ for m in self.estimators_], axis=0)
        self.intercept_ = np.mean([m.intercept_ for m in self.estimators_], axis=0)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.mean([m.predict_proba(X) for m in self.estimators_], axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class SGDGPUClassifier(ClassifierMixin, BaseEstimator):
    """Binary logistic regression trained with minibatch SGD in torch (GPU when available).

    Same procedure as lmprobe's: seed torch with ``random_state`` before building ``Linear(d, 1)``;
    ``torch.optim.SGD(lr, weight_decay)``; per epoch a numpy ``default_rng(random_state)``
    permutation split into minibatches; mean of (optionally sample-weighted) BCE-with-logits;
    optional cosine / reduce-on-plateau schedule and early stopping on the epoch loss (restoring
    the best weights). Labels must be 0/1.
    """

    SCHEDULERS = (None, "cosine", "reduce_on_plateau")

    def __init__(
        self,
        lr: float = 0.01,
        epochs: int = 100,
        batch_size: int = 256,
        weight_decay: float = 1e-4,
        device: str = "auto",
        scheduler: str | None = None,
        verbose: bool = False,
        early_stopping: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.device = device
        self.scheduler = scheduler
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.random_state = random_state

    def _torch_device(self) -> Any:
        import torch

        if self.device != "auto":
            return torch.device(self.device)
        if torch.cuda.is_available():
            try:
                probe = torch.ones(1, device="cuda")
                (probe + probe).cpu()
                return torch.device("cuda")
            except RuntimeError:
                pass
        return torch.device("cpu")

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> SGDGPUClassifier:
        import torch

        if self.scheduler not in self.SCHEDULERS:
            raise ValueError(f"unknown scheduler {self.scheduler!r}; use None, 'cosine' or 'reduce_on_plateau'")
        dev = self._torch_device()
        feats = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        target = torch.from_numpy(np.asarray(y, dtype=np.float32))
        weights = None if sample_weight is None else torch.from_numpy(np.asarray(sample_weight, dtype=np.float32))
        n = feats.shape[0]
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        linear = torch.nn.Linear(feats.shape[1], 1).to(dev)
        opt = torch.optim.SGD(linear.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if self.scheduler == "cosine":
            sched: Any = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs)
        elif self.scheduler == "reduce_on_plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", patience=5, factor=0.5)
        else:
            sched = None
        bce = torch.nn.BCEWithLogitsLoss(reduction="none")
        order_rng = np.random.default_rng(self.random_state)
        self.train_loss_: list[float] = []
        best, best_weights, stale = float("inf"), None, 0
        for _epoch in range(self.epochs):
            order = torch.from_numpy(order_rng.permutation(n))
            total, seen = 0.0, 0
            for lo in range(0, n, self.batch_size):
                rows = order[lo : lo + self.batch_size]
                per_row = bce(linear(feats[rows].to(dev)).squeeze(-1), target[rows].to(dev))
                if weights is not None:
                    per_row = per_row * weights[rows].to(dev)
                loss = per_row.mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(rows)
                seen += len(rows)
            epoch_loss = total / seen
            self.train_loss_.append(epoch_loss)
            if sched is not None:
                sched.step(epoch_loss) if self.scheduler == "reduce_on_plateau" else sched.step()
            if self.early_stopping is not None:
                if epoch_loss < best:
                    best, stale = epoch_loss, 0
                    best_weights = {k: v.detach().clone() for k, v in linear.state_dict().items()}
                else:
                    stale += 1
                    if stale >= self.early_stopping:
                        break
        if best_weights is not None:
            linear.load_state_dict(best_weights)
        with torch.no_grad():
            self.coef_ = linear.weight.detach().cpu().numpy().reshape(-1)
            self.intercept_ = linear.bias.detach().cpu().numpy()
        self.classes_ = np.array([0, 1])
        if dev.type == "cuda":
            del linear, opt
            torch.cuda.empty_cache()
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float32) @ self.coef_ + self.intercept_[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.decision_function(X) >= 0).astype(int)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return _sigmoid_two_columns(self.decision_function(X))
