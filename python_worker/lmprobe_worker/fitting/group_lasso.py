"""Layer selection with a group lasso (skglm), as lmprobe's ``layers="auto"`` does it.

Each candidate layer's hidden block is one group; a logistic group-lasso (unit group weights,
GroupProxNewton) is fitted on the scaled candidates with labels mapped 0 -> -1, others -> +1. The
group norms are the importances; a layer is selected when its norm exceeds 1e-6.
"""

from __future__ import annotations

import numpy as np

from ..errors import WorkerFailure

SELECTED_ABOVE = 1e-6


def group_norms(X: np.ndarray, y: np.ndarray, n_layers: int, hidden: int, alpha: float) -> np.ndarray:
    try:
        from skglm import GeneralizedLinearEstimator
        from skglm.datafits import LogisticGroup
        from skglm.penalties import WeightedGroupL2
        from skglm.solvers import GroupProxNewton
        from skglm.utils.data import grp_converter
    except ImportError:
        raise WorkerFailure(
            "BAD_REQUEST", "layer_selection 'auto' needs the skglm package in the worker environment (rerun setup)"
        ) from None
    grp_indices, grp_ptr = grp_converter(hidden, n_layers * hidden)
    estimator = GeneralizedLinearEstimator(
        LogisticGroup(grp_ptr, grp_indices),
        WeightedGroupL2(alpha, np.ones(n_layers), grp_ptr, grp_indices),
        GroupProxNewton(verbose=0),
    )
    estimator.fit(X, np.where(y == 0, -1, 1))
    coef = np.asarray(estimator.coef_).reshape(-1)
    return np.linalg.norm(coef.reshape(n_layers, hidden), axis=1)
