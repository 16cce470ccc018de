"""The predictors' stage of ``nasbench-meta demo``: zero- and few-shot predictions for a held-out task."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.predictors.api import fit_for_task, predict_with, unmeasured
from nasbench_meta.predictors.base import kind_of
from nasbench_meta.predictors.evaluation import check_shots, score_run
from nasbench_meta.predictors.registry import predictor_class


def demo_stage(bench: Benchmark, *, holdout: str = "cora", predictor: str = "xgb-meta",
               shots: Sequence[int] = (0, 20), seed: int = 0, top: int = 10,
               config: "dict[str, Any] | None" = None, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Meta-train ``predictor`` on every complete task but ``holdout``, predict ``holdout`` from
    K = each of ``shots`` seeded support architectures, and print the predicted top ``top`` next
    to the table's validation/test scores and true rank, with each K's ranking metrics.

    Returns ``{"predictor", "holdout", "seed", "model" (the fitted predictor), "fit_info", "predictions": {K: pd.Series},
    "metrics": {K: {"valid": {...}, "test": {...}}}}`` (metrics on the non-support architectures).
    """
    bench.task_info(holdout)   # an unknown task or an impossible K fails before the (minutes of) fitting
    cls = predictor_class(predictor)
    check_shots(bench, cls, [holdout], shots)
    echo(f"== predictors: {predictor} ({kind_of(cls)}) fitted on every task but {holdout} (seed {seed}) ==")
    model = fit_for_task(predictor, bench, holdout, seed=seed, split="valid", config=config)
    echo(f"   sources: {', '.join(model.fit_info['source_tasks'])}")
    valid = bench.scores(holdout, split="valid", seeds="mean")
    test = bench.scores(holdout, split="test", seeds="mean")
    keys = bench.task_keys(holdout)
    true_rank = np.empty(len(keys), dtype=np.int64)
    true_rank[np.argsort(-valid[bench.rows(keys)], kind="stable")] = np.arange(1, len(keys) + 1)
    rank_of = dict(zip(keys.tolist(), true_rank.tolist()))
    result: dict[str, Any] = {"predictor": predictor, "holdout": holdout, "seed": seed, "model": model,
                              "fit_info": model.fit_info, "predictions": {}, "metrics": {}}
    for k in shots:
        series = predict_with(model, bench, holdout, shots=k, seed=seed, split="valid")
        unseen = unmeasured(series)
        metrics = score_run(bench, holdout, series.attrs["support_keys"], unseen.values)
        result["predictions"][k], result["metrics"][k] = series, metrics
        m = metrics["valid"]
        echo(f"\n-- K = {k} measured {holdout} architectures: Spearman {m['spearman']:.3f}, "
             f"Kendall {m['kendall']:.3f}, precision@1% {m['precision@1%']:.2f}, "
             f"regret of predicted best {m['regret@1'] * 100:.2f} points (valid) --")
        echo(f"   {'architecture':<34}{'predicted':>10}{'valid':>9}{'test':>9}{'true rank':>11}")
        for key, pred in unseen.sort_values(ascending=False, kind="stable").head(top).items():
            row = bench.row(int(key))
            echo(f"   {bench.space.format(int(key)):<34}{pred:>10.4f}{valid[row]:>9.4f}{test[row]:>9.4f}"
                 f"{rank_of[int(key)]:>8} / {len(keys)}")
    best_key, best = bench.best(holdout, split="valid", seeds="mean")
    echo(f"\n   table's best on {holdout}: {bench.space.format(best_key)} valid {best:.4f}")
    return result
