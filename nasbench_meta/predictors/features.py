"""Rank features shared by the transfer and meta-trained predictors."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from nasbench_meta.benchmark import Benchmark


def rank_normalise(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Average ranks scaled to [0, 1] along ``axis`` (0 = worst, 1 = best; 0.5 for one value).

    Ranks make tasks with different accuracy scales (and metrics) comparable.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    if n <= 1:
        return np.full(values.shape, 0.5)
    return (rankdata(values, axis=axis) - 1.0) / (n - 1.0)


def source_ranks(bench: Benchmark, tasks: list[str], *, split: str) -> np.ndarray:
    """(N, T) float32 rank-normalised scores of every architecture on each source task."""
    columns = [rank_normalise(bench.scores(t, split=split, seeds="mean")) for t in tasks]
    return np.stack(columns, axis=1).astype(np.float32)


def spearman_columns(matrix: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Spearman correlation of ``target`` (K,) with every column of ``matrix`` (K, T); 0 when undefined."""
    if len(target) < 3:
        return np.zeros(matrix.shape[1])
    a = rank_normalise(matrix, axis=0)
    b = rank_normalise(target)
    a = a - a.mean(axis=0)
    b = b - b.mean()
    denom = np.sqrt((a ** 2).sum(axis=0) * (b ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (a * b[:, None]).sum(axis=0) / denom
    return np.nan_to_num(rho, nan=0.0)
