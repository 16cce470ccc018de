"""Graph operators the fast trainer precomputes once per graph (they never change in training).

Each message-passing op of the space is "a fixed sparse matrix times a linear map of the
input", so its propagation matrix (GCN normalisation, mean/sum aggregation, the scaled
Chebyshev Laplacian, ARMA's normalisation) is built once, in CSR, with its transpose for the
backward pass. Definitions follow PyG's layers (flow source -> target: ``A[dst, src]``); a test
checks each one against the PyG module it replaces.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import add_self_loops, remove_self_loops


def csr_mm(a: tuple[torch.Tensor, torch.Tensor, torch.Tensor], h: torch.Tensor) -> torch.Tensor:
    """CSR matrix ``a = (crow, col, vals)`` times dense ``h``.

    ``embedding_bag`` (sum of weighted rows) runs this 3-4x faster on CPU than torch.sparse.mm.
    """
    crow, col, vals = a
    if not torch.is_grad_enabled():
        # embedding_bag picks its slower, backward-ready kernel whenever h requires grad,
        # even under no_grad (e.g. a parameter in the evaluation pass or in _SpMM.forward)
        h = h.detach()
    return F.embedding_bag(col, h, crow, per_sample_weights=vals, mode="sum",
                           include_last_offset=True)


class _SpMM(torch.autograd.Function):
    """``a @ h`` with a constant sparse ``a``; the backward multiplies by a precomputed ``a_t``."""

    @staticmethod
    def forward(ctx, a: tuple, a_t: tuple, h: torch.Tensor) -> torch.Tensor:
        ctx.a_t = a_t
        return csr_mm(a, h)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return None, None, csr_mm(ctx.a_t, grad.contiguous())


def spmm(a: tuple, a_t: tuple, h: torch.Tensor) -> torch.Tensor:
    """Differentiable (in ``h``) product of a constant CSR matrix and a dense matrix."""
    if not h.requires_grad:
        return csr_mm(a, h)
    return _SpMM.apply(a, a_t, h)


def row_pointers(rows: torch.Tensor, num_rows: int) -> torch.Tensor:
    """CSR row pointers (num_rows + 1,) of entries sorted by ``rows``."""
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=rows.device)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=num_rows), 0)
    return crow


def renumbering(keep: torch.Tensor, size: int) -> torch.Tensor:
    """(size,) map of old index -> position in ``keep`` (sorted indices), -1 for dropped ones."""
    pos = torch.full((size,), -1, dtype=torch.long, device=keep.device)
    pos[keep] = torch.arange(keep.numel(), device=keep.device)
    return pos


def csr(rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor,
        shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(crow, col, vals) of COO triplets, duplicates summed."""
    # Checked (about 0.05 ms on Cora). torch 2.11 warned that invariant checks were "implicitly
    # disabled" on every graph build, with check_invariants=False and with True alike (seen on
    # the GPU machine); the global switch set explicitly around the build is what it asks for.
    with torch.sparse.check_sparse_tensor_invariants(enable=True):
        coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, shape,
                                      check_invariants=True).coalesce()
    r, c = coo.indices()
    return row_pointers(r, shape[0]), c, coo.values()


@dataclass
class SparseOp:
    """A constant sparse matrix with its transpose, applied to (rows, seeds, features)."""

    a: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    a_t: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    shape: tuple[int, int]

    @classmethod
    def from_coo(cls, rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor,
                 shape: tuple[int, int]) -> "SparseOp":
        return cls(csr(rows, cols, vals, shape), csr(cols, rows, vals, (shape[1], shape[0])),
                   shape)

    def restrict(self, keep: torch.Tensor, window: "Window") -> "SparseOp":
        """Only the rows ``keep`` (sorted node indices) of the matrix, its columns renumbered to
        the nodes of ``window`` (built for those rows)."""
        crow, cols, vals = self.a
        rows = torch.repeat_interleave(torch.arange(self.shape[0], device=crow.device), crow.diff())
        pos = renumbering(keep, self.shape[0])
        sel = pos[rows] >= 0
        return SparseOp.from_coo(pos[rows[sel]], window.position(cols[sel]), vals[sel],
                                 (keep.numel(), window.nodes.numel()))

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        n, s, c = h.shape
        out = spmm(self.a, self.a_t, h.reshape(n, s * c))
        return out.view(self.shape[0], s, c)


