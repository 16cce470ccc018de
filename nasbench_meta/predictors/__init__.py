"""Accuracy predictors: single-task baselines and predictors meta-trained across tasks.

    from nasbench_meta.predictors import get_predictor, predict_task, load_predictor
    p = get_predictor("xgb-meta").fit(bench, ["citeseer", "pubmed", "cs"], split="valid", seed=0)
    scores = p.predict(keys, support_keys=measured, support_scores=valid_scores)
    series = predict_task("mean-rank", bench, "cora", shots=20, seed=0, split="valid")

See ``base.py`` for the interface and ``evaluation.py`` for the leave-one-task-out protocol.
"""
from nasbench_meta.predictors.api import (check_not_trained_on, fit_for_task, predict_task, predict_with, sample_support,
                                          source_tasks_for, unmeasured)
from nasbench_meta.predictors.base import (NotFittedError, Predictor, UnsupportedTaskError, complete_tasks,
                                           load_predictor)
from nasbench_meta.predictors.demo import demo_stage
from nasbench_meta.predictors.registry import available_predictors, get_predictor, predictor_class, register

__all__ = ["NotFittedError", "Predictor", "UnsupportedTaskError", "available_predictors", "check_not_trained_on",
           "complete_tasks", "demo_stage", "fit_for_task", "get_predictor", "load_predictor", "predict_task",
           "predict_with", "predictor_class", "register", "sample_support", "source_tasks_for", "unmeasured"]
