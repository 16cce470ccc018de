"""BANANAS-style search (White et al., 2021): ensemble surrogate + acquisition over mutations.

After ``num_init`` random architectures, every round fits an ensemble of XGBoost
regressors (differently seeded row/column subsampling) on the one-hot encodings of all
architectures measured so far, scores candidates made of every unmeasured one-edit
mutation of the ``num_parents`` best architectures plus ``num_random`` random ones, and
queries the ``batch`` candidates with the best acquisition value: independent Thompson
sampling (ITS, mean + std * N(0, 1) per candidate) or UCB (mean + ``ucb_beta`` * std).
"""
from __future__ import annotations

import numpy as np
import xgboost as xgb

from nasbench_meta.encodings import one_hot
from nasbench_meta.search.api import Method


class Bananas(Method):
    name = "bananas"
    version = "1"
    defaults = {"num_init": 10, "batch": 10, "ensemble": 5, "num_parents": 5, "num_random": 20,
                "acquisition": "its", "ucb_beta": 1.0, "n_estimators": 50, "max_depth": 4,
                "learning_rate": 0.1}

    def start(self) -> None:
        if self.config["acquisition"] not in ("its", "ucb"):
            raise ValueError(f"acquisition must be 'its' or 'ucb', got {self.config['acquisition']!r}")

    def ask(self, n: int) -> list[int]:
        if len(self.scores) < self.config["num_init"]:
            want = min(n, self.config["num_init"] - len(self.scores))
            return self.problem.sample(self.rng, want, exclude=self.scores).tolist()
        return self.serve_planned(n, self._next_batch)

    def _next_batch(self) -> list[int]:
        candidates = self._candidates()
        mean, std = self._predict(candidates)
        if self.config["acquisition"] == "its":
            value = mean + std * self.rng.standard_normal(len(mean))
        else:
            value = mean + self.config["ucb_beta"] * std
        return candidates[np.argsort(-value, kind="stable")[:self.config["batch"]]].tolist()

    def _candidates(self) -> np.ndarray:
        ranked = sorted(self.scores, key=self.scores.get, reverse=True)[:self.config["num_parents"]]
        found = {int(k) for parent in ranked for k in self.problem.neighbours(parent)}
        found.difference_update(self.scores)
        room = len(self.problem.candidates) - len(self.scores) - len(found)
        extra = min(int(self.config["num_random"]), room)
        if extra > 0:
            found.update(self.problem.sample(self.rng, extra, exclude=set(self.scores) | found).tolist())
        return np.array(sorted(found), dtype=np.int64)

    def _predict(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.fromiter(self.scores, dtype=np.int64, count=len(self.scores))
        y = np.fromiter(self.scores.values(), dtype=np.float64, count=len(self.scores))
        y = (y - y.mean()) / (y.std() + 1e-12)  # scale-free across tasks and metrics
        x_train = one_hot(self.problem.space, keys)
        x_cand = one_hot(self.problem.space, candidates)
        train, cand = xgb.DMatrix(x_train, label=y, nthread=1), xgb.DMatrix(x_cand, nthread=1)
        params = {"max_depth": self.config["max_depth"], "eta": self.config["learning_rate"],
                  "subsample": 0.8, "colsample_bytree": 0.8, "nthread": 1}
        predictions = []
        for _ in range(self.config["ensemble"]):  # members differ by their subsampling seed
            seed = int(self.rng.integers(2**31 - 1))
            booster = xgb.train({**params, "seed": seed}, train, num_boost_round=self.config["n_estimators"])
            predictions.append(booster.predict(cand))
        predictions = np.asarray(predictions)
        return predictions.mean(axis=0), predictions.std(axis=0)
