"""Training harness: build NAS-Bench-Graph architectures as PyG models, train them with the
benchmark's protocol (fast batched-seed path), store runs, and compare with table/predictions.

    from nasbench_meta.harness import load_task, train_seeds
    runs = train_seeds("0,0,1,2|gat,gcn,sage,gcn", "cora", load_task("cora"), seeds=[0, 1, 2])
"""
from nasbench_meta.harness.data import TaskDataError, load_task, planetoid_root
from nasbench_meta.harness.executors import (DaskExecutor, Job, LocalExecutor, PoolExecutor, make_executor,
                                             run_jobs)
from nasbench_meta.harness.models import NasBenchGraphNet, build_model, count_parameters
from nasbench_meta.harness.protocol import DATASET_SHAPES, PROTOCOLS, Protocol, get_protocol
from nasbench_meta.harness.runs import RunsStore, runs_path
from nasbench_meta.harness.train import SeedRun, train_naive, train_seeds
from nasbench_meta.harness.validate import (compare_with_table, demo_train_best, format_report,
                                            validate_predictions)

__all__ = ["DATASET_SHAPES", "DaskExecutor", "Job", "LocalExecutor", "NasBenchGraphNet", "PROTOCOLS",
           "PoolExecutor", "Protocol", "RunsStore", "SeedRun", "TaskDataError", "build_model",
           "compare_with_table", "count_parameters", "demo_train_best", "format_report", "get_protocol",
           "load_task", "make_executor", "planetoid_root", "run_jobs", "runs_path", "train_naive",
           "train_seeds", "validate_predictions"]
