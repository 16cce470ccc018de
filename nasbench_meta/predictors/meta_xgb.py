"""Gradient-boosted meta-surrogate: XGBoost trained episodically across source tasks.

Each architecture is described by what the source tasks say about it (its rank on each, their
mean / spread / extremes), by how the target relates to them (each source task's Spearman
agreement with the K support architectures, the architecture's rank on the most agreeing tasks,
agreement-weighted ranks, a ridge fit of the support ranks on the source ranks, kernel regression
from the nearest support architectures) and optionally by its one-hot encoding. Features are
invariant to the number and order of source tasks, so an episode that holds one source task out
as a pseudo-target builds exactly the features the real target gets.

Episodes: for each source task as pseudo-target, for each training K, a seeded support draw;
the regression target is the pseudo-target's rank-normalised score.
"""
from __future__ import annotations

import numpy as np
import xgboost as xgb

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.encodings import one_hot
from nasbench_meta.predictors.base import Predictor
from nasbench_meta.predictors.options import XGBOOST_RULES, flag, whole, whole_list
from nasbench_meta.predictors.features import rank_normalise, source_ranks, spearman_columns
from nasbench_meta.predictors.registry import register

TOP_SOURCES = 3


def task_context(ranks_support: np.ndarray, support_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-source-task agreement with the support set and the order of tasks by it."""
    rho = spearman_columns(ranks_support, support_scores)
    return rho, np.argsort(-rho, kind="stable")


def meta_features(ranks: np.ndarray, encoding: "np.ndarray | None", support_rows: np.ndarray,
                  support_scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows), F) features of ``rows`` for a target described by its support set.

    ``ranks``: (N, T) source ranks of every architecture (any T >= TOP_SOURCES).
    """
    r = ranks[rows].astype(np.float64)
    k = len(support_rows)
    n = len(rows)
    nan = np.full(n, np.nan)
    stats = [r.mean(1), r.std(1), r.min(1), r.max(1), np.median(r, 1), np.full(n, float(k))]
    if k >= 3:
        y = rank_normalise(support_scores)
        rho, order = task_context(ranks[support_rows], support_scores)
        # fewer source tasks than TOP_SOURCES (tiny pools): missing slots are NaN, which XGBoost handles
        top = [r[:, order[i]] if i < len(order) else nan for i in range(TOP_SOURCES)]
        top_rho = [np.full(n, rho[order[i]]) if i < len(order) else nan for i in range(TOP_SOURCES)]
        weighted = []
        for temp in (0.05, 0.2):
            w = np.exp((rho - rho.max()) / temp)
            weighted.append(r @ (w / w.sum()))
        pos = np.clip(rho, 0, None)
        weighted.append(r @ (pos / pos.sum()) if pos.sum() > 0 else r.mean(1))
        ridge = _ridge_predict(ranks[support_rows], y, r)
        knn_src = _kernel_regression(ranks[support_rows], y, r, bandwidth=0.05)
        knn_enc = (_kernel_regression(encoding[support_rows], y, encoding[rows], bandwidth=1.0)
                   if encoding is not None else nan)
        context = [ridge, knn_src, knn_enc, np.full(n, y.std())]
    else:
        top = [nan] * TOP_SOURCES
        top_rho = [nan] * TOP_SOURCES
        weighted = [nan] * 3
        context = [nan] * 4
    columns = np.column_stack(stats + top + top_rho + weighted + context)
    if encoding is not None:
        columns = np.concatenate([columns, encoding[rows]], axis=1)
    return columns.astype(np.float32)


def _ridge_predict(x_support: np.ndarray, y: np.ndarray, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    xs = np.column_stack([x_support, np.ones(len(x_support))])
    reg = alpha * np.eye(xs.shape[1])
    reg[-1, -1] = 0.0  # do not shrink the intercept
    coef = np.linalg.solve(xs.T @ xs + reg, xs.T @ y)
    return np.column_stack([x, np.ones(len(x))]) @ coef


def _kernel_regression(x_support: np.ndarray, y: np.ndarray, x: np.ndarray, bandwidth: float) -> np.ndarray:
    """Nadaraya-Watson estimate of the support ranks at ``x`` (Gaussian kernel on mean sq. distance)."""
    x = np.asarray(x, dtype=np.float64)
    xs = np.asarray(x_support, dtype=np.float64)
    d2 = ((x ** 2).sum(1)[:, None] + (xs ** 2).sum(1)[None, :] - 2 * x @ xs.T) / x.shape[1]
    logits = -np.maximum(d2, 0) / bandwidth
    w = np.exp(logits - logits.max(1, keepdims=True))
    return (w @ y) / w.sum(1)


@register
class XGBMeta(Predictor):
    name = "xgb-meta"
    description = "XGBoost meta-surrogate on source-task ranks and support-set agreement, trained episodically"
    meta = True
    scale = "rank"
    defaults = {"n_estimators": 400, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
                "colsample_bytree": 0.8, "train_shots": [0, 5, 10, 20, 50, 100, 200],
                "episodes_per_shot": 2, "rows_per_episode": 2000, "use_encoding": True,
                "n_models": 1, "n_jobs": 2}
    option_rules = {**XGBOOST_RULES, "train_shots": whole_list(0), "episodes_per_shot": whole(1),
                    "rows_per_episode": whole(1), "use_encoding": flag(), "n_models": whole(1)}

    def _fit(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        self._check_episode_sizes("train_shots", len(bench.keys))
        self._ranks = source_ranks(bench, tasks, split=split)
        self._encoding = one_hot(bench.space, bench.keys) if self.config["use_encoding"] else None
        x, y = self._episodes(seed)
        self._boosters = []
        for m in range(int(self.config["n_models"])):  # n_models > 1: an ensemble for uncertainty
            model = xgb.XGBRegressor(
                n_estimators=self.config["n_estimators"], max_depth=self.config["max_depth"],
                learning_rate=self.config["learning_rate"], subsample=self.config["subsample"],
                colsample_bytree=self.config["colsample_bytree"], tree_method="hist",
                random_state=seed + m, n_jobs=self.config["n_jobs"])
            model.fit(x, y)
            self._boosters.append(model.get_booster())

    def _episodes(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        n, t = self._ranks.shape
        xs, ys = [], []
        for target in range(t):
            others = np.delete(self._ranks, target, axis=1)
            y_all = self._ranks[:, target]
            for shots in self.config["train_shots"]:
                for _ in range(int(self.config["episodes_per_shot"])):
                    support = rng.choice(n, size=shots, replace=False)
                    rows = rng.choice(n, size=min(n, int(self.config["rows_per_episode"])), replace=False)
                    xs.append(meta_features(others, self._encoding, support, y_all[support], rows))
                    ys.append(y_all[rows])
        return np.concatenate(xs), np.concatenate(ys)

    def predict_members(self, rows: np.ndarray, support_rows: np.ndarray, support_scores: np.ndarray) -> np.ndarray:
        """(n_models, len(rows)) predictions of each ensemble member."""
        dm = xgb.DMatrix(meta_features(self._ranks, self._encoding, support_rows, support_scores, rows))
        return np.stack([b.predict(dm) for b in self._boosters])

    def _predict(self, rows, support_rows, support_scores):
        return self.predict_members(rows, support_rows, support_scores).mean(0)

    def _state(self) -> dict[str, np.ndarray]:
        blobs = {f"booster_{i}": np.frombuffer(bytes(b.save_raw("ubj")), dtype=np.uint8)
                 for i, b in enumerate(self._boosters)}
        return {"ranks": self._ranks, **blobs}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        self._ranks = state["ranks"]
        self._encoding = one_hot(self._space, self._keys) if self.config["use_encoding"] else None
        self._boosters = []
        for i in range(int(self.config["n_models"])):
            booster = xgb.Booster()
            booster.load_model(bytearray(state[f"booster_{i}"].tobytes()))
            self._boosters.append(booster)
