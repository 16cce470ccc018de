"""``nasbench-meta demo``: the main job end to end on built-in defaults.

1. build the benchmark if missing and summarise it;
2. meta-train a predictor on every task but the held-out one and show its zero- and
   few-shot predictions next to the table;
3. train the predicted-best architecture of the held-out task for real and set
   prediction, table and measurement side by side;
4. compare NAS methods on the held-out task (the meta-warm-started one starting from
   stage 2's predictor) and plot their anytime regret;
5. verify the demo's search results against the NAS board and render the boards it touched.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.datasets import describe, ensure_built
from nasbench_meta.seeds import check_seed, check_seed_list


@dataclass
class DemoConfig:
    root: "str | os.PathLike[str] | None" = None
    holdout: str = "cora"
    seed: int = 0
    out_dir: Path = Path("demo-output")
    data_root: "str | os.PathLike[str] | None" = None
    predictor: str = "xgb-meta"
    shots: int = 20
    train_seeds: tuple[int, ...] = (0, 1, 2)
    search_methods: tuple[str, ...] = ("rs", "re", "ls", "meta")
    search_seeds: int = 5
    search_budget: int = 50
    timings: dict[str, float] = field(default_factory=dict)


def _banner(step: int, text: str) -> None:
    print(f"\n[{step}] {text}")


def stage_dataset(config: DemoConfig) -> Benchmark:
    path, built = ensure_built("nas-bench-graph", config.root)
    _banner(1, f"benchmark {'built' if built else 'found'} at {path}")
    bench = Benchmark(path, "nas-bench-graph")
    info = describe(bench)
    print(f"    {info['architectures']} architectures, {len(bench.tasks)} tasks; values are {info['seed_aggregation']}")
    for task, t in info["tasks"].items():
        b = t["best_by_validation"]
        print(f"    {task:<10} {t['architectures']:>6} archs  best by validation {b['arch']:<28} "
              f"valid {b['valid']:.4f} test {b['test']:.4f} ({t['metric']})")
    return bench


def stage_predictors(bench: Benchmark, config: DemoConfig) -> dict[str, Any]:
    from nasbench_meta.predictors import demo_stage

    _banner(2, f"predictor fitted without {config.holdout}: zero- and {config.shots}-shot predictions "
               f"(seed {config.seed}: the fit and the support draw)")
    return demo_stage(bench, holdout=config.holdout, predictor=config.predictor,
                      shots=(0, config.shots), seed=config.seed, top=5)


def stage_harness(bench: Benchmark, predictions: pd.Series, config: DemoConfig) -> "pd.DataFrame | None":
    from nasbench_meta.harness.data import TaskDataError, check_task_data
    from nasbench_meta.harness.validate import demo_train_best
    from nasbench_meta.predictors import unmeasured

    _banner(3, f"training the predicted-best {config.holdout} architecture for real "
               f"(seeds {', '.join(map(str, config.train_seeds))})")
    try:
        check_task_data(config.holdout, config.data_root)
    except TaskDataError as exc:
        print(f"    skipped: {exc}")
        return None
    best = unmeasured(predictions).sort_values(ascending=False, kind="stable").head(1)
    return demo_train_best(bench, config.holdout, best, seeds=config.train_seeds, data_root=config.data_root)


def stage_search(bench: Benchmark, config: DemoConfig, model: Any) -> dict[str, Any]:
    """The methods on the held-out task; "meta" is warm-started by stage 2's predictor (``model``,
    fitted without the held-out task), so the search starts from the predictions shown there."""
    from nasbench_meta.search.demo import search_demo

    _banner(4, f"NAS methods on {config.holdout}: {config.search_budget} queries, seeds 0-{config.search_seeds - 1}"
               f" (meta warm-started by {model.name})")
    predictor_file = model.save(config.out_dir / "search" / f"{model.name}-without-{config.holdout}.npz")
    return search_demo(bench, config.out_dir / "search", task=config.holdout, methods=config.search_methods,
                       seeds=config.search_seeds, budget=config.search_budget,
                       configs={"meta": {"predictor_file": str(predictor_file)}})


def stage_leaderboards(bench: Benchmark, search: dict[str, Any], config: DemoConfig) -> list[Path]:
    from nasbench_meta.leaderboard import demo_stage, make_submission
    from nasbench_meta.search.results import load

    _banner(5, "leaderboards: the demo's search results checked against the NAS board, boards rendered")
    submissions = []
    for path in search["results"]:
        doc = load(path)
        submissions.append(make_submission(
            board="nas", benchmark=bench.name, name=f"demo {doc['method']['name']}", version="demo",
            authors=["nasbench-meta demo"], url="repo:nasbench_meta/demo.py",
            config=doc["method"].get("config", {}), results=[doc],
            notes="nasbench-meta demo: one task, few seeds; boards require more, so it is not shown"))
    return demo_stage(submissions, out_dir=config.out_dir, bench=bench, root=config.root)


def check_config(config: DemoConfig) -> None:
    """What can be checked before the benchmark is built: a bad option fails now, not minutes in."""
    from nasbench_meta.predictors import predictor_class

    check_seed(config.seed)
    check_seed_list(config.train_seeds)
    if isinstance(config.shots, bool) or not isinstance(config.shots, int) or config.shots < 0:
        raise ValueError(f"shots must be a whole number of measured architectures >= 0, got {config.shots!r}")
    if not str(config.out_dir) or str(config.out_dir) == ".":   # "" wrote search/ and leaderboards/ right here
        raise ValueError("--out-dir is empty or '.'; give a folder of the demo's own for its plots and tables, "
                         "e.g. demo-output")
    if Path(config.out_dir).exists() and not Path(config.out_dir).is_dir():
        raise ValueError(f"--out-dir {config.out_dir} is a file; give a folder for the demo's plots and tables")
    if config.data_root is not None and not Path(config.data_root).is_dir():   # given on purpose: no silent skip
        raise ValueError(f"--data-root {config.data_root} is not a directory; give the folder holding Cora/raw "
                         "(or leave --data-root out: the harness stage then uses $NASBENCH_META_DATA or the default, "
                         "and is skipped without data)")
    cls = predictor_class(config.predictor)   # unknown name: a LookupError listing the predictors
    if cls.min_support > 0:
        raise ValueError(f"the demo shows zero-shot predictions, which {cls.name} cannot make (it needs at least "
                         f"{cls.min_support} measured architectures); choose a meta-trained predictor such as "
                         f"{DemoConfig.predictor}")


def run_demo(config: DemoConfig) -> dict[str, Any]:
    check_config(config)
    out: dict[str, Any] = {}
    steps = [
        ("dataset", lambda: stage_dataset(config)),
        ("predictors", lambda: stage_predictors(out["dataset"], config)),
        ("harness", lambda: stage_harness(out["dataset"], out["predictors"]["predictions"][config.shots], config)),
        ("search", lambda: stage_search(out["dataset"], config, out["predictors"]["model"])),
        ("leaderboards", lambda: stage_leaderboards(out["dataset"], out["search"], config)),
    ]
    for name, step in steps:
        start = time.perf_counter()
        out[name] = step()
        config.timings[name] = time.perf_counter() - start
    print("\nstage times: " + ", ".join(f"{k} {v:.0f} s" for k, v in config.timings.items()))
    print(f"outputs in {config.out_dir.resolve()}")
    return out