def propagation_matrices(edge_index: torch.Tensor, num_nodes: int) -> dict[str, SparseOp]:
    """The fixed propagation matrix of every message-passing op, keyed by kind."""
    n = num_nodes
    src, dst = edge_index
    ones = torch.ones(src.numel(), device=edge_index.device)
    loop = torch.arange(n, device=edge_index.device)
    out: dict[str, SparseOp] = {}
    ei, w = gcn_norm(edge_index, None, n, add_self_loops=True)  # GCNConv
    out["gcn"] = SparseOp.from_coo(ei[1], ei[0], w, (n, n))
    ei, w = gcn_norm(edge_index, None, n, add_self_loops=False)  # ARMAConv
    out["arma"] = SparseOp.from_coo(ei[1], ei[0], w, (n, n))
    ei, w = gcn_norm(remove_self_loops(edge_index)[0], None, n, add_self_loops=False)
    out["cheb"] = SparseOp.from_coo(ei[1], ei[0], -w, (n, n))  # 2L/lambda_max - I, lambda_max=2
    out["sum"] = SparseOp.from_coo(dst, src, ones, (n, n))  # GraphConv (aggr="add")
    out["gin"] = SparseOp.from_coo(torch.cat([dst, loop]), torch.cat([src, loop]),
                                   torch.ones(src.numel() + n, device=src.device), (n, n))
    deg = torch.zeros(n, device=src.device).index_add_(0, dst, ones)
    out["mean"] = SparseOp.from_coo(dst, src, 1.0 / deg.clamp(min=1)[dst], (n, n))  # SAGEConv
    return out


def gat_edges(edge_index: torch.Tensor, num_nodes: int, self_loops: bool) -> torch.Tensor:
    """GATConv's edge list: self-loops replaced by exactly one per node."""
    edge_index, _ = remove_self_loops(edge_index)
    if self_loops:
        edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
    return edge_index


@dataclass
class Window:
    """Target nodes with their in-neighbours: all that any op of the space reads to compute the
    targets' outputs (its propagation matrices and GAT's edges all come from the graph's edges,
    plus self-loops). A leaf op's output is only read on the rows a loss or metric uses, so
    its input transform is only needed here: 644 of 2708 Cora nodes for the 140 training nodes.
    """

    nodes: torch.Tensor  # sorted node indices
    pos: torch.Tensor    # (num_nodes,) each node's position in ``nodes``, -1 outside
    rows: torch.Tensor   # each target's position in ``nodes``

    @classmethod
    def build(cls, edge_index: torch.Tensor, num_nodes: int, rows: torch.Tensor) -> "Window":
        src, dst = edge_index
        into = renumbering(rows, num_nodes)[dst] >= 0
        nodes = torch.unique(torch.cat([src[into], rows]))   # sorted
        pos = renumbering(nodes, num_nodes)
        return cls(nodes, pos, pos[rows])

    def position(self, nodes: torch.Tensor) -> torch.Tensor:
        """Positions of ``nodes`` in the window; every one must lie in it."""
        out = self.pos[nodes]
        if bool((out < 0).any()):
            raise ValueError("nodes outside the window: it was built from other edges")
        return out


@dataclass
class GatGraph:
    """GAT's in-edges of the target nodes, over the table of nodes those edges read: every
    node (``window=None``), or a window's nodes, in which the targets are ``window.rows``."""

    window: "Window | None"
    src: torch.Tensor               # (E',) table row of each edge's source
    dst: torch.Tensor               # (E',) index of each edge's target among the targets
    num_sources: int
    num_targets: int
    _bags: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, edge_index: torch.Tensor, num_nodes: int, window: "Window | None" = None) -> "GatGraph":
        src, dst = edge_index
        if window is None:
            return cls(None, src, dst, num_nodes, num_nodes)
        target = renumbering(window.nodes[window.rows], num_nodes)
        keep = target[dst] >= 0
        return cls(window, window.position(src[keep]), target[dst[keep]], window.nodes.numel(),
                   window.rows.numel())

    def bags(self, groups: int) -> "EdgeBags":
        if groups not in self._bags:
            self._bags[groups] = EdgeBags.build(self.src, self.dst, self.num_sources, self.num_targets, groups)
        return self._bags[groups]


