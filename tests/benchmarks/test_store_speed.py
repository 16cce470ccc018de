"""Speed of the store and encodings beside the upstream pickles (run by hand, --benchmark-only)."""
from __future__ import annotations

import pytest
from nas_bench_graph.readbench import light_read

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.encodings import one_hot, pyg_batch, pyg_graphs
from nasbench_meta.importers.nas_bench_graph import TASKS


@pytest.fixture(scope="module")
def path(bench_root):
    return bench_root / "benchmarks" / "nas-bench-graph.h5"


def test_open_and_read_all_validation(benchmark, path):
    def run():
        with Benchmark(path, "nas-bench-graph") as bench:
            return [bench.scores(t, split="valid", seeds="mean") for t in bench.tasks]

    assert len(benchmark(run)) == 9


def test_upstream_load_all_pickles(benchmark):
    assert len(benchmark.pedantic(lambda: [light_read(t) for t in TASKS], rounds=3)) == 9


def test_batch_query_one_task(benchmark, bench):
    bench.scores("cora", split="valid", seeds="mean")  # first read happens once per process
    result = benchmark(lambda: bench.table("cora", seeds="mean"))
    assert len(result) == 26_206


def test_batch_query_numpy(benchmark, bench):
    keys = bench.keys
    result = benchmark(lambda: bench.scores("cora", split="valid", seeds="mean")[bench.rows(keys)])
    assert len(result) == 26_206


def test_upstream_batch_lookup(benchmark):
    table = light_read("cora")
    keys = list(table)
    assert len(benchmark(lambda: [table[k]["valid_perf"] for k in keys])) == 26_206


def test_single_query_by_key(benchmark, bench):
    bench.query("cora", 88887, split="valid", seeds="mean")
    assert benchmark(lambda: bench.query("cora", 88887, split="valid", seeds="mean")) > 0


def test_single_query_by_string(benchmark, bench):
    assert benchmark(lambda: bench.query("cora", "0,0,1,2|gat,gcn,sage,gcn", split="valid", seeds="mean")) > 0


def test_upstream_single_lookup(benchmark):
    table = light_read("cora")
    assert benchmark(lambda: table[88887]["valid_perf"]) > 0


def test_one_hot_all(benchmark, bench):
    assert benchmark(lambda: one_hot(bench.space, bench.keys)).shape[0] == 26_206


def test_pyg_graphs_all(benchmark, bench):
    assert len(benchmark.pedantic(lambda: pyg_graphs(bench.space, bench.keys), rounds=3)) == 26_206


def test_pyg_batch_all(benchmark, bench):
    assert benchmark.pedantic(lambda: pyg_batch(bench.space, bench.keys), rounds=3).num_graphs == 26_206
