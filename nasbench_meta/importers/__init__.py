"""Builders that turn upstream benchmark releases into nasbench-meta HDF5 files."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from nasbench_meta.importers import nas_bench_graph
from nasbench_meta.store import BenchmarkContent

BUILDERS: dict[str, Callable[[], BenchmarkContent]] = {
    nas_bench_graph.NAME: nas_bench_graph.load_content,
}
DESCRIPTIONS: dict[str, str] = {nas_bench_graph.NAME: nas_bench_graph.DESCRIPTION}


def unknown_benchmark_message(name: str) -> str:
    return f"unknown benchmark {name!r}; known: {', '.join(sorted(BUILDERS))}"


def builder(name: str) -> Callable[[], BenchmarkContent]:
    try:
        return BUILDERS[name]
    except KeyError:
        raise LookupError(unknown_benchmark_message(name)) from None


def build(name: str, path: Path) -> Path:
    """Import a benchmark from its upstream source and write it atomically to ``path``."""
    from nasbench_meta.store import write_benchmark

    return write_benchmark(builder(name)(), path)
