"""Aggregate verified entries into the numbers a board shows.

Inputs are the ``verification.summary`` blocks written at submission time (per seed numbers
re-scored from the tables), so rendering never needs the benchmark and never trusts claims.

NAS board, per task and budget b in ``NAS_BUDGETS``: the chosen architecture is the one with the
best revealed validation score among the first b distinct queries; the board shows the mean test
score of it over seeds with its standard error, and its regret. Across the required tasks it
shows the average rank (rank 1 = best mean test score on a task; ties share the mean rank) and
the mean normalised regret (regret divided by best test minus median test of the task: 0 is the
best architecture, 1 is a median one), and, with 3+ entries and 2+ required tasks, whether the
rank differences are significant (Friedman test, Nemenyi critical difference: ``significance``).

Predictor board: leave-one-task-out Spearman, Kendall tau and top-1% precision for each K in
``PREDICTOR_SHOTS``, averaged over held-out tasks (each task's value first averaged over seeds),
and per K the same significance test of the entries' Spearman ranks over the held-out tasks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.stats import rankdata

from nasbench_meta.leaderboard.storage import Entry
from nasbench_meta.significance import RankTest, rank_test

NAS_BUDGETS: tuple[int, ...] = (20, 50, 100)
PREDICTOR_SHOTS: tuple[int, ...] = (0, 10, 20, 50, 100)
PREDICTOR_METRICS: tuple[tuple[str, str], ...] = (
    ("spearman", "Spearman"), ("kendall", "Kendall tau"), ("precision@1%", "top-1% precision"),
)


@dataclass(frozen=True)
class Stat:
    """Mean and standard error (NaN for one value) of n numbers."""

    mean: float
    se: float
    n: int

    @classmethod
    def of(cls, values: Sequence["float | None"]) -> "Stat":
        """Missing values (None/NaN, e.g. a K a predictor cannot run at) make the mean NaN."""
        x = np.array([np.nan if v is None else v for v in values], dtype=float)
        if len(x) == 0 or np.isnan(x).any():
            return cls(float("nan"), float("nan"), int((~np.isnan(x)).sum()))
        mean = _mean(x)
        se = math.sqrt(math.fsum((v - mean) ** 2 for v in x.tolist()) / (len(x) - 1) / len(x)) if len(x) > 1 else float("nan")
        return cls(mean, se, len(x))


def _mean(values: Sequence[float]) -> float:
    """Exactly rounded mean: numpy's SIMD sums may differ in the last bit between runs (alignment),
    which could flip a rounded digit on a rendered board."""
    values = [float(v) for v in values]
    return math.fsum(values) / len(values) if values else float("nan")


@dataclass
class NasRow:
    """One entry on the NAS board."""

    entry: Entry
    tasks: dict[str, dict[int, Stat]] = field(default_factory=dict)        # task -> budget -> test
    regret: dict[str, dict[int, Stat]] = field(default_factory=dict)       # task -> budget -> regret
    norm_regret: dict[str, dict[int, float]] = field(default_factory=dict)  # task -> budget -> mean
    avg_rank: dict[int, float] = field(default_factory=dict)               # budget -> over required tasks
    mean_norm_regret: dict[int, float] = field(default_factory=dict)       # budget -> over required tasks
    curve: "np.ndarray | None" = None                                      # mean normalised regret per query


@dataclass
class NasBoard:
    benchmark: str
    required_tasks: tuple[str, ...]
    extra_tasks: tuple[str, ...]
    rows: list[NasRow]
    task_reference: dict[str, dict[str, float]]  # task -> best_test, median_test
    significance: dict[int, RankTest] = field(default_factory=dict)  # budget -> test over required tasks


@dataclass
class PredictorRow:
    entry: Entry
    mean: dict[str, dict[int, Stat]]                 # metric -> K -> over held-out tasks
    per_task: dict[str, dict[int, dict[str, float]]]  # metric -> K -> task -> seed mean


@dataclass
class PredictorBoard:
    benchmark: str
    required_tasks: tuple[str, ...]
    rows: list[PredictorRow]
    significance: dict[int, RankTest] = field(default_factory=dict)  # K -> test of Spearman over held-out tasks


def nas_board(benchmark: str, entries: Sequence[Entry]) -> NasBoard:
    """Per-task statistics, average ranks and normalised regrets of every entry."""
    rows = [_nas_row(e) for e in entries]
    required = _common_required(entries)
    extra = tuple(sorted({t for r in rows for t in r.tasks} - set(required)))
    for budget in NAS_BUDGETS:
        ranks = _ranks(rows, required, budget)
        for row, rank in zip(rows, ranks):
            row.avg_rank[budget] = rank
            row.mean_norm_regret[budget] = _mean([row.norm_regret[t][budget] for t in required]) if required else float("nan")
    top = max(NAS_BUDGETS)
    rows.sort(key=lambda r: (r.avg_rank.get(top, math.inf), r.mean_norm_regret.get(top, math.inf), r.entry.id))
    reference = {}
    for e in entries:
        for task, t in e.summary["tasks"].items():
            reference.setdefault(task, {"best_test": t["best_test"], "median_test": t["median_test"]})
    return NasBoard(benchmark, required, extra, rows, reference, _significance(rows, required))


def _common_required(entries: Sequence[Entry]) -> tuple[str, ...]:
    for e in entries:
        return tuple(e.summary["required_tasks"])
    return ()


def _nas_row(entry: Entry) -> NasRow:
    row = NasRow(entry)
    curves = []
    for task, t in entry.summary["tasks"].items():
        row.tasks[task], row.regret[task], row.norm_regret[task] = {}, {}, {}
        for budget in NAS_BUDGETS:
            at = t["at_budget"][str(budget)]
            row.tasks[task][budget] = Stat.of(at["test"])
            row.regret[task][budget] = Stat.of(at["regret"])
            row.norm_regret[task][budget] = _mean(at["normalised_regret"])
        if task in entry.summary["required_tasks"]:
            curves.append(t["curve"])
    if curves:
        length = min(len(c) for c in curves)
        row.curve = np.array([_mean(column) for column in zip(*(c[:length] for c in curves))])
    return row


def _ranks(rows: Sequence[NasRow], tasks: Sequence[str], budget: int) -> list[float]:
    if not rows or not tasks:
        return [float("nan")] * len(rows)
    per_task = [rankdata([-r.tasks[t][budget].mean for r in rows], method="average") for t in tasks]
    return [_mean(column) for column in zip(*per_task)]


def _significance(rows: Sequence[NasRow], tasks: Sequence[str]) -> dict[int, RankTest]:
    """Per budget: are the entries' ranks by mean test score over the required tasks significant?"""
    tests = {}
    for budget in NAS_BUDGETS:
        test = _rank_test(rows, [[r.tasks[t][budget].mean for r in rows] for t in tasks])
        if test is not None:
            tests[budget] = test
    return tests


