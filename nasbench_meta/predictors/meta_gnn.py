"""GNN meta-predictor: a GIN architecture encoder plus a task representation inferred from the
support set, meta-trained episodically across source tasks.

- Each architecture ``a``: a GIN embedding ``h_a`` and its rank ``r_{a,t}`` on each source task.
- Target representation: a set encoder (DeepSets) over the support pairs ``(h_a, y_a)`` plus a
  learned null element, so ``z`` exists at K = 0.
- Each source task gets the same set encoding over the same support architectures with its own
  ranks, ``e_t``; attention ``softmax_t(q(z) . k(e_t))`` weighs the source ranks into a prior
  (at K = 0 every ``e_t`` is the null set: the mean rank).
- Output: prior + MLP(h_a, z, prior, source-rank statistics). Loss: MSE to the pseudo-target's
  rank-normalised score; episodes hold one source task out as the pseudo-target.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.predictors.base import Predictor
from nasbench_meta.predictors.options import positive, real, whole, whole_list
from nasbench_meta.predictors.features import rank_normalise, source_ranks
from nasbench_meta.predictors.gnn import GINEncoder, dense_graphs, device, load_numpy_state, state_to_numpy
from nasbench_meta.predictors.registry import register
from nasbench_meta.seeds import torch_random_stream


class SetEncoder(nn.Module):
    """Mean of phi(h, y) over a set that always holds a learned null element (works for K = 0)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(hidden + 1, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.null = nn.Parameter(torch.zeros(hidden))
        self.rho = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden))

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """h: (K, H); y: (K, S) values of S sets over the same K architectures -> (S, H)."""
        k, s = y.shape
        if k == 0:
            pooled = self.null.expand(s, -1)
        else:
            pairs = torch.cat([h.unsqueeze(1).expand(k, s, -1), y.unsqueeze(-1)], dim=-1)  # (K, S, H+1)
            pooled = (self.phi(pairs).sum(0) + self.null) / (k + 1)
        return self.rho(pooled)


class MetaGNN(nn.Module):
    def __init__(self, in_dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.encoder = GINEncoder(in_dim, hidden, layers)
        self.sets = SetEncoder(hidden)
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.head = nn.Sequential(nn.Linear(2 * hidden + 5, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.scale = hidden ** -0.5
        # Spearman agreement of each source task with the support set enters the attention
        # directly (a learned temperature), so the set encoder learns what agreement misses.
        self.agreement = nn.Parameter(torch.tensor(10.0))

    def forward(self, x, adj, ranks, support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor):
        """ranks: (N, T) source ranks; support/query: row indices; support_y: (K,) target ranks."""
        h_s = self.encoder(x[support], adj[support])
        z = self.sets(h_s, support_y.unsqueeze(1))                       # (1, H) target
        e = self.sets(h_s, ranks[support])                                # (T, H) sources
        logits = (self.query(z) @ self.key(e).T) * self.scale + self.agreement * _agreement(ranks[support], support_y)
        alpha = torch.softmax(logits, dim=-1)  # (1, T)
        r = ranks[query]
        prior = (r @ alpha.T).squeeze(1)
        h_q = self.encoder(x[query], adj[query])
        stats = torch.stack([prior, r.mean(1), r.std(1), r.min(1).values, r.max(1).values], dim=1)
        out = self.head(torch.cat([h_q, z.expand(len(query), -1), stats], dim=1)).squeeze(1)
        return prior + out


@register
class GNNMeta(Predictor):
    name = "gnn-meta"
    description = ("GIN architecture encoder + set-encoder task representation from the support set, "
                   "attention over source tasks; meta-trained episodically")
    meta = True
    scale = "rank"
    defaults = {"hidden": 32, "layers": 3, "steps": 600, "query_size": 256, "lr": 1e-3, "weight_decay": 1e-5,
                "train_shots": [0, 5, 10, 20, 50, 100, 200], "predict_batch": 8192}
    option_rules = {"hidden": whole(1), "layers": whole(1), "steps": whole(1), "query_size": whole(1),
                    "lr": positive(), "weight_decay": real(0), "train_shots": whole_list(0),
                    "predict_batch": whole(1)}

    def _setup(self) -> None:
        self._device = device()
        self._adj, self._x = dense_graphs(self._space, self._keys, self._device)
        self._model = MetaGNN(self._x.shape[-1], self.config["hidden"], self.config["layers"]).to(self._device)
        self._ranks_t = torch.from_numpy(self._ranks).to(self._device)

    def _fit(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        self._check_episode_sizes("train_shots", len(bench.keys), int(self.config["query_size"]))
        with torch_random_stream(seed):  # the caller's torch random stream is left as it was
            self._train(bench, tasks, split=split, seed=seed)

    def _train(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self._ranks = source_ranks(bench, tasks, split=split)
        self._setup()
        model, ranks = self._model, self._ranks_t
        n, t = ranks.shape
        opt = torch.optim.AdamW(model.parameters(), lr=self.config["lr"], weight_decay=self.config["weight_decay"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.config["steps"])
        model.train()
        for _ in range(int(self.config["steps"])):
            target = int(rng.integers(t))
            others = torch.tensor([i for i in range(t) if i != target], device=self._device)
            shots = int(rng.choice(self.config["train_shots"]))
            rows = rng.choice(n, size=shots + int(self.config["query_size"]), replace=False)
            support = torch.from_numpy(rows[:shots]).to(self._device)
            query = torch.from_numpy(rows[shots:]).to(self._device)
            y_support = _rank_within(ranks[support, target])
            pred = model(self._x, self._adj, ranks[:, others], support, y_support, query)
            loss = torch.mean((pred - ranks[query, target]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()

    @torch.no_grad()
    def _predict(self, rows, support_rows, support_scores):
        y = torch.from_numpy(rank_normalise(support_scores).astype(np.float32)).to(self._device)
        support = torch.from_numpy(support_rows).to(self._device)
        out = []
        for chunk in np.array_split(rows, max(1, int(np.ceil(len(rows) / self.config["predict_batch"])))):
            query = torch.from_numpy(chunk).to(self._device)
            out.append(self._model(self._x, self._adj, self._ranks_t, support, y, query).cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    def _state(self) -> dict[str, np.ndarray]:
        return {"ranks": self._ranks, **{f"model/{k}": v for k, v in state_to_numpy(self._model).items()}}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        self._ranks = state["ranks"]
        with torch_random_stream(None):  # random initial weights, replaced by the saved ones: leave the caller's stream
            self._setup()
        load_numpy_state(self._model, {k[len("model/"):]: v for k, v in state.items() if k.startswith("model/")},
                         self._device)
        self._model.eval()


def _agreement(source_support: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(1, T) Pearson correlation of the support's target ranks with its source ranks (0 for K < 3)."""
    if len(y) < 3:
        return torch.zeros(1, source_support.shape[1], device=y.device)
    a = source_support - source_support.mean(0)
    b = (y - y.mean()).unsqueeze(1)
    return ((a * b).sum(0) / ((a.square().sum(0) * b.square().sum()).sqrt() + 1e-8)).unsqueeze(0)


def _rank_within(values: torch.Tensor) -> torch.Tensor:
    """Rank-normalise a support set's scores the way ``predict`` does (ties get distinct ranks)."""
    k = len(values)
    if k <= 1:
        return torch.full_like(values, 0.5)
    order = torch.argsort(torch.argsort(values))
    return order.to(values.dtype) / (k - 1)
