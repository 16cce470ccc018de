"""Search overhead, run by hand: python -m pytest tests/benchmarks/test_search_speed.py --benchmark-only

Targets (issue 5): random search with 200 queries x 100 seeds on one task in under 2 s;
the runner adds under 5% to a method's own time. ``extra_info`` records, per method, the
share of the runs' wall time spent outside the method's own ask/tell (oracle lookups,
recording, scoring): runner_overhead = (wall - method) / method.
"""
from __future__ import annotations

import pytest

from nasbench_meta.search import run_seeds


def test_random_search_200_queries_100_seeds(benchmark, bench) -> None:
    run_seeds(bench, "cora", "rs", seeds=2, budget=200, progress=False)  # warm the table caches
    results = benchmark.pedantic(run_seeds, args=(bench, "cora", "rs"),
                                 kwargs={"seeds": 100, "budget": 200, "progress": False}, rounds=3, iterations=1)
    assert len(results["runs"]) == 100 and all(r["num_queries"] == 200 for r in results["runs"])


@pytest.mark.parametrize("method", ["rs", "re", "ls", "bananas"])
def test_runner_overhead(benchmark, bench, method: str) -> None:
    seeds = 3 if method == "bananas" else 20
    run_seeds(bench, "cora", method, seeds=1, budget=100, progress=False)  # imports, caches
    results = benchmark.pedantic(run_seeds, args=(bench, "cora", method),
                                 kwargs={"seeds": seeds, "budget": 100, "progress": False}, rounds=3, iterations=1)
    wall = sum(r["timing"]["wall_s"] for r in results["runs"])
    own = sum(r["timing"]["method_s"] for r in results["runs"])
    benchmark.extra_info.update({"method_s": own, "runner_s": wall - own,
                                 "runner_overhead": (wall - own) / own})
