"""Are methods' differences across tasks significant? Friedman test and Nemenyi critical difference.

The protocol of Demšar (2006, JMLR 7) that critical-difference diagrams in NAS and HPO papers
follow: rank the methods on each task (1 = best, ties averaged), average the ranks over tasks,
test with Friedman's chi-square whether the methods differ at all, and call two methods different
when their average ranks differ by more than the Nemenyi critical difference
``q_alpha * sqrt(k (k + 1) / (6 N))`` (k methods, N tasks; ``q_alpha`` is the studentized range
quantile over sqrt(2)). With few tasks the test is weak: a gap below the critical difference means
"not shown to differ", not "equal". ``draw_critical_difference`` draws the diagram on a matplotlib axis.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.stats import friedmanchisquare, rankdata, studentized_range


@dataclass(frozen=True)
class RankTest:
    """Average ranks of ``methods`` over ``num_tasks`` tasks, with Friedman's test and the Nemenyi CD."""

    methods: list[str]
    average_ranks: np.ndarray        # aligned with methods; 1 = best
    num_tasks: int
    alpha: float
    critical_difference: float
    friedman_statistic: "float | None"  # None with fewer than 3 methods (the test needs 3)
    friedman_p: "float | None"

    def differ(self, a: str, b: str) -> bool:
        """True when methods ``a`` and ``b`` differ significantly (Nemenyi, at ``alpha``)."""
        ranks = dict(zip(self.methods, self.average_ranks))
        return abs(ranks[a] - ranks[b]) > self.critical_difference

    def describe(self) -> str:
        """One line: Friedman's p, the critical difference and the groups not shown to differ."""
        groups = "; ".join(", ".join(g) for g in self.groups()) or "none: every pair differs"
        p = "n/a (2 methods)" if self.friedman_p is None else f"{self.friedman_p:.3g}"
        return (f"Friedman p = {p} over {self.num_tasks} tasks; Nemenyi CD = {self.critical_difference:.2f} "
                f"ranks (alpha {self.alpha}); not shown to differ: {groups}")

    def groups(self) -> list[list[str]]:
        """Maximal runs of methods, in rank order, whose average ranks lie within one critical
        difference: the bars of a critical-difference diagram (methods with no such partner are
        left out)."""
        order = np.argsort(self.average_ranks, kind="stable")
        ranks = self.average_ranks[order]
        spans = []
        for i in range(len(order)):
            j = i
            while j + 1 < len(order) and ranks[j + 1] - ranks[i] <= self.critical_difference:
                j += 1
            if j > i and not (spans and spans[-1][1] >= j):  # skip runs inside the previous one
                spans.append((i, j))
        return [[self.methods[order[k]] for k in range(i, j + 1)] for i, j in spans]


def nemenyi_critical_difference(methods: int, tasks: int, alpha: float = 0.05) -> float:
    """The least average-rank gap that is significant at ``alpha`` for ``methods`` over ``tasks``."""
    if methods < 2 or tasks < 1:
        raise ValueError(f"a critical difference needs at least 2 methods and 1 task, got {methods} and {tasks}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    q = studentized_range.ppf(1.0 - alpha, methods, np.inf) / math.sqrt(2.0)
    return float(q * math.sqrt(methods * (methods + 1) / (6.0 * tasks)))


def rank_test(losses: np.ndarray, methods: Sequence[str], *, alpha: float = 0.05) -> RankTest:
    """Rank ``methods`` on each task by ``losses`` (tasks, methods; lower is better) and test them."""
    losses = np.asarray(losses, dtype=np.float64)
    methods = list(methods)
    if losses.ndim != 2 or losses.shape[1] != len(methods):
        raise ValueError(f"losses must be (tasks, {len(methods)} methods), got shape {losses.shape}")
    if not np.isfinite(losses).all():
        raise ValueError("losses hold NaN or infinity: every method needs a finite result on every task")
    tasks, k = losses.shape
    statistic = p = None
    if k >= 3 and tasks >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # every task tied: statistic 0/0
            result = friedmanchisquare(*losses.T)
        tied = not np.isfinite(result.statistic)
        statistic, p = (0.0, 1.0) if tied else (float(result.statistic), float(result.pvalue))
    return RankTest(methods=methods, average_ranks=rankdata(losses, axis=1).mean(axis=0), num_tasks=tasks,
                    alpha=alpha, critical_difference=nemenyi_critical_difference(k, tasks, alpha),
                    friedman_statistic=statistic, friedman_p=p)


def critical_difference_size(test: RankTest) -> tuple[float, float]:
    """Figure size (inches) that fits ``draw_critical_difference``'s labels."""
    return 7.0, 1.7 + 0.27 * ((len(test.methods) + 1) // 2)


def draw_critical_difference(ax: Any, test: RankTest) -> None:
    """Critical-difference diagram (Demšar 2006) on ``ax``: average ranks on an axis (1 = best,
    left), the CD as a bar above it, and a thick line joining each group of methods not shown to differ."""
    k = len(test.methods)
    order = np.argsort(test.average_ranks, kind="stable")
    half = (k + 1) // 2
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(1.6 + 0.6 * half, -1.6)   # y grows downwards: the rank axis on top, names below it
    ax.axis("off")
    ax.hlines(0, 1, k, color="black")
    for r in range(1, k + 1):
        ax.vlines(r, -0.12, 0.12, color="black")
        ax.text(r, -0.25, str(r), ha="center", va="bottom")
    ax.hlines(-1.0, 1, 1 + test.critical_difference, color="black", linewidth=2)
    ax.text(1 + test.critical_difference / 2, -1.15, f"CD = {test.critical_difference:.2f}", ha="center", va="bottom")
    for slot, m in enumerate(order):   # the better half labelled on the left, the rest on the right
        rank, left = test.average_ranks[m], slot < half
        y = 1 + (slot if left else k - 1 - slot) * 0.6
        end = 0.6 if left else k + 0.4
        ax.plot([rank, rank, end], [0, y, y], color="black", linewidth=0.8)
        ax.text(end, y, f"{test.methods[m]} ({rank:.2f})", ha="right" if left else "left", va="center",
                fontsize=9)
    for level, group in enumerate(test.groups()):
        ranks = [test.average_ranks[test.methods.index(m)] for m in group]
        ax.hlines(0.25 + 0.15 * level, min(ranks) - 0.05, max(ranks) + 0.05, color="tab:red", linewidth=3)
