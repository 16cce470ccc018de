"""Single-task baselines: trained only on the K measured architectures of the target task."""
from __future__ import annotations

import numpy as np
import xgboost as xgb
from sklearn.ensemble import RandomForestRegressor

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.encodings import one_hot
from nasbench_meta.predictors.base import Predictor
from nasbench_meta.predictors.options import THREADS, XGBOOST_RULES, OptionValueError, positive, real, whole
from nasbench_meta.predictors.features import source_ranks
from nasbench_meta.predictors.registry import register


class _SingleTask(Predictor):
    """Fit records the space (and the seed); every prediction trains afresh on the support set."""

    min_support = 2

    def _fit(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        self._seed = seed

    def _features(self, rows: np.ndarray) -> np.ndarray:
        return one_hot(self._space, self._keys[rows])

    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        self._seed = self.fit_info["seed"]


def _xgb_regressor(config: dict, seed: int) -> xgb.XGBRegressor:
    return xgb.XGBRegressor(n_estimators=config["n_estimators"], max_depth=config["max_depth"],
                            learning_rate=config["learning_rate"], subsample=config["subsample"],
                            colsample_bytree=config["colsample_bytree"], min_child_weight=1.0,
                            random_state=seed, n_jobs=config["n_jobs"], tree_method="hist")


_XGB_DEFAULTS = {"n_estimators": 300, "max_depth": 4, "learning_rate": 0.05, "subsample": 0.8,
                 "colsample_bytree": 0.8, "n_jobs": 2}


@register
class XGBOneHot(_SingleTask):
    name = "xgb"
    description = "XGBoost regressor on the 52-dim one-hot encoding, trained on the K support architectures"
    defaults = dict(_XGB_DEFAULTS)
    option_rules = XGBOOST_RULES

    def _predict(self, rows, support_rows, support_scores):
        model = _xgb_regressor(self.config, self._seed)
        model.fit(self._features(support_rows), support_scores)
        return model.predict(self._features(rows))


@register
class RandomForestOneHot(_SingleTask):
    name = "rf"
    description = "scikit-learn random forest on the one-hot encoding, trained on the K support architectures"
    defaults = {"n_estimators": 300, "min_samples_leaf": 1, "max_features": 0.5, "n_jobs": 2}
    # max_features as scikit-learn reads it: a float is a fraction of the features, an int a count
    option_rules = {"n_estimators": whole(1), "min_samples_leaf": whole(1), "n_jobs": THREADS,
                    "max_features": real(0, open_low=True, also=("sqrt", "log2", None))}

    @classmethod
    def check_options(cls, config: dict) -> dict:
        checked = super().check_options(config)
        fraction = checked["max_features"]
        if isinstance(fraction, float) and fraction > 1:   # scikit-learn would refuse it only when fitting
            raise OptionValueError(f"rf option max_features must be a fraction in (0, 1] when a float (a count of "
                                   f"features when a whole number), got {fraction!r}")
        return checked

    def _predict(self, rows, support_rows, support_scores):
        model = RandomForestRegressor(n_estimators=self.config["n_estimators"],
                                      min_samples_leaf=self.config["min_samples_leaf"],
                                      max_features=self.config["max_features"], n_jobs=self.config["n_jobs"],
                                      random_state=self._seed)
        model.fit(self._features(support_rows), support_scores)
        # Trees are fitted in parallel (the same trees for any n_jobs), but a parallel predict adds
        # their outputs in thread order, so two calls could differ in the last bit: sum in tree order.
        model.set_params(n_jobs=1)
        return model.predict(self._features(rows))


@register
class XGBOneHotSources(_SingleTask):
    """Reference baseline of the issue: trained on the target's K archs only, but each arch is
    described by its one-hot encoding *and* its (rank-normalised) scores on the source tasks."""

    name = "xgb-src"
    meta = True  # needs complete source tasks for the features (no meta-training, though)
    kind = "transfer"
    description = ("XGBoost on one-hot + source-task ranks, trained on the K support architectures only")
    defaults = dict(_XGB_DEFAULTS)
    option_rules = XGBOOST_RULES

    def _fit(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        self._seed = seed
        self._ranks = source_ranks(bench, tasks, split=split)

    def _features(self, rows: np.ndarray) -> np.ndarray:
        return np.concatenate([one_hot(self._space, self._keys[rows]), self._ranks[rows]], axis=1)

    def _predict(self, rows, support_rows, support_scores):
        model = _xgb_regressor(self.config, self._seed)
        model.fit(self._features(support_rows), support_scores)
        return model.predict(self._features(rows))

    def _state(self) -> dict[str, np.ndarray]:
        return {"ranks": self._ranks}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        self._seed = self.fit_info["seed"]
        self._ranks = state["ranks"]


@register
class GINSingleTask(_SingleTask):
    name = "gin"
    description = "GIN (torch-geometric dense GIN layers) on the architecture graphs, trained on the K support archs"
    defaults = {"hidden": 32, "layers": 3, "epochs": 200, "lr": 3e-3, "weight_decay": 1e-4, "n_models": 1}
    option_rules = {"hidden": whole(1), "layers": whole(1), "epochs": whole(1), "lr": positive(),
                    "weight_decay": real(0), "n_models": whole(1)}

    def _predict(self, rows, support_rows, support_scores):
        import torch

        from nasbench_meta.predictors.gnn import dense_graphs, device
        from nasbench_meta.seeds import torch_random_stream

        dev = device()
        if getattr(self, "_graphs", None) is None:  # every architecture once, reused across predictions
            self._graphs = dense_graphs(self._space, self._keys, dev)
        adj_all, x_all = self._graphs
        index = torch.from_numpy(np.concatenate([support_rows, rows])).to(dev)
        adj, x = adj_all[index], x_all[index]
        k = len(support_rows)
        y = torch.tensor((support_scores - support_scores.mean()) / (support_scores.std() + 1e-8),
                         dtype=torch.float32, device=dev)
        preds = []
        for m in range(int(self.config["n_models"])):  # n_models > 1: a deep ensemble
            with torch_random_stream(self._seed + m):  # the caller's torch random stream is left as it was
                preds.append(self._train_and_predict(x, adj, k, y))
        return np.mean(preds, axis=0) * support_scores.std() + support_scores.mean()

    def _train_and_predict(self, x, adj, k: int, y) -> np.ndarray:
        """One GIN trained on the first ``k`` graphs (full batch: K is small), predicting the rest."""
        import torch

        from nasbench_meta.predictors.gnn import GINEncoder

        dev = x.device
        encoder = GINEncoder(x.shape[-1], self.config["hidden"], self.config["layers"]).to(dev)
        head = torch.nn.Linear(self.config["hidden"], 1).to(dev)
        params = list(encoder.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=self.config["lr"], weight_decay=self.config["weight_decay"])
        for _ in range(int(self.config["epochs"])):
            loss = torch.mean((head(torch.relu(encoder(x[:k], adj[:k]))).squeeze(1) - y) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return head(torch.relu(encoder(x[k:], adj[k:]))).squeeze(1).cpu().numpy()
