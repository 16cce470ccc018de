"""One-call use of a predictor on a benchmark task (for the harness and for scripts)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.predictors.base import Predictor, complete_tasks
from nasbench_meta.predictors.registry import get_predictor
from nasbench_meta.seeds import check_seed


def sample_support(bench: Benchmark, task: str, *, shots: int, seed: int) -> np.ndarray:
    """``shots`` distinct keys of ``task`` drawn with ``seed``.

    The draw is a prefix of one seeded permutation, so for a seed the support set at K = 10 is
    contained in the one at K = 20 (K varies while the rest stays fixed).
    """
    seed = check_seed(seed)  # seed=None would draw a support set nobody can draw again
    keys = bench.task_keys(task)
    if isinstance(shots, (bool, np.bool_)) or not isinstance(shots, (int, np.integer)):
        raise TypeError(f"shots must be a whole number of support architectures, got {shots!r}")
    if not 0 <= shots <= len(keys):
        raise ValueError(f"shots must be between 0 and {len(keys)} (the architectures {task} covers), got {shots}")
    return np.random.default_rng(seed).permutation(keys)[:shots]


def source_tasks_for(bench: Benchmark, task: str) -> list[str]:
    """Every complete task except the target: what a meta-predictor may learn from."""
    bench.task_info(task)
    return [t for t in complete_tasks(bench) if t != task]


def fit_for_task(name: "str | type[Predictor]", bench: Benchmark, task: str, *, seed: int, split: str,
                 config: "dict[str, Any] | None" = None) -> Predictor:
    """A predictor fitted on every complete task except ``task`` (never on the target)."""
    seed = check_seed(seed)
    return get_predictor(name, **(config or {})).fit(bench.hiding(task), source_tasks_for(bench, task), split=split,
                                                     seed=seed)   # the target's results unreadable to the fit


def learnt_from(meta: bool, fit_info: "dict[str, Any] | None", task: str) -> bool:
    """Whether a predictor (``meta``: it reads source tasks; ``fit_info``: what it was fitted on)
    learnt from ``task``, so that its scores there would leak the target. Single-task predictors
    never read their source tasks: nothing to leak."""
    return bool(meta) and task in ((fit_info or {}).get("source_tasks") or [])


def check_not_trained_on(predictor: Predictor, task: str) -> None:
    """Refuse to predict ``task`` with a predictor that learnt from it: its scores would leak the
    target (weighted-rank with cora among its sources ranks cora at Spearman 1.00 from K = 20, 0.27
    without it)."""
    if learnt_from(predictor.meta, predictor.fit_info, task):
        sources = predictor.fit_info["source_tasks"]
        raise ValueError(f"{predictor.name} was fitted on {task} (source tasks {sources}); predicting it would "
                         f"leak the target. Fit one without it: fit_for_task({predictor.name!r}, bench, {task!r}, "
                         "seed=..., split=...), or call predictor.predict to score a source task on purpose")


def predict_with(predictor: Predictor, bench: Benchmark, task: str, *, shots: int, seed: int,
                 split: str) -> pd.Series:
    """Predict every key of ``task`` after measuring ``shots`` seeded support architectures.

    A predictor fitted on ``task`` itself is refused (``check_not_trained_on``); ``predictor.predict``
    has no task to check and stays usable for in-sample checks on purpose.
    """
    seed = check_seed(seed)
    bench.task_info(task)  # unknown task -> clear error listing the valid ones
    check_not_trained_on(predictor, task)
    support = sample_support(bench, task, shots=shots, seed=seed)
    scores = bench.scores(task, split=split, seeds="mean")
    keys = bench.task_keys(task)
    preds = predictor.predict(keys, support_keys=support, support_scores=scores[bench.rows(support)])
    series = pd.Series(preds, index=pd.Index(keys, name="key"), name=predictor.name)
    series.attrs.update(task=task, shots=int(shots), seed=seed, split=split,
                        scale=predictor.scale, meta=predictor.meta,
                        support_keys=support.tolist(), fit_info=predictor.fit_info, config=predictor.config)
    return series


def unmeasured(predictions: pd.Series) -> pd.Series:
    """The predictions of architectures outside the support set (``attrs['support_keys']``): a
    predicted top-k that repeats measured architectures would only echo what the predictor was given."""
    return predictions[~predictions.index.isin(predictions.attrs.get("support_keys", []))]


def predict_task(name: "str | type[Predictor]", bench: Benchmark, task: str, *, shots: int, seed: int, split: str,
                 config: "dict[str, Any] | None" = None) -> pd.Series:
    """Meta-train ``name`` on all other complete tasks, adapt from ``shots`` seeded support
    architectures of ``task`` and predict every key the task covers.

    Returns a Series indexed by key (higher is better); ``.attrs`` records the task, shots, seed,
    split, the support keys and what the predictor was fitted on. ``seed`` drives both the
    support draw and the fit; ``split`` ("valid" or "test") is both the sources' split the predictor
    learns from and the target's split the support scores come from.
    """
    seed = check_seed(seed)
    predictor = fit_for_task(name, bench, task, seed=seed, split=split, config=config)
    return predict_with(predictor, bench, task, shots=shots, seed=seed, split=split)
