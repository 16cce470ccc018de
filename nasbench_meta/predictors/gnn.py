"""Architecture graph encoder shared by the GIN baseline and the GNN meta-predictor.

NAS-Bench-Graph architectures are DAGs of at most 6 nodes, so the whole space fits in dense
tensors (26,206 x 6 x 6): dense GIN layers from torch-geometric then index any subset of
architectures directly, with no per-step graph batching.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import DenseGINConv

from nasbench_meta.encodings import adjacency_features
from nasbench_meta.spaces import SearchSpace


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def dense_graphs(space: SearchSpace, keys: np.ndarray, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(adjacency, node features) with messages flowing along the DAG and back (both directions)."""
    adjacency, features = adjacency_features(space, keys)
    adjacency = adjacency + adjacency.transpose(0, 2, 1)
    return torch.from_numpy(adjacency).to(dev), torch.from_numpy(features).to(dev)


class GINEncoder(nn.Module):
    """Dense GIN layers, sum readout of every layer (jumping knowledge) -> (B, hidden)."""

    def __init__(self, in_dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        for i in range(layers):
            mlp = nn.Sequential(nn.Linear(in_dim if i == 0 else hidden, hidden), nn.ReLU(),
                                nn.Linear(hidden, hidden))
            self.convs.append(DenseGINConv(mlp, train_eps=True))
        self.out = nn.Linear(hidden * layers, hidden)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        readouts = []
        for conv in self.convs:
            x = torch.relu(conv(x, adj, add_loop=False))
            readouts.append(x.sum(dim=1))
        return self.out(torch.cat(readouts, dim=1))


def state_to_numpy(module: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def load_numpy_state(module: nn.Module, state: dict[str, np.ndarray], dev: torch.device) -> None:
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    module.to(dev)
