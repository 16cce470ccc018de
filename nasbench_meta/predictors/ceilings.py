"""Reference points the tables themselves set for predictors of a held-out task.

- Hindsight source subset: the best average of source-task ranks over every non-empty subset
  of the sources, the subset chosen by looking at the target. It bounds what any weighting of
  whole source tasks by equal shares can reach (mean rank is the all-sources subset), and shows
  how much a zero-shot predictor could gain from knowing which sources resemble the target.
  It is not a bound on predictors that combine sources non-linearly.
- Split agreement: Spearman between the task's validation and test scores. Both come from the
  same trained models, so a low value means the split's ranking carries much evaluation noise
  that no predictor of the architecture can follow.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.predictors.api import source_tasks_for
from nasbench_meta.predictors.features import source_ranks, spearman_columns

_MAX_SUBSET_SOURCES = 12   # 2^12 subsets; beyond that the exhaustive search is not worth it


@dataclass(frozen=True)
class TransferCeiling:
    """Zero-shot reference points for one held-out task (Spearman against ``split`` scores)."""

    task: str
    split: str
    sources: tuple[str, ...]
    mean_rank: float
    best_single: str
    best_single_spearman: float
    best_subset: tuple[str, ...]
    best_subset_spearman: float
    split_agreement: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def subset_spearman(ranks: np.ndarray, target: np.ndarray, columns: Sequence[int]) -> float:
    """Spearman of the mean of ``ranks[:, columns]`` (rank-normalised sources) with ``target``."""
    return float(_subset_spearmans(ranks, target, [tuple(columns)])[0])


def _subset_spearmans(ranks: np.ndarray, target: np.ndarray, subsets: Sequence[tuple[int, ...]],
                      chunk: int = 64) -> np.ndarray:
    """``subset_spearman`` of every subset, a block of subset means at a time (bounded memory)."""
    out = []
    for start in range(0, len(subsets), chunk):
        block = np.column_stack([ranks[:, list(c)].mean(axis=1) for c in subsets[start:start + chunk]])
        out.append(spearman_columns(block, target))
    return np.concatenate(out)


def split_agreement(bench: Benchmark, task: str) -> float:
    """Spearman between ``task``'s validation and test scores over the architectures it scores."""
    rows = bench.rows(bench.task_keys(task))
    valid = bench.scores(task, split="valid", seeds="mean")[rows]
    test = bench.scores(task, split="test", seeds="mean")[rows]
    return float(spearman_columns(valid[:, None], test)[0])


def transfer_ceiling(bench: Benchmark, task: str, *, split: str,
                     sources: "Sequence[str] | None" = None) -> TransferCeiling:
    """Mean rank, the best single source and the hindsight best source subset for ``task``.

    ``sources`` defaults to every other complete task (the leave-one-task-out sources).
    """
    sources = list(source_tasks_for(bench, task) if sources is None else sources)
    if not 1 <= len(sources) <= _MAX_SUBSET_SOURCES:
        raise ValueError(f"give between 1 and {_MAX_SUBSET_SOURCES} source tasks, got {len(sources)}")
    if task in sources:
        raise ValueError(f"{task!r} is the target; it cannot also be a source")
    rows = bench.rows(bench.task_keys(task))
    ranks = source_ranks(bench, sources, split=split)[rows]
    target = bench.scores(task, split=split, seeds="mean")[rows]
    # Subsets by size: the singletons come first (source order), all sources last.
    subsets = [c for size in range(1, len(sources) + 1) for c in combinations(range(len(sources)), size)]
    scores = _subset_spearmans(ranks, target, subsets)
    best = int(np.argmax(scores))
    single = int(np.argmax(scores[:len(sources)]))
    return TransferCeiling(
        task=task, split=split, sources=tuple(sources), mean_rank=float(scores[-1]),
        best_single=sources[single], best_single_spearman=float(scores[single]),
        best_subset=tuple(sources[j] for j in subsets[best]), best_subset_spearman=float(scores[best]),
        split_agreement=split_agreement(bench, task))


def ceilings_table(ceilings: Sequence[TransferCeiling]) -> str:
    """Markdown table, one row per task plus their mean."""
    lines = ["| task | mean rank | best single source | best source subset (hindsight) | valid-test agreement |",
             "|---|---:|---|---|---:|"]
    for c in ceilings:
        lines.append(f"| {c.task} | {c.mean_rank:.3f} | {c.best_single} {c.best_single_spearman:.3f} | "
                     f"{'+'.join(c.best_subset)} {c.best_subset_spearman:.3f} | {c.split_agreement:.3f} |")
    if len(ceilings) > 1:
        mean = {f: np.mean([getattr(c, f) for c in ceilings]) for f in
                ("mean_rank", "best_single_spearman", "best_subset_spearman", "split_agreement")}
        lines.append(f"| mean | {mean['mean_rank']:.3f} | {mean['best_single_spearman']:.3f} | "
                     f"{mean['best_subset_spearman']:.3f} | {mean['split_agreement']:.3f} |")
    return "\n".join(lines)
