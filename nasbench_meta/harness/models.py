"""NAS-Bench-Graph architectures as PyG models, built the way the benchmark built them.

This is the *reference* model: plain PyG layers, the exact module layout (and therefore
parameter count and initialisation order) of the benchmark's own ``Net``/``Cell``. The fast
trainer (``batched.py``) reuses these modules' parameters; this model defines what is right.
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import (ARMAConv, ChebConv, GATConv, GCNConv, GINConv, GraphConv,
                                SAGEConv)

from nasbench_meta.harness.protocol import DATASET_SHAPES, Protocol, get_protocol
from nasbench_meta.spaces import Architecture, NasBenchGraphSpace


class LinearOp(nn.Module):
    """The ``fc`` op: a Linear layer that ignores the graph."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.lin = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


class SkipOp(nn.Module):
    """The ``skip`` op: identity."""

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return x


def make_op(name: str, in_dim: int, out_dim: int, normalize: bool = True) -> nn.Module:
    """One NAS-Bench-Graph operation with the benchmark's settings."""
    if name == "gat":
        return GATConv(in_dim, out_dim // 4, heads=4, concat=True, add_self_loops=normalize)
    if name == "gcn":
        # Unnormalised (proteins) GCN ran on a pre-normalised adjacency with self-loops; new
        # PyG refuses add_self_loops without normalize (same parameters either way).
        return GCNConv(in_dim, out_dim, add_self_loops=normalize, normalize=normalize)
    if name == "gin":
        return GINConv(nn.Linear(in_dim, out_dim))
    if name == "cheb":
        return ChebConv(in_dim, out_dim, K=2)
    if name == "sage":
        return SAGEConv(in_dim, out_dim)
    if name == "arma":
        return ARMAConv(in_dim, out_dim)
    if name == "graph":
        return GraphConv(in_dim, out_dim)
    if name == "fc":
        return LinearOp(in_dim, out_dim)
    if name == "skip":
        return SkipOp()
    raise ValueError(f"unknown op {name!r}")


def raw_input_nodes(arch: Architecture, num_pre: int) -> list[bool]:
    """Which of the 5 nodes (input + 4) carry the raw, un-projected features.

    Without pre-processing layers the input has the raw width, and so does a skip reading a
    node that has it; ops reading such a node map in_dim -> dim and skip BN/ReLU/dropout.
    """
    raw = [num_pre == 0] + [False] * len(arch.ops)
    for i, (op, link) in enumerate(zip(arch.ops, arch.links)):
        raw[i + 1] = raw[link] and op == "skip"
    return raw


def leaf_nodes(arch: Architecture) -> list[int]:
    """Nodes (0..4, 0 = input) that no op reads: their outputs are concatenated."""
    return [i for i in range(len(arch.ops) + 1) if i not in arch.links]


class NasBenchGraphNet(nn.Module):
    """One NAS-Bench-Graph architecture (a single cell) with a task's protocol."""

    def __init__(self, arch: Architecture, protocol: Protocol, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.arch, self.protocol = arch, protocol
        self.in_dim, self.out_dim = in_dim, out_dim
        dim = protocol.dim
        # Construction order follows the reference (pre, post, cell fc, then op/BN pairs) so
        # a given seed initialises the same weights as the benchmark code did.
        self.pre = nn.ModuleList(
            nn.Linear(in_dim if i == 0 else dim, dim) for i in range(protocol.num_pre))
        self.post = nn.ModuleList(
            nn.Linear(dim, out_dim if i == protocol.num_pro - 1 else dim)
            for i in range(protocol.num_pro))
        self.raw = raw_input_nodes(arch, protocol.num_pre)
        self.leaves = leaf_nodes(arch)
        self.fc = nn.Linear(len(self.leaves) * dim, dim if protocol.num_pro else out_dim)
        self.ops, self.bns = nn.ModuleList(), nn.ModuleList()
        for op, link in zip(arch.ops, arch.links):
            self.ops.append(make_op(op, in_dim if self.raw[link] else dim, dim, protocol.normalize))
            self.bns.append(nn.BatchNorm1d(dim))  # one per node, used or not (counted in para)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        p = self.protocol
        x = F.dropout(x, p=p.dropout, training=self.training)
        for i, lin in enumerate(self.pre):
            x = lin(x)
            if i == p.num_pre - 2:
                x = F.elu(x)
        res = [x]
        for op, bn, link in zip(self.ops, self.bns, self.arch.links):
            h = res[link]
            if not self.raw[link]:
                h = F.dropout(F.relu(bn(h)), p=p.dropout, training=self.training)
            res.append(op(h, edge_index))
        x = self.fc(F.relu(torch.cat([res[i] for i in self.leaves], dim=1)))
        for i, lin in enumerate(self.post):
            x = lin(x)
            if i == p.num_pro - 2:
                x = F.elu(x)
        return x


def build_model(arch: "Architecture | str | int", task: str, in_dim: int | None = None,
                out_dim: int | None = None) -> NasBenchGraphNet:
    """The reference model of ``arch`` (canonicalised) for ``task``.

    ``in_dim``/``out_dim`` default to the task's dataset shape; give them when training on
    data whose shape you read from the files.
    """
    arch = canonical_architecture(arch)
    protocol = get_protocol(task)
    shape_in, shape_out = DATASET_SHAPES[task]
    return NasBenchGraphNet(arch, protocol, in_dim or shape_in, out_dim or shape_out)


def canonical_architecture(arch: "Architecture | str | int") -> Architecture:
    """The canonical form (the one the table key names) of any architecture spelling."""
    space = NasBenchGraphSpace()
    if not isinstance(arch, Architecture):
        arch = space.parse(arch)
    return space.architecture(arch.key)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@lru_cache(maxsize=None)
def _op_parameters(op: str, in_dim: int, out_dim: int) -> int:
    return count_parameters(make_op(op, in_dim, out_dim))


def parameter_count(arch: "Architecture | str | int", task: str) -> int:
    """Parameters of ``build_model(arch, task)`` without building it (per-op counts cached).

    Fast enough to check all 26,206 architectures against the table.
    """
    arch = canonical_architecture(arch)
    p = get_protocol(task)
    in_dim, out_dim = DATASET_SHAPES[task]
    dims = [in_dim] + [p.dim] * max(p.num_pre - 1, 0)
    total = sum(d * p.dim + p.dim for d in dims[:p.num_pre])
    total += sum(p.dim * (out_dim if i == p.num_pro - 1 else p.dim) + (out_dim if i == p.num_pro - 1 else p.dim)
                 for i in range(p.num_pro))
    raw = raw_input_nodes(arch, p.num_pre)
    fc_out = p.dim if p.num_pro else out_dim
    total += len(leaf_nodes(arch)) * p.dim * fc_out + fc_out
    for op, link in zip(arch.ops, arch.links):
        total += _op_parameters(op, in_dim if raw[link] else p.dim, p.dim) + 2 * p.dim  # op + its BN
    return total
