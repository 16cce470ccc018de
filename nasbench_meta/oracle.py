"""What a NAS method may see during search: validation results, counted.

The oracle holds the validation column only, so a search cannot reach test values
through it; test results come out of scoring after the search has ended.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

import numpy as np

from nasbench_meta.spaces import SearchSpace, UnknownArchitectureError

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark


class BudgetExhaustedError(RuntimeError):
    pass


class Observation(NamedTuple):
    """What one query reveals (a named tuple: a search makes millions of them)."""

    key: int
    valid_score: float
    cost: float
    repeated: bool  # True if the architecture (up to isomorphism) was queried before


class SearchOracle:
    """Validation scores of one task, charged per distinct architecture."""

    def __init__(self, space: SearchSpace, task: str, keys: np.ndarray, valid: np.ndarray,
                 cost: "np.ndarray | None" = None, budget: "int | None" = None,
                 rows: "Mapping[int, int] | None" = None, candidates: "np.ndarray | None" = None) -> None:
        """``rows`` maps key -> row of ``valid`` and ``candidates`` are the keys with a score;
        pass shared ones to make construction cheap."""
        self.space, self.task, self.budget = space, task, budget
        self._valid, self._cost = valid, cost
        self._rows = rows if rows is not None else dict(zip(keys.tolist(), range(len(keys))))
        if candidates is None:
            candidates = keys[~np.isnan(valid)]
            candidates.setflags(write=False)
        self._candidates = candidates
        self.history: list[Observation] = []
        self._seen: set[int] = set()
        self.total_cost = 0.0

    @classmethod
    def from_benchmark(cls, bench: "Benchmark", task: str, budget: "int | None" = None) -> "SearchOracle":
        valid = bench.scores(task, split="valid", seeds="mean")  # read-only, shared
        cost_metric = bench.task_info(task).get("cost_metric") or None
        cost = bench.metric(task, cost_metric) if cost_metric else None
        return cls(bench.space, task, bench.keys, valid, cost, budget, rows=bench.row_map(),
                   candidates=bench.scored_keys(task, split="valid", seeds="mean"))

    @property
    def num_queries(self) -> int:
        """Distinct architectures queried so far (what the budget counts)."""
        return len(self._seen)

    @property
    def candidates(self) -> np.ndarray:
        """Keys the task covers: the architectures a method may propose."""
        return self._candidates

    def query(self, arch: Any) -> Observation:
        """Reveal the validation score; re-querying an architecture is free and flagged."""
        key = int(arch) if isinstance(arch, (int, np.integer)) else self.space.key(arch)
        row = self._find(key)
        if row is None:
            key = self.space.key(key)  # canonicalise or raise a clear error
            row = self._find(key)
            if row is None:
                raise UnknownArchitectureError(f"task {self.task} has no architecture with key {key}")
        repeated = key in self._seen
        if not repeated and self.budget is not None and len(self._seen) >= self.budget:
            raise BudgetExhaustedError(f"budget of {self.budget} queries on {self.task} is spent")
        cost = 0.0 if repeated or self._cost is None else float(self._cost[row])
        obs = Observation(key, float(self._valid[row]), cost, repeated)
        self._seen.add(key)
        self.total_cost += cost
        self.history.append(obs)
        return obs

    def _find(self, key: int) -> "int | None":
        row = self._rows.get(key)
        return None if row is None or self._valid[row] != self._valid[row] else row  # NaN: not covered

    def query_batch(self, archs: Any) -> list[Observation]:
        return [self.query(a) for a in archs]
