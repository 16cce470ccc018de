"""``nasbench-meta demo``: the main job end to end on built-in defaults.

Stages: build the benchmark if missing and summarise it; later stages (predictors,
harness, search, leaderboards) are added as those capabilities land.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.datasets import describe, ensure_built


@dataclass
class DemoConfig:
    root: "str | os.PathLike[str] | None" = None
    holdout: str = "cora"
    seed: int = 0
    out_dir: Path = Path("demo-output")


def stage_dataset(config: DemoConfig) -> Benchmark:
    path, built = ensure_built("nas-bench-graph", config.root)
    print(f"[1] benchmark {'built' if built else 'found'} at {path}")
    bench = Benchmark(path, "nas-bench-graph")
    info = describe(bench)
    print(f"    {info['architectures']} architectures, {len(bench.tasks)} tasks; values are {info['seed_aggregation']}")
    for task, t in info["tasks"].items():
        b = t["best_by_validation"]
        print(f"    {task:<10} {t['architectures']:>6} archs  best by validation {b['arch']:<28} "
              f"valid {b['valid']:.4f} test {b['test']:.4f} ({t['metric']})")
    return bench


def run_demo(config: DemoConfig) -> None:
    stage_dataset(config)
