"""Deep-kernel GP meta-predictor: architecture features learned across source tasks, a Gaussian
prior over each task's readout learned from how the source tasks differ, and GP inference on
the support set of the target.

- Features: an MLP over the architecture's one-hot encoding and bag of values (how often each
  op / link value occurs) is trained to predict every source task's ranks from a shared
  embedding ``z(a)`` (multi-task regression, one linear head per source task). With
  ``other_split_heads`` it also predicts each source's ranks on the other split (test when
  fitting on validation): the same trained models scored on other nodes, so targets whose
  evaluation noise is independent, and features that fit less of either split's noise.
- Task prior (as in ABLR, Perrone et al. 2018): the target's head ``w`` is drawn like the
  source heads, ``w ~ N(mean of heads, a * covariance of heads + b * I)``. At K = 0 the
  prediction is the prior mean ``z(a) . mean head``, the learned consensus of the sources.
- The target may also vary in ways no source task does: a squared-exponential kernel on the
  one-hot encoding (amplitude ``s``, length scale ``l``) adds that, plus observation noise.
- Kernel hyperparameters (a, b, s, l, noise) are meta-learned per support size K by maximising
  the marginal likelihood pooled over episodes in which each source task is the target. Each
  episode's features come from a network trained without that task, so the hyperparameters
  learn how far features transfer to a task they never saw.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize
from torch import nn

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.encodings import bag_of_values, one_hot
from nasbench_meta.predictors.base import SPLITS, Predictor
from nasbench_meta.predictors.options import flag, positive, real, whole, whole_list
from nasbench_meta.predictors.features import rank_normalise, source_ranks
from nasbench_meta.predictors.gnn import device, load_numpy_state, state_to_numpy
from nasbench_meta.predictors.registry import register
from nasbench_meta.seeds import torch_random_stream

# log of (head-covariance weight a, isotropic weight b, one-hot amplitude s, length scale l, noise)
_START = np.log([1.0, 0.01, 0.01, 8.0, 0.01])
_BOUNDS = [(-8.0, 4.0)] * len(_START)
_JITTER = 1e-6


class FeatureNet(nn.Module):
    """MLP embedding z(a) (non-negative, plus a constant 1) with one linear head per source task."""

    def __init__(self, in_dim: int, hidden: int, features: int, tasks: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, features), nn.ReLU())
        self.heads = nn.Linear(features, tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.body(x))

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> np.ndarray:
        """(N, features + 1) float64 embedding with a trailing constant column (the heads' bias)."""
        z = self.body(x).double().cpu().numpy()
        return np.column_stack([z, np.ones(len(z))])

    def head_matrix(self) -> np.ndarray:
        """(features + 1, tasks) head weights with the bias as the last row."""
        w = self.heads.weight.detach().double().cpu().numpy().T
        return np.vstack([w, self.heads.bias.detach().double().cpu().numpy()[None]])


def train_feature_net(inputs: torch.Tensor, targets: np.ndarray, config: dict, seed: int) -> FeatureNet:
    """Multi-task regression of the source ranks ``targets`` (N, T) from ``inputs`` (N, F)."""
    with torch_random_stream(seed):  # the caller's torch random stream is left as it was
        return _train_feature_net(inputs, targets, config, seed)


def _train_feature_net(inputs: torch.Tensor, targets: np.ndarray, config: dict, seed: int) -> FeatureNet:
    gen = torch.Generator().manual_seed(seed)
    dev = device()
    net = FeatureNet(inputs.shape[1], config["hidden"], config["features"], targets.shape[1]).to(dev)
    x = inputs.to(dev)
    y = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32)).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    n, batch = len(inputs), int(config["batch_size"])
    for _ in range(int(config["epochs"])):
        order = torch.randperm(n, generator=gen).to(dev)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            loss = torch.mean((net(x[idx]) - y[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    return net.cpu()  # embeddings are always computed on the CPU: a reloaded predictor repeats them exactly


class TaskPrior:
    """Prior mean and kernel components of a target task given embeddings and source heads."""

    def __init__(self, z: np.ndarray, heads: np.ndarray, onehot: np.ndarray) -> None:
        self.z, self.onehot = z, onehot
        self.mean_head = heads.mean(axis=1)
        centred = heads - self.mean_head[:, None]
        self.head_cov = centred @ centred.T / max(heads.shape[1] - 1, 1)

    def mean(self, rows: np.ndarray) -> np.ndarray:
        return self.z[rows] @ self.mean_head

    def components(self, rows_a: np.ndarray, rows_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        za, zb = self.z[rows_a], self.z[rows_b]
        xa, xb = self.onehot[rows_a], self.onehot[rows_b]
        sq = (xa * xa).sum(1)[:, None] + (xb * xb).sum(1)[None, :] - 2.0 * xa @ xb.T
        return za @ self.head_cov @ zb.T, za @ zb.T / za.shape[1], np.maximum(sq, 0.0)

    def diagonal(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``components(rows, rows)``'s diagonals, without the (len(rows), len(rows)) matrices."""
        z = self.z[rows]
        return np.einsum("ij,jk,ik->i", z, self.head_cov, z), (z * z).sum(1) / z.shape[1], np.zeros(len(rows))


def kernel(log_params: np.ndarray, parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    a, b, s, length = np.exp(log_params[:4])
    return a * parts[0] + b * parts[1] + s * np.exp(-parts[2] / length)


def gram_cholesky(log_params: np.ndarray, parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Cholesky factor of the support set's kernel matrix plus observation noise (and jitter)."""
    noise = float(np.exp(log_params[4])) + _JITTER
    return np.linalg.cholesky(kernel(log_params, parts) + noise * np.eye(len(parts[0])))


def pooled_nll(log_params: np.ndarray, episodes: list[tuple[tuple, np.ndarray]]) -> float:
    """Mean negative log marginal likelihood (up to a constant) over (kernel parts, residual) episodes."""
    total = 0.0
    for parts, y in episodes:
        try:
            chol = gram_cholesky(log_params, parts)
        except np.linalg.LinAlgError:
            return 1e10
        alpha = np.linalg.solve(chol, y)
        total += 0.5 * alpha @ alpha + np.log(np.diag(chol)).sum()
    return total / len(episodes)


def support_targets(support_scores: np.ndarray) -> np.ndarray:
    """The support set's scores on the sources' scale: ranks within the set, in [0, 1]."""
    return rank_normalise(support_scores)


@register
class MetaGP(Predictor):
    name = "gp-meta"
    version = "2"  # 2: heads for the other split's ranks (other_split_heads)
    description = ("deep-kernel GP: MLP architecture features multi-task-trained on the sources (both splits), "
                   "a prior over the target's readout learned from the source heads, kernel hyperparameters "
                   "meta-learned per K")
    meta = True
    scale = "rank"
    defaults = {"hidden": 256, "features": 64, "epochs": 30, "batch_size": 1024, "lr": 2e-3,
                "weight_decay": 1e-5, "fit_shots": [5, 10, 20, 50, 100, 200], "episodes_per_shot": 6,
                "other_split_heads": True}
    # fit_shots >= 1: a support size is matched to the nearest fitted one on a log scale
    option_rules = {"hidden": whole(1), "features": whole(1), "epochs": whole(1), "batch_size": whole(1),
                    "lr": positive(), "weight_decay": real(0), "fit_shots": whole_list(1),
                    "episodes_per_shot": whole(1), "other_split_heads": flag()}

    def _inputs(self) -> tuple[torch.Tensor, np.ndarray]:
        onehot = one_hot(self._space, self._keys).astype(np.float64)
        x = np.concatenate([onehot, bag_of_values(self._space, self._keys)], axis=1).astype(np.float32)
        return torch.from_numpy(x), onehot

    def _fit(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        self._check_episode_sizes("fit_shots", len(bench.keys))
        blocks = [source_ranks(bench, tasks, split=s) for s in self._head_splits(split)]
        inputs, onehot = self._inputs()
        self._net = train_feature_net(inputs, np.concatenate(blocks, axis=1), self.config, seed)
        self._prior = self._task_prior(self._net, inputs, onehot, len(tasks))
        self._log_params = self._meta_learn_kernel(inputs, onehot, blocks, seed)

    def _head_splits(self, split: str) -> list[str]:
        """Splits whose source ranks the feature network regresses: the fitting split first, then
        the other one when ``other_split_heads``."""
        others = [s for s in SPLITS if s != split] if self.config["other_split_heads"] else []
        return [split, *others]

    @staticmethod
    def _task_prior(net: FeatureNet, inputs: torch.Tensor, onehot: np.ndarray, tasks: int) -> TaskPrior:
        """The prior from the heads of the fitting split (the first ``tasks``); the other split's
        heads only shape the features."""
        return TaskPrior(net.embed(inputs), net.head_matrix()[:, :tasks], onehot)

    def _meta_learn_kernel(self, inputs: torch.Tensor, onehot: np.ndarray, blocks: list[np.ndarray],
                           seed: int) -> np.ndarray:
        """(len(fit_shots), 5) log hyperparameters, each maximising the pooled episode likelihood.

        ``blocks``: the (N, T) source ranks of each head split, the fitting split first.
        """
        shots = [int(k) for k in self.config["fit_shots"]]
        episodes: dict[int, list] = {k: [] for k in shots}
        rng = np.random.default_rng(seed)
        ranks = blocks[0]
        n, t = ranks.shape
        for target in range(t):  # a network that never saw the pseudo-target (either split), as at test time
            keep = np.arange(t) != target
            targets = np.concatenate([block[:, keep] for block in blocks], axis=1)
            net = train_feature_net(inputs, targets, self.config, seed + 1 + target)
            prior = self._task_prior(net, inputs, onehot, t - 1)
            for k in shots:
                for _ in range(int(self.config["episodes_per_shot"])):
                    rows = rng.choice(n, size=min(k, n), replace=False)
                    y = support_targets(ranks[rows, target]) - prior.mean(rows)
                    episodes[k].append((prior.components(rows, rows), y))
        fitted = [minimize(pooled_nll, _START, args=(episodes[k],), method="L-BFGS-B", bounds=_BOUNDS).x
                  for k in shots]
        return np.stack(fitted)

    def kernel_params(self, shots: int) -> dict[str, float]:
        """The meta-learned hyperparameters used for a support set of ``shots`` architectures."""
        a, b, s, length, noise = np.exp(self._params_for(shots))
        return {"head_cov": a, "isotropic": b, "onehot_amplitude": s, "onehot_length": length, "noise": noise}

    def _params_for(self, shots: int) -> np.ndarray:
        fit_shots = np.asarray(self.config["fit_shots"], dtype=np.float64)
        nearest = int(np.argmin(np.abs(np.log(fit_shots) - np.log(max(shots, 1)))))
        return self._log_params[nearest]

    def _predict(self, rows, support_rows, support_scores):
        return self._posterior(rows, support_rows, support_scores)[0]

    def predict_std(self, keys, *, support_keys, support_scores) -> np.ndarray:
        """Posterior standard deviation (rank scale) of each prediction: the GP's own uncertainty."""
        return self._posterior(*self._checked(keys, support_keys, support_scores), std=True)[1]

    def _posterior(self, rows: np.ndarray, support_rows: np.ndarray, support_scores: np.ndarray,
                   std: bool = False) -> tuple[np.ndarray, "np.ndarray | None"]:
        prior, params = self._prior, self._params_for(len(support_rows))
        mean = prior.mean(rows)
        cross = kernel(params, prior.components(rows, support_rows))
        if len(support_rows):
            chol = gram_cholesky(params, prior.components(support_rows, support_rows))
            y = support_targets(support_scores) - prior.mean(support_rows)
            mean = mean + cross @ np.linalg.solve(chol.T, np.linalg.solve(chol, y))
        if not std:
            return mean, None
        var = kernel(params, prior.diagonal(rows))
        if len(support_rows):
            var = var - (np.linalg.solve(chol, cross.T) ** 2).sum(0)
        return mean, np.sqrt(np.maximum(var, 0.0))

    def _state(self) -> dict[str, np.ndarray]:
        return {"log_params": self._log_params, **{f"net/{k}": v for k, v in state_to_numpy(self._net).items()}}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        inputs, onehot = self._inputs()
        tasks = state["net/heads.bias"].shape[0]
        with torch_random_stream(None):  # random initial weights, replaced by the saved ones: leave the caller's stream
            self._net = FeatureNet(inputs.shape[1], self.config["hidden"], self.config["features"], tasks)
        load_numpy_state(self._net, {k[len("net/"):]: v for k, v in state.items() if k.startswith("net/")},
                         torch.device("cpu"))
        self._net.eval()
        self._prior = self._task_prior(self._net, inputs, onehot, len(self.fit_info["source_tasks"]))
        self._log_params = state["log_params"]
