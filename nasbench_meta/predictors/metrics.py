"""Ranking metrics of predictions against a task's true scores (higher is better for both)."""
from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, spearmanr

METRICS = ("spearman", "kendall", "precision@1%", "precision@5%", "regret@1", "regret@10")


def top_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, best first (ties broken by position: deterministic)."""
    order = np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")
    return order[:k]


def precision_at(pred: np.ndarray, true: np.ndarray, fraction: float) -> float:
    """Share of the true top ``fraction`` that the predicted top ``fraction`` recovers."""
    k = max(1, int(round(fraction * len(true))))
    return len(np.intersect1d(top_indices(pred, k), top_indices(true, k))) / k


def regret_at(pred: np.ndarray, true: np.ndarray, k: int, best: float) -> float:
    """``best`` minus the true score of the best of the predicted top ``k`` (0 = found the best)."""
    return float(best - np.max(true[top_indices(pred, k)]))


def ranking_metrics(pred: np.ndarray, true: np.ndarray, *, best: "float | None" = None) -> dict[str, float]:
    """Every metric of ``METRICS``; ``best`` is the task's best score (default: max of ``true``),
    so regrets measured on the non-support architectures still count what the support holds."""
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 1:
        raise ValueError(f"predictions {pred.shape} and true scores {true.shape} must be equal-length vectors")
    best = float(np.max(true)) if best is None else float(best)
    constant = np.ptp(pred) == 0  # correlations of a constant prediction are undefined: count them as 0
    return {
        "spearman": 0.0 if constant else float(spearmanr(pred, true).statistic),
        "kendall": 0.0 if constant else float(kendalltau(pred, true).statistic),
        "precision@1%": precision_at(pred, true, 0.01),
        "precision@5%": precision_at(pred, true, 0.05),
        "regret@1": regret_at(pred, true, 1, best),
        "regret@10": regret_at(pred, true, 10, best),
    }
