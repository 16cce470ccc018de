"""The search stage of ``nasbench-meta demo``: a short method comparison on a held-out task."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from nasbench_meta.search.experiment import run_seeds
from nasbench_meta.search.report import collect, curves, mean_se, plot_task
from nasbench_meta.search.results import save

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark


def search_demo(bench: "Benchmark", out_dir: "str | os.PathLike[str]", *, task: str = "cora",
                methods: Sequence[str] = ("rs", "re", "ls", "meta"), seeds: int = 5, budget: int = 50,
                checkpoints: Sequence[int] = (10, 20), cache_dir: "str | os.PathLike[str] | None" = None,
                configs: "dict[str, dict[str, Any]] | None" = None) -> dict[str, Any]:
    """Compare ``methods`` on ``task`` (seeds 0..seeds-1, ``budget`` queries each), print a table
    of mean test regret +- SE at the checkpoints and at the budget, write one results file per
    method and the anytime test-regret plot (PNG and SVG) into ``out_dir``.

    "meta" is warm-started by a predictor trained on every other complete task, never on
    ``task`` (``configs``: options per method, e.g. meta's ``predictor_file``). Returns {"results": [json paths], "plots": [png, svg], "rows": [table rows],
    "mean_test_score": {method: mean test score of the chosen architectures}}.
    """
    out_dir = Path(out_dir)
    documents, paths = [], []
    for spec in methods:
        res = run_seeds(bench, task, spec, seeds=seeds, budget=budget, config=(configs or {}).get(spec),
                        cache_dir=cache_dir, progress=False)
        documents.append(res)
        paths.append(save(res, out_dir / f"{res['method']['name']}-{task}.json"))
    marks = sorted({b for b in checkpoints if b < budget} | {budget})
    rows = []
    for res in documents:
        mean, se = mean_se(curves(res, "regret_test"))
        rows.append({"method": res["method"]["name"],
                     **{f"regret_test@{b}": (float(mean[b - 1]), float(se[b - 1])) for b in marks}})
    metric = documents[0].get("metric") or "score"
    print(f"Search on held-out task {task}: test regret ({metric}, best in table minus test score of the "
          f"best-validation architecture found), mean +- SE over {seeds} seeds")
    print(f"{'method':<10}" + "".join(f"{f'after {b} queries':>22}" for b in marks))
    for row in rows:
        print(f"{row['method']:<10}" + "".join(
            f"{row[f'regret_test@{b}'][0]:>13.4f} +- {row[f'regret_test@{b}'][1]:.4f}" for b in marks))
    plots = plot_task(task, collect(documents)[task], "regret_test", out_dir / f"{task}-regret_test")
    print(f"regret plot: {plots[0]}")
    return {"results": paths, "plots": plots, "rows": rows, "mean_test_score": {
        r["method"]["name"]: float(np.mean([run["scores"]["test"] for run in r["runs"]])) for r in documents}}
