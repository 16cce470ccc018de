"""Fast training path: several seeds of one architecture trained as one batched model.

Same model, same maths as ``models.NasBenchGraphNet``; what changes is the order of work:

- the seeds' parameters are stacked (leading seed axis) and every tensor is (nodes, seeds,
  features), so one sparse product propagates all seeds and one BLAS call per seed maps each
  seed's slice in place (on a CPU; on a GPU, which launch overhead bounds, one bmm per term);
- graph operators are precomputed sparse matrices (``operators.py``);
- the raw bag-of-words features stay sparse: the first layer is a sparse x dense product
  (dropout only touches stored values - the zeros stay zero either way), and all ops reading
  the raw input share its layout and dropped-out values (one product per weight);
- outputs are only computed for the rows a loss or metric reads: leaf ops, the concat layer
  and the post layers run on the training nodes in training and on validation + test nodes
  in evaluation (they are row-wise, so the other rows are never needed). A leaf GAT, the
  sparse product of leaf ops reading the raw input, and the ReLU and dropout of a leaf's
  hidden input run only on those rows' in-neighbours (``operators.Window``: 644 of 2708 Cora
  nodes in training); BatchNorm's training statistics still come from every row;
- with ``precision="bfloat16"`` (opt-in) the ops' dense products run in bfloat16 with float32
  weights, accumulation and everything else (mixed precision, as autocast does);
- dropout draws from one generator per seed, so a seed's random draws do not depend on which
  other seeds share its batch (float sums may differ in the last bits with the batch size, and a
  run that blows up amplifies that: its divergence epoch can move).

A test checks this forward against the reference modules for every op.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import softmax

from nasbench_meta.harness.models import NasBenchGraphNet
from nasbench_meta.harness.operators import (GatGraph, SparseOp, Window, csr_mm, gat_edges, propagation_matrices,
                                              row_pointers, spmm)
from nasbench_meta.harness.protocol import PRECISIONS

# Each op as terms (weight name, propagation kind or None for the identity), bias, activation.
_TERMS: dict[str, tuple[tuple[tuple[str, str | None], ...], str | None]] = {
    "gcn": ((("lin.weight", "gcn"),), "bias"),
    "gin": ((("nn.weight", "gin"),), "nn.bias"),
    "cheb": ((("lins.0.weight", None), ("lins.1.weight", "cheb")), "bias"),
    "sage": ((("lin_l.weight", "mean"), ("lin_r.weight", None)), "lin_l.bias"),
    "arma": ((("init_weight", "arma"), ("root_weight", None)), "bias"),
    "graph": ((("lin_rel.weight", "sum"), ("lin_root.weight", None)), "lin_rel.bias"),
    "fc": ((("lin.weight", None),), "lin.bias"),
    "gat": ((("lin.weight", None),), "bias"),
}


@dataclass
class GraphContext:
    """Everything about one graph the fast path precomputes, on one device."""

    num_nodes: int
    in_dim: int
    num_classes: int
    x_coo: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    props: dict[str, SparseOp]
    gat_edges: dict[bool, torch.Tensor]
    rows: dict[str, torch.Tensor]   # "train", "eval" node indices
    y: dict[str, torch.Tensor]      # labels of those rows
    val_pos: torch.Tensor           # positions of validation / test nodes within "eval"
    test_pos: torch.Tensor
    _restricted: dict = field(default_factory=dict)
    _blocks: dict = field(default_factory=dict)
    _gat_graphs: dict = field(default_factory=dict)
    _windows: dict = field(default_factory=dict)

    @classmethod
    def build(cls, data: Data, device: "str | torch.device") -> "GraphContext":
        device = torch.device(device)
        x = data.x.to(device)
        ei = data.edge_index.to(device)
        n = data.num_nodes
        x_coo = x.to_sparse_coo().coalesce()
        r, c = x_coo.indices()
        train = data.train_mask.nonzero().view(-1).to(device)
        evalm = (data.val_mask | data.test_mask).to(device)
        ev = evalm.nonzero().view(-1)
        y = data.y.to(device)
        return cls(
            num_nodes=n, in_dim=x.shape[1], num_classes=int(data.num_classes),
            x_coo=(r, c, x_coo.values()),
            props=propagation_matrices(ei, n),
            gat_edges={b: gat_edges(ei, n, b) for b in (True, False)},
            rows={"train": train, "eval": ev}, y={"train": y[train], "eval": y[ev]},
            val_pos=data.val_mask.to(device)[ev].nonzero().view(-1),
            test_pos=data.test_mask.to(device)[ev].nonzero().view(-1),
        )

    def prop(self, kind: str, rows: str | None) -> SparseOp:
        """Propagation matrix ``kind`` over all nodes (``rows`` None), or its rows ``rows``
        reading a tensor over ``window(rows)``'s nodes."""
        if rows is None:
            return self.props[kind]
        if (kind, rows) not in self._restricted:
            self._restricted[kind, rows] = self.props[kind].restrict(self.rows[rows], self.window(rows))
        return self._restricted[kind, rows]

    def propagate(self, kind: str | None, x: torch.Tensor, rows: str | None) -> torch.Tensor:
        """One term of an op: propagation ``kind`` (None: the identity) of ``x``, a tensor over
        all nodes (``rows`` None) or over ``window(rows)``'s nodes, onto all nodes or ``rows``."""
        if kind is not None:
            return self.prop(kind, rows)(x)
        return x if rows is None else x.index_select(0, self.window(rows).rows)

    def window(self, rows: str) -> Window:
        """``rows`` and their in-neighbours: every node an op reads to compute ``rows``."""
        if rows not in self._windows:
            self._windows[rows] = Window.build(self.gat_edges[False], self.num_nodes, self.rows[rows])
        return self._windows[rows]

    def gat_graph(self, self_loops: bool, rows: str | None) -> GatGraph:
        """GAT's edges into ``rows`` (None: all nodes), over the nodes they read."""
        if (self_loops, rows) not in self._gat_graphs:
            self._gat_graphs[self_loops, rows] = GatGraph.build(
                self.gat_edges[self_loops], self.num_nodes, None if rows is None else self.window(rows))
        return self._gat_graphs[self_loops, rows]

    def raw_block(self, seeds: int, rows: str | None = None) -> tuple:
        """Index structure of the (N*S, S*in) matrix holding each seed's dropped-out features,
        for all N nodes or (``rows``) the M nodes of ``window(rows)``: (layout, transposed
        layout, positions of its entries among the stored values (None: all), M).

        Row ``i*S + s``, column ``s*in + j``: seed s's copy of x[i, j]. Multiplying it by the
        seeds' stacked first-layer weights (S*in, out) gives all seeds' products at once.
        """
        if (seeds, rows) not in self._blocks:
            r, c, _ = self.x_coo
            picks, n = None, self.num_nodes
            if rows is not None:
                window = self.window(rows)
                picks = (window.pos[r] >= 0).nonzero().view(-1)
                r, c, n = window.pos[r[picks]], c[picks], window.nodes.numel()
            s = torch.arange(seeds, device=r.device)[:, None]
            block_rows = (r[None] * seeds + s).reshape(-1)
            block_cols = (c[None] + s * self.in_dim).reshape(-1)
            shape = (n * seeds, seeds * self.in_dim)
            self._blocks[seeds, rows] = (_csr_layout(block_rows, block_cols, shape),
                                         _csr_layout(block_cols, block_rows, shape[::-1]), picks, n)
        return self._blocks[seeds, rows]


