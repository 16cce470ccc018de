"""Shared fixtures: a benchmark built from the installed nas-bench-graph package, and data roots."""
from __future__ import annotations

import os

# Idle OpenMP threads spin-wait by default; on a busy 2-core CI machine that made XGBoost and
# torch tests up to 15x slower. Must be set before torch / xgboost are imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import shutil  # noqa: E402
from pathlib import Path

import pytest

from nasbench_meta.benchmark import Benchmark, open_benchmark
from nasbench_meta.importers import build
from nasbench_meta.paths import benchmark_path

SHARED_PLANETOID = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "planetoid"


@pytest.fixture(scope="session")
def bench_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding nas-bench-graph.h5, built once per test session."""
    root = tmp_path_factory.mktemp("nasbench-meta-home")
    build("nas-bench-graph", benchmark_path("nas-bench-graph", root))
    return root


@pytest.fixture(scope="session")
def bench(bench_root: Path) -> Benchmark:
    return open_benchmark("nas-bench-graph", root=bench_root)


@pytest.fixture(scope="session")
def planetoid_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Writable Planetoid root: a copy of $NASBENCH_META_DATA or of ../shared/data/planetoid, else
    empty (PyG downloads)."""
    root = tmp_path_factory.mktemp("planetoid")
    given = Path(os.environ.get("NASBENCH_META_DATA") or SHARED_PLANETOID).expanduser()
    if given.is_dir():
        shutil.copytree(given, root, dirs_exist_ok=True)
    return root


@pytest.fixture
def private_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Predictors a test registers stay in that test: a copy of the registry with every built-in
    loaded first (a copy taken before they load would lose them for the tests after)."""
    from nasbench_meta.predictors import registry

    registry.available_predictors()
    monkeypatch.setattr(registry, "PREDICTORS", dict(registry.PREDICTORS))
