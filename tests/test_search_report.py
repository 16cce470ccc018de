"""Report numbers: standard errors and average ranks."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_meta.search.report import average_ranks, mean_se, summary


def fake(method: str, task: str, curves: list[list[float]]) -> dict:
    return {"method": {"name": method, "config": {}}, "task": task,
            "runs": [{"scores": {"regret_test": c, "regret_valid": c}} for c in curves]}


def test_mean_and_standard_error() -> None:
    mean, se = mean_se(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert mean.tolist() == [2.0, 2.0] and se[0] == pytest.approx(1.0) and se[1] == 0.0


def test_average_rank_over_tasks() -> None:
    table = {"a": {"x": fake("x", "a", [[3, 1]]), "y": fake("y", "a", [[2, 2]])},
             "b": {"x": fake("x", "b", [[1, 1]]), "y": fake("y", "b", [[2, 1]])}}
    ranks = average_ranks(table)
    assert ranks.loc[1].tolist() == [1.5, 1.5]
    assert ranks.loc[2].tolist() == [1.25, 1.75]  # task b ties at 2 queries
    frame = summary(table, [2])
    assert frame.set_index(["task", "method"]).loc[("a", "x"), "mean"] == 1.0