def _csr_layout(rows: torch.Tensor, cols: torch.Tensor, shape: tuple[int, int]) -> tuple:
    """(crow, col, order): CSR layout of COO triplets; ``vals[order]`` are the CSR values."""
    order = torch.argsort(rows * shape[1] + cols)
    return row_pointers(rows, shape[0]), cols[order], order


def _csr_from(layout: tuple, vals: torch.Tensor) -> tuple:
    crow, col, order = layout
    return crow, col, vals[order]


def check_precision(precision: str) -> torch.dtype:
    """The dtype of the hidden layers' matrix products for ``precision`` (a clear error otherwise)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)} "
                         "(float32 is the benchmark's own; bfloat16 runs the ops' matrix products "
                         "in bfloat16 with float32 weights and accumulation)")
    return getattr(torch, precision)


def _lin(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None,
         dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Per-seed linear map: h (M, S, in), w (S, out, in) -> (M, S, out)."""
    return _lin_sum([(h, w)], b, dtype)


def _lin_sum(terms: list[tuple[torch.Tensor, torch.Tensor]], b: torch.Tensor | None = None,
             dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Sum of per-seed linear maps (+ bias (1, S, out)): h (M, S, in), w (S, out, in) -> (M, S, out).

    ``dtype`` bfloat16: the products run in bfloat16 (float32 accumulation), everything else,
    the weights and their updates included, stays float32 (mixed precision).
    """
    if terms[0][0].is_cuda:
        return _lin_sum_bmm(terms, b, dtype)
    flat = (t for pair in terms for t in pair)
    if dtype == torch.bfloat16:
        return _SeedLinearBf16.apply(b, *flat)
    return _SeedLinear.apply(b, *flat)


def _lin_sum_bmm(terms: list[tuple[torch.Tensor, torch.Tensor]], b: torch.Tensor | None,
                 dtype: torch.dtype) -> torch.Tensor:
    """``_lin_sum`` as one batched product per term, with autograd's own backward: the GPU path.

    A GPU is launch-bound on these small products (Cora, 3 seeds: kernels kept it busy 18% of
    the time), so one bmm over all seeds beats ``_SeedLinear``'s per-seed calls there, while on
    a CPU the per-seed calls win (they avoid a layout copy). bfloat16 concatenates the terms along
    the input axis first, so the sum is rounded once, as ``_SeedLinearBf16`` rounds it.
    """
    if dtype == torch.bfloat16:
        terms = [(torch.cat([h.to(dtype) for h, _ in terms], 2), torch.cat([w.to(dtype) for _, w in terms], 2))]
    out = None
    for h, w in terms:
        y = torch.bmm(h.transpose(0, 1), w.transpose(1, 2)).float()   # (S, M, out)
        out = y if out is None else out + y
    out = out.transpose(0, 1)
    return out if b is None else out + b


class _SeedLinear(torch.autograd.Function):
    """Per-seed linear maps as one BLAS call per seed and term, on strided views.

    Each seed's (M, in) slice of an (M, S, in) tensor is a plain strided matrix, and so is
    its slice of the (M, S, out) result, so matmuls read and write the seed-interleaved layout
    in place. Measured on 2 CPU cores, forward and backward of a two-term (2708, 3, 256) map:
    43 ms against 55 ms for bmm over transposed views, whose result also needed a layout copy
    before the next op. Results match bmm's up to rounding.
    """

    @staticmethod
    def forward(ctx, b: "torch.Tensor | None", *pairs: torch.Tensor) -> torch.Tensor:
        hs, ws = pairs[0::2], pairs[1::2]
        m, seeds, _ = hs[0].shape
        out = hs[0].new_empty(m, seeds, ws[0].shape[1])
        for j in range(seeds):
            o = out[:, j]
            if b is None:
                torch.mm(hs[0][:, j], ws[0][j].t(), out=o)
            else:
                torch.addmm(b[0, j], hs[0][:, j], ws[0][j].t(), out=o)
            for h, w in zip(hs[1:], ws[1:]):
                o.addmm_(h[:, j], w[j].t())
        ctx.has_bias = b is not None
        ctx.save_for_backward(*pairs)
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple:
        pairs, need = ctx.saved_tensors, ctx.needs_input_grad
        grads: list = [g.sum(0, keepdim=True) if ctx.has_bias and need[0] else None]
        for k in range(0, len(pairs), 2):
            h, w = pairs[k], pairs[k + 1]
            gh = g.new_empty(h.shape) if need[1 + k] else None
            gw = g.new_empty(w.shape) if need[2 + k] else None
            for j in range(g.shape[1]):
                if gh is not None:
                    torch.mm(g[:, j], w[j], out=gh[:, j])
                if gw is not None:
                    torch.mm(g[:, j].t(), h[:, j], out=gw[j])
            grads += [gh, gw]
        return tuple(grads)


class _SeedLinearBf16(torch.autograd.Function):
    """``_SeedLinear`` with bfloat16 products: the terms are cast once and concatenated along
    the input axis, so each seed's output is one bfloat16 GEMM (float32 accumulation) whose
    result is rounded to bfloat16 once, as autocast's linear layers do. Backward runs both
    products in bfloat16 too; gradients come back as float32. On CPUs with bfloat16 units
    (AVX512-BF16, AMX) these GEMMs run about 2.5x faster than float32 ones.
    """

    @staticmethod
    def forward(ctx, b: "torch.Tensor | None", *pairs: torch.Tensor) -> torch.Tensor:
        hs, ws = pairs[0::2], pairs[1::2]
        h = torch.cat([x.to(torch.bfloat16) for x in hs], 2)    # (M, S, sum of in)
        w = torch.cat([x.to(torch.bfloat16) for x in ws], 2)    # (S, out, sum of in)
        m, seeds, _ = h.shape
        out = hs[0].new_empty(m, seeds, w.shape[1])
        for j in range(seeds):
            out[:, j].copy_(torch.mm(h[:, j], w[j].t()))
        if b is not None:
            out += b
        ctx.has_bias, ctx.widths = b is not None, [x.shape[2] for x in hs]
        ctx.save_for_backward(h, w)
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple:
        h, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        g16 = g.to(torch.bfloat16)
        gh = g.new_empty(h.shape) if any(need[1::2]) else None
        gw = g.new_empty(w.shape) if any(need[2::2]) else None
        for j in range(g.shape[1]):
            if gh is not None:
                gh[:, j].copy_(torch.mm(g16[:, j], w[j]))
            if gw is not None:
                gw[j].copy_(torch.mm(g16[:, j].t(), h[:, j]))
        grads: list = [g.sum(0, keepdim=True) if ctx.has_bias and need[0] else None]
        start = 0
        for k, width in enumerate(ctx.widths):
            cols = slice(start, start + width)
            grads += [gh[:, :, cols] if need[1 + 2 * k] else None, gw[:, :, cols] if need[2 + 2 * k] else None]
            start += width
        return tuple(grads)


@dataclass
class _RawGroup:
    """Weights applied to the raw input: the terms ``names`` of ops ``ops``, kept as parameters
    ``raw.<name>`` of shape (S, in, out); ``leaf``: leaf ops, computed on a window."""

    ops: list[int]
    names: list[str]
    leaf: bool


class BatchedNet:
    """Seeds of one architecture as one model with stacked parameters."""

    def __init__(self, models: list[NasBenchGraphNet], seeds: list[int], ctx: GraphContext,
                 precision: str = "float32") -> None:
        ref = models[0]
        self.matmul_dtype = check_precision(precision)   # of the ops' dense products only
        self.arch, self.protocol, self.ctx = ref.arch, ref.protocol, ctx
        self.raw, self.leaves = ref.raw, ref.leaves
        self.seeds = list(seeds)
        device = ctx.x_coo[0].device
        self.params = {
            name: torch.stack([dict(m.named_parameters())[name].detach() for m in models])
            .to(device).requires_grad_()
            for name, _ in ref.named_parameters()
        }
        self.buffers = {
            name: torch.stack([dict(m.named_buffers())[name] for m in models]).to(device)
            for name, _ in ref.named_buffers()
        }
        for name, eps in self.buffers.items():
            if name.endswith(".eps") and bool((eps != 0).any()):
                raise ValueError("GIN with a non-zero eps is not part of this space")
        self.generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
        self.training = True
        self._init_raw_weight()

    def _init_raw_weight(self) -> None:
        """Keep every weight applied to the raw features as an (S, in, out) parameter, in groups.

        The weights of a group multiply the same sparse input (one layout and one set of
        dropped-out values), each in its own product: one product over all the terms'
        concatenated columns re-reads a weight too large for the cache for every stored
        value (7 terms of 256 columns on Cora: 36 against 11 ms per evaluation pass). Keeping
        the product's layout avoids re-packing 10-20 MB of weights every step; the update
        rules (SGD, Adam, weight decay) are elementwise, so this changes nothing. Leaf ops form
        their own group, whose products run only on the window of the rows read
        (``GraphContext.window``).
        """
        links, ops = self.arch.links, self.arch.ops
        if self.protocol.num_pre:
            groups = [([], ["pre.0.weight"], False)]
        else:
            raw_ops = [i for i in range(len(ops)) if self.raw[links[i]] and ops[i] != "skip"]
            groups = []
            for leaf in (False, True):
                group = [i for i in raw_ops if ((i + 1) in self.leaves) == leaf]
                groups.append((group, [f"ops.{i}.{w}" for i in group for w, _ in _TERMS[ops[i]][0]], leaf))
        self.raw_groups: list[_RawGroup] = []
        for group, names, leaf in groups:
            if not names:
                continue
            for name in names:
                with torch.no_grad():   # a copy: ARMA's layout makes the transpose a view of the old weight
                    weight = self._weight("", name).transpose(1, 2).clone(memory_format=torch.contiguous_format)
                del self.params[name]
                self.params["raw." + name] = weight.requires_grad_()
            self.raw_groups.append(_RawGroup(group, names, leaf))

    # -- helpers ----------------------------------------------------------------------------
    def p(self, name: str) -> torch.Tensor:
        return self.params[name]

    def _weight(self, prefix: str, name: str) -> torch.Tensor:
        """A term's weight as (S, out, in), whatever layout its PyG layer keeps it in."""
        w = self.p(prefix + name)
        if name.endswith("init_weight"):          # ARMA: (S, K=1, in, out)
            return w[:, 0].transpose(1, 2)
        if name.endswith("root_weight"):          # ARMA: (S, T=1, K=1, in, out)
            return w[:, 0, 0].transpose(1, 2)
        return w

    def _bias(self, prefix: str, name: str) -> torch.Tensor:
        b = self.p(prefix + name)
        return b.reshape(b.shape[0], -1)

    def _dropout(self, h: torch.Tensor, seed_axis: int, among: "tuple[int, torch.Tensor] | None" = None) -> torch.Tensor:
        """Dropout with each seed's own generator (so batching does not change a seed's run).

        Keep/drop comes from 16-bit random lanes, four per 64-bit draw: drawing a float per
        element costs several times more. The drop rate is p rounded up to a multiple of
        2^-16 and the scale uses that exact rate, so the output stays unbiased. ``among``
        = (n, nodes): ``h`` holds the rows ``nodes`` of an n-row tensor (seed axis 1); lanes are
        drawn for all n rows, so a seed's stream does not depend on which rows are computed.
        """
        p = self.protocol.dropout
        if not self.training or p == 0:
            return h
        shape = list(h.shape)
        if among is not None:
            shape[0] = among[0]
        n_seeds = shape.pop(seed_axis)
        per_seed = math.prod(shape)
        bits = torch.empty(n_seeds, -(-per_seed // 4), dtype=torch.int64, device=h.device)
        for s, gen in enumerate(self.generators):   # contiguous per-seed draws: fast
            bits[s].random_(-2**63, None, generator=gen)
        lanes = bits.view(torch.int16)[:, :per_seed].reshape([n_seeds] + shape).movedim(0, seed_axis)
        if among is not None:
            lanes = lanes.index_select(0, among[1])
        dropped = math.ceil(p * 65536)
        # A float mask in h's own layout holding 0 or the scale: a bool mask is converted on
        # every use (forward and backward), and a mask in another layout makes both products
        # strided; each costs more than this one conversion.
        mask = torch.empty_like(h).copy_(lanes).ge_(dropped - 32768).mul_(65536 / (65536 - dropped))
        return h * mask

    def _bn(self, i: int, h: torch.Tensor) -> torch.Tensor:
        n, s, c = h.shape
        pre = f"bns.{i}."
        out = F.batch_norm(
            h.reshape(n, s * c), self.buffers[pre + "running_mean"].view(-1),
            self.buffers[pre + "running_var"].view(-1), self.p(pre + "weight").reshape(-1),
            self.p(pre + "bias").reshape(-1), self.training, 0.1, 1e-5)
        return out.view(n, s, c)

    def _hidden_input(self, i: int, h: torch.Tensor, nodes: "torch.Tensor | None") -> torch.Tensor:
        """BatchNorm -> ReLU -> dropout of op ``i``'s input, on all rows or only on ``nodes``.

        Training statistics need every row, so BatchNorm runs on all of them there; ReLU and
        dropout (and, in evaluation, the row-wise BatchNorm too) run on ``nodes`` only.
        """
        if nodes is None:
            return self._dropout(F.relu(self._bn(i, h)), seed_axis=1)
        if self.training:
            h = self._bn(i, h).index_select(0, nodes)
        else:
            h = self._bn(i, h.index_select(0, nodes))
        return self._dropout(F.relu(h), seed_axis=1, among=(self.ctx.num_nodes, nodes))

    # -- the raw (sparse) input -----------------------------------------------------------
    def _raw_values(self) -> torch.Tensor:
        """(S, nnz) stored values of the raw features, dropped out once for every op reading them."""
        vals = self.ctx.x_coo[2].expand(len(self.seeds), -1)
        if self.training and self.protocol.dropout > 0:
            vals = self._dropout(vals, seed_axis=0)
        return vals

    def _raw_product(self, group: "_RawGroup", vals: torch.Tensor, rows: str) -> list[torch.Tensor]:
        """x @ w for every weight of ``group``: [(M, S, out), ...] over all nodes, or over
        ``window(rows)``'s nodes for a group of leaf ops."""
        seeds = len(self.seeds)
        layout, layout_t, picks, n = self.ctx.raw_block(seeds, rows if group.leaf else None)
        vals = (vals if picks is None else vals.index_select(1, picks)).reshape(-1)
        a, a_t = _csr_from(layout, vals), _csr_from(layout_t, vals)
        out = []
        for name in group.names:
            w = self.params["raw." + name]                     # (S, in, out)
            w = w.reshape(-1, w.shape[2])
            y = spmm(a, a_t, w) if torch.is_grad_enabled() else csr_mm(a, w)
            out.append(y.view(n, seeds, -1))
        return out

    # -- ops ------------------------------------------------------------------------------
    def _op_on_product(self, i: int, op: str, parts: list[torch.Tensor], rows: str | None):
        """Finish op ``i`` given its input already multiplied by each term's weight: on all
        nodes, or (a leaf, ``rows`` given) on the nodes of ``window(rows)``."""
        terms, bias = _TERMS[op]
        pre = f"ops.{i}."
        if op == "gat":   # the window's nodes are the table GAT reads
            return self._gat(i, parts[0], self.ctx.gat_graph(self.protocol.normalize, rows))
        out = None
        for (_, kind), xw in zip(terms, parts):
            y = self.ctx.propagate(kind, xw, rows)
            out = y if out is None else out + y
        out = out + self._bias(pre, bias)[None]
        return F.relu(out) if op == "arma" else out

    def _hidden_nodes(self, op: str, rows: str | None) -> "torch.Tensor | None":
        """The nodes whose input op ``op`` reads to compute ``rows`` (None: all nodes)."""
        if rows is None:
            return None
        return self.ctx.rows[rows] if op == "skip" else self.ctx.window(rows).nodes

    def _op_on_hidden(self, i: int, op: str, h: torch.Tensor, rows: str | None):
        """Op ``i`` on a dense input over ``_hidden_nodes(op, rows)``: propagate first (cheap on
        few rows), then one matmul."""
        if op == "skip":
            return h
        terms, bias = _TERMS[op]
        pre = f"ops.{i}."
        if op == "gat":   # x @ W only on the nodes whose messages reach ``rows``
            graph = self.ctx.gat_graph(self.protocol.normalize, rows)
            return self._gat(i, _lin(h, self._weight(pre, terms[0][0]), dtype=self.matmul_dtype), graph)
        products = [(self.ctx.propagate(kind, h, rows), self._weight(pre, name)) for name, kind in terms]
        out = _lin_sum(products, self._bias(pre, bias)[None], self.matmul_dtype)
        return F.relu(out) if op == "arma" else out

    def _gat(self, i: int, xw: torch.Tensor, graph: GatGraph) -> torch.Tensor:
        """GATConv (4 heads, concat, slope 0.2, no attention dropout) on x @ W of ``graph``'s nodes.

        Attention logits are small (E, S, H); the aggregation is one weighted embedding_bag
        over every (seed, head) group, for the target rows only.
        """
        pre = f"ops.{i}."
        n, s, hc = xw.shape
        att = torch.cat([self.p(pre + "att_src")[:, 0], self.p(pre + "att_dst")[:, 0]], 1)  # (S, 2H, C)
        heads = att.shape[1] // 2
        x = xw.contiguous().view(n, s, heads, hc // heads)
        # Both logits of every head in one (N, hc) x (hc, 2H) matmul per seed, through a
        # block-diagonal map: x is read once, and no (N, S, H, C) product is materialised.
        picks = torch.eye(heads, dtype=att.dtype, device=att.device).repeat(2, 1)  # (2H, H)
        logits = _lin(xw, (att[:, :, None, :] * picks[None, :, :, None]).reshape(s, 2 * heads, hc))
        a_src, a_dst = logits[..., :heads], logits[..., heads:]                # (N, S, H) each
        if graph.window is not None:
            a_dst = a_dst.index_select(0, graph.window.rows)
        # index_select, not a_src[src]: its backward sums per node in a fixed order, while the
        # indexing backward adds with atomics on several CPU threads (runs differed in the last bits)
        alpha = F.leaky_relu(a_src.index_select(0, graph.src) + a_dst.index_select(0, graph.dst), 0.2)
        alpha = softmax(alpha, graph.dst, num_nodes=graph.num_targets, dim=0)   # (E, S, H)
        out = graph.bags(s * heads)(x.view(n, s * heads, hc // heads), alpha.reshape(-1, s * heads))
        return out.view(-1, s, hc) + self._bias(pre, "bias")[None]

    # -- forward --------------------------------------------------------------------------
    def forward(self, rows: str) -> torch.Tensor:
        """Logits (len(rows), S, classes) for the node set ``rows`` ("train" or "eval")."""
        links, ops = self.arch.links, self.arch.ops
        outs: dict[int, torch.Tensor | None] = {0: None}   # None: the raw sparse input
        pre_layers = self.protocol.num_pre
        vals = self._raw_values() if self.raw_groups else None
        if pre_layers:
            h = self._raw_product(self.raw_groups[0], vals, rows)[0] + self._bias("pre.0.", "bias")[None]
            for k in range(1, pre_layers):
                h = F.elu(h) if k == pre_layers - 1 else h
                h = _lin(h, self.p(f"pre.{k}.weight"), self._bias(f"pre.{k}.", "bias")[None])
            outs[0] = h
        parts: dict[int, list[torch.Tensor]] = {}
        if not pre_layers:
            for group in self.raw_groups:
                chunks = iter(self._raw_product(group, vals, rows))
                for i in group.ops:
                    parts[i] = [next(chunks) for _ in _TERMS[ops[i]][0]]
        for i, (op, link) in enumerate(zip(ops, links)):
            node_rows = rows if (i + 1) in self.leaves else None
            if self.raw[i + 1]:
                outs[i + 1] = None                       # a skip passing the raw input on
            elif i in parts:
                outs[i + 1] = self._op_on_product(i, op, parts[i], node_rows)
            else:
                h = self._hidden_input(i, outs[link], self._hidden_nodes(op, node_rows))
                outs[i + 1] = self._op_on_hidden(i, op, h, node_rows)
        x = torch.cat([outs[j] for j in self.leaves], dim=2).relu_()   # cat made a new tensor
        num_pro = self.protocol.num_pro
        if num_pro == 1:
            return _lin(x, *self._fc_then_post())
        x = _lin(x, self.p("fc.weight"), self._bias("fc.", "bias")[None])
        for k in range(num_pro):
            x = _lin(x, self.p(f"post.{k}.weight"), self._bias(f"post.{k}.", "bias")[None])
            if k == num_pro - 2:
                x = F.elu(x)
        return x

    def _fc_then_post(self) -> tuple[torch.Tensor, torch.Tensor]:
        """fc followed by the single post layer, as one (S, classes, leaves*dim) map and bias.

        Nothing lies between the two, so mapping the concatenated leaves straight to the
        classes skips a (rows x leaves*dim x dim) matmul per seed, the largest one of an
        evaluation pass; autograd still gives each layer its own gradient.
        """
        w_fc, w_post = self.p("fc.weight"), self.p("post.0.weight")
        b_fc, b_post = self._bias("fc.", "bias"), self._bias("post.0.", "bias")
        w = torch.bmm(w_post, w_fc)
        b = torch.baddbmm(b_post[:, :, None], w_post, b_fc[:, :, None])[:, :, 0]
        return w, b[None]

    def output_weight(self) -> torch.Tensor:
        """Weights of the last linear layer ``forward`` applies: every logit goes through them."""
        num_pro = self.protocol.num_pro
        return self.p(f"post.{num_pro - 1}.weight" if num_pro else "fc.weight")

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def load_into(self, models: list[NasBenchGraphNet]) -> None:
        """Copy each seed's trained parameters and BN statistics back into its module."""
        with torch.no_grad():
            raw = {}
            for group in self.raw_groups:
                for name in group.names:
                    raw[name] = self.params["raw." + name].transpose(1, 2)   # (S, out, in)
            for s, model in enumerate(models):
                for name, value in model.named_parameters():
                    if name in raw:   # back to the layer's own layout (ARMA keeps (.., in, out))
                        w = raw[name][s]
                        w = w.t() if name.endswith(("init_weight", "root_weight")) else w
                        value.copy_(w.reshape(value.shape))
                    else:
                        value.copy_(self.params[name][s])
                for name, value in model.named_buffers():
                    value.copy_(self.buffers[name][s])