def _rank_test(rows: Sequence["NasRow | PredictorRow"], scores: list[list[float]]) -> "RankTest | None":
    """Friedman test and Nemenyi critical difference of (tasks, entries) ``scores`` (higher is better),
    entries named 'name version'. Entries without a finite score on every task are left out; None
    with fewer than 3 entries or 2 tasks (too few to test)."""
    scores_array = np.array(scores, dtype=float).reshape(len(scores), len(rows))
    keep = np.isfinite(scores_array).all(axis=0)
    if keep.sum() < 3 or len(scores) < 2:
        return None
    names = [f"{r.entry.method['name']} {r.entry.method['version']}" for r, k in zip(rows, keep) if k]
    return rank_test(-scores_array[:, keep], names)


def predictor_board(benchmark: str, entries: Sequence[Entry]) -> PredictorBoard:
    """Metrics at each K averaged over held-out tasks, best mean Spearman at the largest K first."""
    rows = [_predictor_row(e) for e in entries]
    top = max(PREDICTOR_SHOTS)
    rows.sort(key=lambda r: (_nan_last(-r.mean["spearman"][top].mean), r.entry.id))
    required = tuple(entries[0].summary["required_tasks"]) if entries else ()
    tests = {k: _rank_test(rows, [[r.per_task["spearman"][k].get(t, math.nan) for r in rows] for t in required])
             for k in PREDICTOR_SHOTS}
    return PredictorBoard(benchmark, required, rows, {k: t for k, t in tests.items() if t is not None})


def _nan_last(x: float) -> float:
    return math.inf if math.isnan(x) else x


def _predictor_row(entry: Entry) -> PredictorRow:
    holdouts = entry.summary["holdouts"]
    tasks = list(entry.summary["required_tasks"])
    mean: dict[str, dict[int, Stat]] = {}
    per_task: dict[str, dict[int, dict[str, float]]] = {}
    for metric, _ in PREDICTOR_METRICS:
        mean[metric], per_task[metric] = {}, {}
        for k in PREDICTOR_SHOTS:
            values = {t: Stat.of(holdouts[t][str(k)][metric]).mean for t in holdouts}
            per_task[metric][k] = values
            mean[metric][k] = Stat.of([values[t] for t in tasks])
    return PredictorRow(entry, mean, per_task)
