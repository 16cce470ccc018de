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


def distinct_keys(keys: Sequence[int], repeated: Sequence[bool]) -> list[int]:
    """The keys that counted against the budget, in query order."""
    return [key for key, again in zip(keys, repeated) if not again]


def score_run(bench: "Benchmark", task: str, keys: Sequence[int], repeated: Sequence[bool],
              budget: int, ref: "dict[str, Any] | None" = None) -> dict[str, Any]:
    """Scores of one seed from its trajectory alone, looked up in the table.

    Curves have ``budget`` entries (index t-1 = after t distinct queries); a run that
    stopped early keeps its last value. One pass of dict lookups: a search scores every
    seed, and at a few hundred queries that beats a dozen small numpy calls.
    """
    ref = ref or reference(bench, task)
    queried = distinct_keys(keys, repeated)
    if not queried:
        raise ValueError("the trajectory holds no query: nothing to score")
    valid_of = bench.score_map(task, split="valid", seeds=SEEDS)
    test_of = bench.score_map(task, split="test", seeds=SEEDS)
    best_valid, best_test = ref["best_valid"], ref["best_test"]
    missing = [key for key in queried[budget:] if key not in valid_of or key not in test_of]
    regret_valid, regret_test = [], []
    incumbent, valid, test = -1, -float("inf"), 0.0
    for key in queried[:budget]:
        value, other = valid_of.get(key), test_of.get(key)
        if value is None or other is None:
            missing.append(key)
        elif value > valid:  # strictly better: the first one found keeps a tie
            incumbent, valid, test = key, value, other
        regret_valid.append(best_valid - valid)
        regret_test.append(best_test - test)
    if missing:
        raise ValueError(f"{task} has no result for key(s) {missing[:5]}: these results do not match the "
                         "table")
    pad = budget - len(queried)
    return {
        "incumbent": int(incumbent),
        "incumbent_arch": bench.space.format(int(incumbent)),
        "valid": valid,
        "test": test,
        "regret_valid": regret_valid + regret_valid[-1:] * pad,
        "regret_test": regret_test + regret_test[-1:] * pad,
    }
