"""Build, list and describe the benchmark files under a data directory."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.importers import BUILDERS, DESCRIPTIONS, build, unknown_benchmark_message
from nasbench_meta.paths import benchmark_path
from nasbench_meta.store import BenchmarkFileError, check_place, open_file, read_all

Root = "str | os.PathLike[str] | None"


def ensure_built(name: str, root: Root = None, force: bool = False) -> tuple[Path, bool]:
    """Build ``name`` unless a valid file is already there. Returns (path, built_now)."""
    if name not in BUILDERS:
        raise LookupError(unknown_benchmark_message(name))
    path = benchmark_path(name, root)
    check_place(path)
    if path.is_dir():
        raise BenchmarkFileError(f"{path} is a directory, where the benchmark file goes; move it away and build again")
    if not force and path.exists() and _file_problem(path, name) is None:
        return path, False  # (a broken file holds nothing worth keeping: it is rebuilt)
    return build(name, path), True


def list_benchmarks(root: Root = None) -> list[dict[str, Any]]:
    """Every known benchmark: its file, whether a usable one is built, and what is wrong if not."""
    rows = []
    for name in sorted(BUILDERS):
        path = benchmark_path(name, root)
        problem = _file_problem(path, name) if path.exists() else None
        rows.append({"name": name, "description": DESCRIPTIONS[name], "path": str(path),
                     "built": path.exists() and problem is None, "problem": problem,
                     "size_mb": round(path.stat().st_size / 2**20, 2) if path.is_file() else None})
    return rows


def _file_problem(path: Path, name: str) -> "str | None":
    """Why the file at ``path`` cannot be read as benchmark ``name`` (None: it can). Every array is
    read, so their checksums catch damage inside the data too, not only in the header (8 MB: ms)."""
    try:
        Benchmark(path, name).close()
        with open_file(path, name) as f:
            read_all(f, name)
    except BenchmarkFileError as exc:
        return str(exc)
    return None


def describe(bench: Benchmark) -> dict[str, Any]:
    """Tasks, coverage and the best architecture per task (chosen on validation)."""
    tasks = {}
    for task in bench.tasks:
        info = bench.task_info(task)
        best_valid_key, best_valid = bench.best(task, split="valid", seeds="mean")
        _, best_test = bench.best(task, split="test", seeds="mean")
        tasks[task] = {
            "metric": info["metric"],
            "architectures": int(info["num_architectures"]),
            "splits": info["splits"],
            "best_by_validation": {
                "key": best_valid_key,
                "arch": bench.space.format(best_valid_key),
                "valid": best_valid,
                "test": bench.query(task, best_valid_key, split="test", seeds="mean"),
            },
            "best_test": best_test,
        }
    return {"benchmark": bench.name, "path": str(bench.path), "space": bench.space.name,
            "architectures": len(bench.keys), "seed_aggregation": "mean over 3 seeds",
            "source": bench.attrs.get("source"), "created_utc": bench.attrs.get("created_utc"),
            "schema_version": bench.attrs.get("schema_version"), "tasks": tasks}