@dataclass
class EdgeBags:
    """Attention aggregation of one edge list as one weighted ``embedding_bag``.

    Messages are grouped G ways (seeds x heads): features ``x`` of shape (N, G, C) are read
    as rows ``n*G + g`` of an (N*G, C) table, and bag ``d*G + g`` sums the rows of the
    sources of target d's in-edges, weighted by their attention ``alpha[e, g]``. One call
    covers every group without materialising an (E, G, C) message tensor.
    """

    index: torch.Tensor    # (E*G,) table row of each weighted term
    offsets: torch.Tensor  # (targets*G + 1,) bag boundaries
    gather: torch.Tensor   # (E*G,) position of each term's weight in alpha.view(-1)
    num_rows: int
    bag: torch.Tensor      # (E*G,) bag of each term
    by_row: torch.Tensor   # terms in table-row order: the transposed sum of the backward
    row_offsets: torch.Tensor  # (sources*G + 1,) boundaries of each table row's terms in by_row

    @classmethod
    def build(cls, src: torch.Tensor, dst: torch.Tensor, num_sources: int, num_targets: int,
              groups: int) -> "EdgeBags":
        """Edges ``src`` (table row) -> ``dst`` (target index)."""
        edge = torch.arange(src.numel(), device=src.device)
        order = torch.argsort(dst, stable=True)
        src, target, edge = src[order], dst[order], edge[order]
        ptr = row_pointers(target, num_targets)
        deg = ptr.diff()
        rank = torch.arange(src.numel(), device=src.device) - ptr[target]   # within its bag
        g = torch.arange(groups, device=src.device)
        slot = (ptr[target, None] * groups + g[None] * deg[target, None] + rank[:, None]).view(-1)
        index = torch.empty_like(slot)
        gather = torch.empty_like(slot)
        index[slot] = (src[:, None] * groups + g[None]).view(-1)
        gather[slot] = (edge[:, None] * groups + g[None]).view(-1)
        starts = (ptr[:-1, None] * groups + g[None] * deg[:, None]).view(-1)
        offsets = torch.cat([starts, ptr[-1:] * groups])
        bag = torch.repeat_interleave(torch.arange(offsets.numel() - 1, device=src.device), offsets.diff())
        by_row = torch.argsort(index, stable=True)
        return cls(index, offsets, gather, num_targets, bag, by_row, row_pointers(index, num_sources * groups))

    def __call__(self, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """x (sources, G, C), alpha (E, G) -> (targets, G, C): sum over in-edges of alpha * x[src]."""
        n, g, c = x.shape
        table, weights = x.reshape(n * g, c), alpha.reshape(-1)[self.gather]
        if x.is_cuda:  # the native backward is fine there (and is what the H100 runs were timed with)
            out = F.embedding_bag(self.index, table, self.offsets, mode="sum",
                                  per_sample_weights=weights, include_last_offset=True)
        else:
            out = _BagSum.apply(table, weights, self)
        return out.view(self.num_rows, g, c)


class _BagSum(torch.autograd.Function):
    """EdgeBags' weighted sum with a backward built from forward-only kernels.

    On the CPU, embedding_bag's own backward took 23 ms for one GAT layer on Cora (3 seeds,
    4 heads), against 1 ms forward. Here the table's gradient is the transposed weighted sum
    (one more forward embedding_bag, 1.3 ms) and each weight's gradient a dot product of the
    two rows it joined, gathered a cache-sized chunk at a time (5.4 ms). Both sum in a fixed
    order, so runs stay bitwise reproducible.
    """

    @staticmethod
    def forward(ctx, table: torch.Tensor, weights: torch.Tensor, bags: "EdgeBags") -> torch.Tensor:
        ctx.save_for_backward(table, weights)
        ctx.bags = bags
        # detached: embedding_bag picks its slower, backward-ready kernel for inputs needing grad
        return F.embedding_bag(bags.index, table.detach(), bags.offsets, mode="sum",
                               per_sample_weights=weights.detach(), include_last_offset=True)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        table, weights = ctx.saved_tensors
        bags, grad = ctx.bags, grad.contiguous()
        grad_table = grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_table = F.embedding_bag(bags.bag[bags.by_row], grad, bags.row_offsets, mode="sum",
                                         per_sample_weights=weights[bags.by_row], include_last_offset=True)
        if ctx.needs_input_grad[1]:
            grad_weights = _row_dots(grad, bags.bag, table, bags.index)
        return grad_table, grad_weights, None


def _row_dots(a: torch.Tensor, a_rows: torch.Tensor, b: torch.Tensor, b_rows: torch.Tensor) -> torch.Tensor:
    """out[t] = a[a_rows[t]] . b[b_rows[t]], gathered in chunks of about 2 MB (whole gathers of
    tens of MB ran ten times slower here)."""
    out = a.new_empty(a_rows.numel())
    step = max(1, (1 << 19) // a.shape[1])
    for start in range(0, a_rows.numel(), step):
        part = slice(start, start + step)
        torch.sum(a.index_select(0, a_rows[part]) * b.index_select(0, b_rows[part]), -1, out=out[part])
    return out
