"""Transfer baselines: rank the target by the source tasks, unweighted or weighted by agreement."""
from __future__ import annotations

import numpy as np

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.predictors.base import Predictor
from nasbench_meta.predictors.options import positive
from nasbench_meta.predictors.features import source_ranks, spearman_columns
from nasbench_meta.predictors.registry import register


class _SourceRankPredictor(Predictor):
    meta = True
    kind = "transfer"   # reads the source tasks' ranks; nothing is trained
    scale = "rank"

    def _fit(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        self._ranks = source_ranks(bench, tasks, split=split)

    def _state(self) -> dict[str, np.ndarray]:
        return {"ranks": self._ranks}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        self._ranks = state["ranks"]


@register
class MeanRank(_SourceRankPredictor):
    name = "mean-rank"
    description = "mean rank-normalised score over the source tasks; ignores the support set"

    def _predict(self, rows, support_rows, support_scores):
        return self._ranks[rows].astype(np.float64).mean(axis=1)


@register
class WeightedRank(_SourceRankPredictor):
    name = "weighted-rank"
    description = ("source ranks averaged with softmax weights on each source task's Spearman agreement "
                   "with the K support architectures (mean rank when K < 3)")
    defaults = {"temperature": 0.1}
    option_rules = {"temperature": positive()}   # 0 would divide the agreements by zero

    def task_weights(self, support_rows: np.ndarray, support_scores: np.ndarray) -> np.ndarray:
        rho = spearman_columns(self._ranks[support_rows], support_scores)
        logits = rho / float(self.config["temperature"])
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()

    def _predict(self, rows, support_rows, support_scores):
        weights = self.task_weights(support_rows, support_scores)
        return self._ranks[rows].astype(np.float64) @ weights
