"""A second search space plugs into the store and query API without touching them."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.encodings import one_hot, pyg_batch
from nasbench_meta.spaces import SearchSpace, UnknownArchitectureError, register_space
from nasbench_meta.store import BenchmarkContent, MetricArray, TaskTable, write_benchmark


@register_space
class ChainSpace(SearchSpace):
    """Chains of 3 layers, each 'conv' or 'pool': 8 architectures, keys 0..7."""

    name = "toy-chain"
    LAYERS = ("conv", "pool")

    def keys(self):
        return np.arange(8, dtype=np.int64)

    def architecture(self, key):
        if not 0 <= int(key) < 8:
            raise UnknownArchitectureError(f"key {key} is outside {self.name}")
        return tuple(self.LAYERS[(int(key) >> i) & 1] for i in range(3))

    def key(self, arch):
        return self.parse(arch) if isinstance(arch, (str, int, np.integer)) else sum(
            self.LAYERS.index(layer) << i for i, layer in enumerate(arch))

    def parse(self, text):
        if str(text).isdigit():
            self.architecture(int(text))
            return int(text)
        return self.key(tuple(str(text).split("-")))

    def format(self, key):
        return "-".join(self.architecture(key))

    def arch_columns(self, keys):
        return {"layers": np.array([[(int(k) >> i) & 1 for i in range(3)] for k in keys], dtype=np.int8)}

    def column_attrs(self):
        return {"layers": {"description": "0 conv, 1 pool", "cardinality": 2}}

    def neighbours(self, key):
        return np.array(sorted(int(key) ^ (1 << i) for i in range(3)), dtype=np.int64)

    def graph(self, key):
        nodes = np.array([2] + [(int(key) >> i) & 1 for i in range(3)], dtype=np.int64)
        return nodes, np.array([[0, 1, 2], [1, 2, 3]], dtype=np.int64)

    def node_vocabulary(self):
        return self.LAYERS + ("input",)


def test_a_registered_space_round_trips_through_the_store(tmp_path):
    space = ChainSpace()
    keys = space.keys()
    valid = np.linspace(0.5, 0.9, 8)
    content = BenchmarkContent(
        name="toy", space=space.name, keys=keys, arch_columns=space.arch_columns(keys),
        arch_column_attrs=space.column_attrs(), source={"package": "tests"},
        tasks={"toy-task": TaskTable(
            attrs={"metric": "accuracy", "num_architectures": 8, "seed_aggregations": ["mean"]},
            metrics={"valid_score": MetricArray(valid, {"split": "validation"}),
                     "test_score": MetricArray(valid - 0.1, {"split": "test"}),
                     "num_seeds": MetricArray(np.ones(8, dtype=np.int8), {})})},
    )
    bench = Benchmark(write_benchmark(content, tmp_path / "toy.h5"), "toy")
    assert isinstance(bench.space, ChainSpace)
    assert bench.query("toy-task", "pool-pool-pool", split="valid", seeds="mean") == pytest.approx(0.9)
    assert bench.best("toy-task", split="test", seeds="mean") == (7, pytest.approx(0.8))
    assert bench.oracle("toy-task").query("conv-conv-conv").valid_score == pytest.approx(0.5)
    assert one_hot(bench.space, bench.keys).shape == (8, 6)
    assert pyg_batch(bench.space, bench.keys).num_graphs == 8
