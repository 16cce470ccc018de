"""Score a search trajectory against the table, after the search has ended.

Regret definitions (both are >= 0, lower is better; "table" = every architecture the
task covers, validation and test scores averaged over the table's seeds):

- incumbent after t queries: the architecture with the best *validation* score among
  the first t distinct architectures queried (the first one found among ties);
- ``regret_valid[t-1]`` = best validation score in the table - validation score of
  the incumbent;
- ``regret_test[t-1]``  = best test score in the table - test score of the incumbent
  (so a perfect validation search can still keep a test regret: validation and test
  disagree about which architecture is best).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark

SEEDS = "mean"  # seed aggregation of the table scores used for search and scoring
REGRET_DEFINITION = (
    "incumbent = best-validation architecture among the first t distinct queries (first found on "
    "ties); regret_valid = best validation score of the table - validation score of the incumbent; "
    "regret_test = best test score of the table - test score of the incumbent"
)


def reference(bench: "Benchmark", task: str) -> dict[str, Any]:
    """The task's best architectures on each split: what regret is measured against."""
    best_valid_key, best_valid = bench.best(task, split="valid", seeds=SEEDS)
    best_test_key, best_test = bench.best(task, split="test", seeds=SEEDS)
    return {"best_valid": best_valid, "best_valid_key": best_valid_key, "best_test": best_test,
            "best_test_key": best_test_key, "seeds": SEEDS, "definition": REGRET_DEFINITION}


def distinct_keys(keys: Sequence[int], repeated: Sequence[bool]) -> np.ndarray:
    """The keys that counted against the budget, in query order."""
    keys = np.asarray(keys, dtype=np.int64)
    return keys[~np.asarray(repeated, dtype=bool)] if len(keys) else keys


def incumbent_index(values: np.ndarray) -> np.ndarray:
    """For each prefix length t, the index of the first maximum of values[:t]."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    running = np.maximum.accumulate(values)
    improved = np.empty(len(values), dtype=bool)
    improved[0] = True
    np.greater(running[1:], running[:-1], out=improved[1:])
    return np.flatnonzero(improved)[np.cumsum(improved) - 1]


def score_run(bench: "Benchmark", task: str, keys: Sequence[int], repeated: Sequence[bool],
              budget: int, ref: "dict[str, Any] | None" = None) -> dict[str, Any]:
    """Scores of one seed from its trajectory alone, looked up in the table.

    Curves have ``budget`` entries (index t-1 = after t distinct queries); a run that
    stopped early keeps its last value.
    """
    ref = ref or reference(bench, task)
    queried = distinct_keys(keys, repeated)
    if len(queried) == 0:
        raise ValueError("the trajectory holds no query: nothing to score")
    rows = bench.rows(queried)
    valid = np.asarray(bench.scores(task, split="valid", seeds=SEEDS))[rows]
    test = np.asarray(bench.scores(task, split="test", seeds=SEEDS))[rows]
    if np.isnan(valid).any() or np.isnan(test).any():
        missing = queried[np.isnan(valid) | np.isnan(test)][:5].tolist()
        raise ValueError(f"{task} has no result for key(s) {missing}: run verify() on these results")
    inc = incumbent_index(valid)
    inc = np.concatenate([inc, np.full(max(0, budget - len(inc)), inc[-1])])[:budget]
    best = int(inc[-1])
    return {
        "incumbent": int(queried[best]),
        "incumbent_arch": bench.space.format(int(queried[best])),
        "valid": float(valid[best]),
        "test": float(test[best]),
        "regret_valid": (ref["best_valid"] - valid[inc]).tolist(),
        "regret_test": (ref["best_test"] - test[inc]).tolist(),
    }
