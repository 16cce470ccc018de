"""Speed targets of the predictors (run by hand, numbers go in the predictor cards):

    python -m pytest tests/benchmarks/test_predictor_speed.py --benchmark-only

- meta-training the GNN (and the deep-kernel GP) on 7 tasks x 26,206 architectures: <= 5 min on 2 CPU cores;
- fitting the XGBoost meta-surrogate on 7 tasks: <= 60 s;
- predicting all 26,206 architectures (K = 20 support): <= 1 s.
"""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_meta.predictors import get_predictor, sample_support, source_tasks_for

TARGET = "cora"


@pytest.fixture(scope="module")
def support(bench):
    keys = sample_support(bench, TARGET, shots=20, seed=0)
    return keys, bench.scores(TARGET, split="valid", seeds="mean")[bench.rows(keys)]


@pytest.mark.parametrize("name", ["xgb-meta", "gnn-meta", "gp-meta"])
def test_meta_training_time(benchmark, bench, name):
    sources = source_tasks_for(bench, TARGET)
    assert len(sources) == 7
    benchmark.pedantic(lambda: get_predictor(name).fit(bench, sources, split="valid", seed=0), rounds=1, iterations=1)


@pytest.mark.parametrize("name", ["mean-rank", "weighted-rank", "xgb-meta", "gnn-meta", "gp-meta", "xgb", "xgb-src"])
def test_predict_all_architectures(benchmark, bench, support, name):
    p = get_predictor(name).fit(bench, source_tasks_for(bench, TARGET), split="valid", seed=0)
    keys, scores = support
    preds = benchmark.pedantic(lambda: p.predict(bench.keys, support_keys=keys, support_scores=scores),
                               rounds=3, iterations=1)
    assert preds.shape == (len(bench.keys),) and np.isfinite(preds).all()
