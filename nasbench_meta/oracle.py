"""What a NAS method may see during search: validation results, counted.

The oracle holds the validation column only, so a search cannot reach test values
through it; test results come out of scoring after the search has ended.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple

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


def covered_scores(keys: np.ndarray, values: np.ndarray) -> dict[int, float]:
    """key -> score of every architecture that has one (NaN: the task does not cover it)."""
    return {k: v for k, v in zip(keys.tolist(), np.asarray(values, dtype=float).tolist()) if v == v}


def check_query_budget(budget: "int | None") -> "int | None":
    """None (no limit) or a positive whole number of distinct queries."""
    if budget is None:
        return None
    if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be a positive number of queries, got {budget!r}")
    return int(budget)


class SearchOracle:
    """Validation scores of one task, charged per distinct architecture."""

    def __init__(self, space: SearchSpace, task: str, keys: np.ndarray, valid: np.ndarray,
                 cost: "np.ndarray | None" = None, budget: "int | None" = None,
                 rows: "Mapping[int, int] | None" = None, candidates: "np.ndarray | None" = None,
                 scores: "Mapping[int, float] | None" = None) -> None:
        """``rows`` maps key -> row of ``valid`` / ``cost``, ``candidates`` are the keys with a
        score and ``scores`` maps each of them to its score; pass shared ones to make
        construction cheap."""
        self.space, self.task, self.budget = space, task, check_query_budget(budget)
        self._cost = cost
        self._rows = rows if rows is not None else dict(zip(keys.tolist(), range(len(keys))))
        self._score_of = scores if scores is not None else covered_scores(keys, valid)
        if candidates is None:
            candidates = keys[~np.isnan(valid)]
            candidates.setflags(write=False)
        self._candidates = candidates
        self.history: list[Observation] = []
        self._seen: set[int] = set()
        self.total_cost = 0.0

    def __repr__(self) -> str:
        spent = f"{self.num_queries} of {self.budget}" if self.budget is not None else f"{self.num_queries}"
        return f"SearchOracle(task={self.task!r}, distinct queries {spent})"

    @classmethod
    def from_benchmark(cls, bench: "Benchmark", task: str, budget: "int | None" = None) -> "SearchOracle":
        valid = bench.scores(task, split="valid", seeds="mean")  # read-only, shared
        cost_metric = bench.task_info(task).get("cost_metric") or None
        cost = bench.metric(task, cost_metric) if cost_metric else None
        return cls(bench.space, task, bench.keys, valid, cost, budget, rows=bench.row_map(),
                   candidates=bench.scored_keys(task, split="valid", seeds="mean"),
                   scores=bench.score_map(task, split="valid", seeds="mean"))

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
        return self.query_batch((arch,))[0]

    def query_batch(self, archs: Iterable[Any]) -> list[Observation]:
        """Reveal the scores of ``archs`` in order, as ``query`` would one by one.

        The search runner's inner loop: one dict lookup per canonical int key.
        """
        score_of, seen, history, out = self._score_of, self._seen, self.history, []
        new = tuple.__new__  # Observation(...) through its Python-level __new__ costs twice as much
        for arch in archs:
            key = arch if type(arch) is int else self._key(arch)
            score = score_of.get(key)
            if score is None:
                key = self._covered_key(key)
                score = score_of[key]
            if key in seen:
                obs = new(Observation, (key, score, 0.0, True))
            else:
                if self.budget is not None and len(seen) >= self.budget:
                    raise BudgetExhaustedError(f"budget of {self.budget} queries on {self.task} is spent")
                cost = 0.0 if self._cost is None else float(self._cost[self._rows[key]])
                seen.add(key)
                self.total_cost += cost
                obs = new(Observation, (key, score, cost, False))
            history.append(obs)  # on record at once: what was revealed stays if a later one fails
            out.append(obs)
        return out

    def _key(self, arch: Any) -> int:
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            return int(arch)
        return self.space.key(arch)   # strings, Architecture objects; bools and floats are refused

    def _covered_key(self, key: int) -> int:
        """Canonical form of a key the task scores, or a clear error."""
        key = self.space.key(key)  # canonicalise, or raise for keys outside the space
        if key not in self._score_of:
            raise UnknownArchitectureError(f"task {self.task} has no architecture with key {key}")
        return key
