"""Import the light tables shipped in the PyPI package ``nas-bench-graph``."""
from __future__ import annotations

import hashlib
import importlib.metadata
import pickle
from pathlib import Path

import numpy as np

from nasbench_meta.spaces.nas_bench_graph import PROTEINS_OPS, NasBenchGraphSpace
from nasbench_meta.store import BenchmarkContent, MetricArray, TaskTable

NAME = "nas-bench-graph"
PACKAGE = "nas-bench-graph"
DESCRIPTION = "NAS-Bench-Graph (Qin et al., NeurIPS 2022): 26,206 GNN architectures on 9 graph tasks"
TASKS: tuple[str, ...] = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers",
                          "arxiv", "proteins")
_RANDOM_SPLIT = "20 train + 30 validation nodes per class at random, the rest test"
SPLITS = {
    "cora": "public Planetoid split (140/500/1000)",
    "citeseer": "public Planetoid split (120/500/1000)",
    "pubmed": "public Planetoid split (60/500/1000)",
    "cs": _RANDOM_SPLIT,
    "physics": _RANDOM_SPLIT,
    "photo": _RANDOM_SPLIT + ", on the largest connected component",
    "computers": _RANDOM_SPLIT + ", on the largest connected component",
    "arxiv": "official OGB split (edges symmetrised)",
    "proteins": "official OGB split",
}
SEEDS_PER_ARCH = 3
_AGGREGATION = f"mean over {SEEDS_PER_ARCH} seeds"


def source_dir() -> Path:
    try:
        import nas_bench_graph
    except ImportError:
        raise LookupError(f"the {PACKAGE} package, which this benchmark is built from, is not installed; "
                          f"pip install {PACKAGE}") from None
    return Path(nas_bench_graph.__file__).parent / "light"


def _damaged(path: Path, why: str) -> ValueError:
    return ValueError(f"the {PACKAGE} package's table {path} is damaged ({why}); nothing was written. "
                      f"Reinstall the package: pip install --force-reinstall --no-deps {PACKAGE}")


def _read_task(task: str, path: Path, keys: np.ndarray) -> tuple[TaskTable, bytes]:
    """One task's table from its pickle, or an error naming the file and the fix."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise _damaged(path, f"cannot be read: {err.strerror or err}") from None
    try:
        records = pickle.loads(raw)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means the file is damaged
        raise _damaged(path, f"not a readable pickle: {type(err).__name__}") from None
    if not isinstance(records, dict) or not all(isinstance(r, dict) for r in records.values()):
        raise _damaged(path, "not a mapping of architecture keys to result records")
    try:
        return _task_table(task, records, keys), raw
    except (KeyError, TypeError, ValueError) as err:
        raise _damaged(path, f"{type(err).__name__}: {err}") from None


def load_content() -> BenchmarkContent:
    """Read every task's pickle of the installed package into aligned arrays."""
    space = NasBenchGraphSpace()
    keys = space.keys()
    directory = source_dir()
    tasks, checksums = {}, {}
    for task in TASKS:
        path = directory / f"{task}.bench"
        tasks[task], raw = _read_task(task, path, keys)
        checksums[f"nas_bench_graph/light/{path.name}"] = hashlib.sha256(raw).hexdigest()
    source = {
        "package": PACKAGE,
        "version": importlib.metadata.version(PACKAGE),
        "sha256": checksums,
        "citation": "Qin et al., NAS-Bench-Graph, NeurIPS 2022 Datasets and Benchmarks, arXiv 2206.09166",
        "license": "Apache-2.0",
    }
    return BenchmarkContent(
        name=NAME, space=space.name, keys=keys, arch_columns=space.arch_columns(keys),
        arch_column_attrs=space.column_attrs(), tasks=tasks, source=source,
    )


def _task_table(task: str, records: dict, keys: np.ndarray) -> TaskTable:
    unknown = set(records) - set(keys.tolist())
    if unknown:
        raise ValueError(f"{task}: {len(unknown)} upstream keys are not canonical architectures")
    rows = np.searchsorted(keys, np.fromiter(records, dtype=np.int64))
    metric = "roc_auc" if task == "proteins" else "accuracy"

    def column(field: str) -> np.ndarray:
        out = np.full(len(keys), np.nan)
        out[rows] = [float(r[field]) for r in records.values()]
        return out

    num_seeds = np.zeros(len(keys), dtype=np.int8)
    num_seeds[rows] = SEEDS_PER_ARCH
    metrics = {
        "valid_score": MetricArray(column("valid_perf"), {
            "name": f"validation {metric}", "unit": "fraction", "split": "validation",
            "aggregation": _AGGREGATION, "description": "best validation score over epochs"}),
        "test_score": MetricArray(column("perf"), {
            "name": f"test {metric}", "unit": "fraction", "split": "test",
            "aggregation": _AGGREGATION,
            "description": "test score at the epoch with the lowest validation loss"}),
        "latency_s": MetricArray(column("latency"), {
            "name": "inference latency", "unit": "seconds", "split": "none",
            "aggregation": _AGGREGATION,
            "description": "one full-batch evaluation forward pass, wall clock, no CUDA sync"}),
        "params_m": MetricArray(column("para"), {
            "name": "parameters", "unit": "millions", "split": "none",
            "aggregation": "none (deterministic)", "description": "trainable parameters"}),
        "num_seeds": MetricArray(num_seeds, {
            "name": "number of seeds", "unit": "count", "split": "none", "aggregation": "none",
            "description": "seeds behind each mean; 0 where the task lacks the architecture"}),
    }
    attrs = {
        "metric": metric,
        "description": f"NAS-Bench-Graph {task}",
        "splits": SPLITS[task],
        "num_architectures": len(records),
        "seed_aggregations": ["mean"],
        "cost_metric": "",  # the light tables hold no training time
        "ops": list(PROTEINS_OPS) if task == "proteins" else list(NasBenchGraphSpace().ops),
    }
    return TaskTable(attrs=attrs, metrics=metrics)
