"""Reproduction of the table by real training (slow: hours on 2 CPU cores; opt in with -m slow).

Same as:  nasbench-meta harness batch --task cora --sample 20 --sample-seed 0 --seeds 0 1 2
Runs are stored in the default runs file, so an interrupted run resumes.
"""
from __future__ import annotations

import pytest

from nasbench_meta.harness.runs import RunsStore, runs_path
from nasbench_meta.harness.validate import compare_with_table, format_report


@pytest.mark.slow
@pytest.mark.parametrize("task", ["cora", "citeseer"])
def test_measured_accuracy_reproduces_the_table(bench, planetoid_root, task):
    import numpy as np

    keys = np.random.default_rng(0).choice(bench.task_keys(task), 20, replace=False)
    df, summary = compare_with_table(bench, task, keys, seeds=[0, 1, 2], data_root=planetoid_root,
                                     store=RunsStore(runs_path()))
    print(format_report(df, summary))
    assert summary["measured"] == 20
    assert summary["mae_table_test_points"] <= 1.5
    assert summary["spearman_table_test"] >= 0.8
