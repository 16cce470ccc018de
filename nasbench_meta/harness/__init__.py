"""Training harness: build NAS-Bench-Graph architectures as PyG models, train them with the
benchmark's protocol (fast batched-seed path), store runs, and compare with table/predictions.

    from nasbench_meta.harness import load_task, train_seeds
    runs = train_seeds("0,0,1,2|gat,gcn,sage,gcn", "cora", load_task("cora"), seeds=[0, 1, 2])

The names below are imported on first use (PEP 562), so importing a light submodule such as
``nasbench_meta.harness.protocol`` (the command line does) does not import torch or PyG.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nasbench_meta.harness.data import TaskDataError, load_task, planetoid_root
    from nasbench_meta.harness.executors import (DaskExecutor, Job, LocalExecutor, PoolExecutor, make_executor,
                                                 run_jobs)
    from nasbench_meta.harness.models import NasBenchGraphNet, build_model, count_parameters
    from nasbench_meta.harness.protocol import DATASET_SHAPES, PROTOCOLS, Protocol, get_protocol
    from nasbench_meta.harness.runs import RunsStore, runs_path
    from nasbench_meta.harness.train import SeedRun, train_naive, train_seeds
    from nasbench_meta.harness.validate import (compare_with_table, demo_train_best, format_report,
                                                validate_predictions)

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("TaskDataError", "load_task", "planetoid_root"), "data"),
    **dict.fromkeys(("DaskExecutor", "Job", "LocalExecutor", "PoolExecutor", "make_executor", "run_jobs"),
                    "executors"),
    **dict.fromkeys(("NasBenchGraphNet", "build_model", "count_parameters"), "models"),
    **dict.fromkeys(("DATASET_SHAPES", "PROTOCOLS", "Protocol", "get_protocol"), "protocol"),
    **dict.fromkeys(("RunsStore", "runs_path"), "runs"),
    **dict.fromkeys(("SeedRun", "train_naive", "train_seeds"), "train"),
    **dict.fromkeys(("compare_with_table", "demo_train_best", "format_report", "validate_predictions"),
                    "validate"),
}

__all__ = ["DATASET_SHAPES", "DaskExecutor", "Job", "LocalExecutor", "NasBenchGraphNet", "PROTOCOLS",
           "PoolExecutor", "Protocol", "RunsStore", "SeedRun", "TaskDataError", "build_model",
           "compare_with_table", "count_parameters", "demo_train_best", "format_report", "get_protocol",
           "load_task", "make_executor", "planetoid_root", "run_jobs", "runs_path", "train_naive",
           "train_seeds", "validate_predictions"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
