"""Speed of the training harness: straightforward PyG loop vs the fast batched path.

Run by hand:  python -m pytest tests/benchmarks/test_harness_speed.py --benchmark-only
Both trainers train the same seeded sample of Cora architectures for 3 seeds with the full
protocol (set NASBENCH_META_BENCH_EPOCHS to time fewer epochs; per-epoch cost is constant,
so times scale linearly). One round each: a naive round takes minutes. The fast path is timed
with float32 products (the default) and with bfloat16 ones (``precision="bfloat16"``).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from nasbench_meta.harness.data import load_task
from nasbench_meta.harness.train import train_naive, train_seeds
from nasbench_meta.spaces import NasBenchGraphSpace

EPOCHS = int(os.environ.get("NASBENCH_META_BENCH_EPOCHS", "400"))
SEEDS = [0, 1, 2]
ARCHS = [int(k) for k in np.random.default_rng(0).choice(NasBenchGraphSpace().keys(), 3, replace=False)]


@pytest.fixture(scope="module")
def cora(planetoid_root):
    return load_task("cora", planetoid_root)


@pytest.mark.parametrize("key", ARCHS)
def test_naive_three_seeds(benchmark, cora, key):
    benchmark.extra_info.update(arch=NasBenchGraphSpace().format(key), epochs=EPOCHS, seeds=len(SEEDS))
    benchmark.pedantic(lambda: [train_naive(key, "cora", cora, s, epochs=EPOCHS) for s in SEEDS],
                       rounds=1, iterations=1)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("key", ARCHS)
def test_fast_three_seeds(benchmark, cora, key, precision):
    benchmark.extra_info.update(arch=NasBenchGraphSpace().format(key), epochs=EPOCHS, seeds=len(SEEDS),
                                precision=precision)
    benchmark.pedantic(lambda: train_seeds(key, "cora", cora, SEEDS, epochs=EPOCHS, precision=precision),
                       rounds=1, iterations=1)


SAMPLE = [int(k) for k in np.random.default_rng(123).choice(NasBenchGraphSpace().keys(), 12, replace=False)]
SAMPLE_EPOCHS = 40


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_fast_random_sample(benchmark, cora, precision):
    """The three architectures above are few; this times a wider seeded sample at 40 epochs each
    (3 seeds; 400-epoch time per architecture = 10x its time here, in ``extra_info``)."""
    def run() -> dict[str, float]:
        times = {}
        for key in SAMPLE:
            runs = train_seeds(key, "cora", cora, SEEDS, epochs=SAMPLE_EPOCHS, precision=precision)
            times[NasBenchGraphSpace().format(key)] = sum(r.train_time_s for r in runs) * 400 / SAMPLE_EPOCHS
        return times

    times = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(epochs=SAMPLE_EPOCHS, seeds=len(SEEDS), precision=precision,
                                seconds_per_400_epochs=times,
                                mean_seconds_per_400_epochs=float(np.mean(list(times.values()))))
