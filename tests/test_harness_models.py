"""The harness's models: parameter counts against the table, fast path against reference."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nasbench_meta.harness.batched import BatchedNet, GraphContext
from nasbench_meta.harness.data import load_task
from nasbench_meta.harness.models import (NasBenchGraphNet, build_model, count_parameters,
                                          parameter_count)
from nasbench_meta.spaces import Architecture


@pytest.mark.parametrize("task", ["cora", "citeseer"])
def test_parameter_counts_equal_the_table(bench, task):
    """Real PyG models of 300 seeded architectures have exactly the table's `para`."""
    keys = np.random.default_rng(0).choice(bench.task_keys(task), 300, replace=False)
    table = bench.metric(task, "params_m")[bench.rows(keys)]
    counts = np.array([count_parameters(build_model(int(k), task)) for k in keys])
    assert np.array_equal(counts, np.round(table * 1e6).astype(np.int64))


@pytest.mark.parametrize("task", ["cora", "citeseer"])
def test_every_key_has_the_table_parameter_count(bench, task):
    keys = bench.task_keys(task)
    table = np.round(bench.metric(task, "params_m")[bench.rows(keys)] * 1e6).astype(np.int64)
    counts = np.array([parameter_count(int(k), task) for k in keys])
    assert len(keys) == 26206 and np.array_equal(counts, table)


def test_parameter_formula_is_the_model():
    for arch in ["0,0,0,0|gat,gin,cheb,arma", "0,1,2,3|skip,sage,graph,fc", "0,1,1,2|gcn,skip,gat,arma"]:
        for task in ("cora", "cs", "computers", "arxiv"):
            assert parameter_count(arch, task) == count_parameters(build_model(arch, task))


def test_model_is_built_from_the_canonical_architecture():
    # Isomorphic spellings of one architecture give the same model.
    a = build_model("0,0,0,1|gcn,gat,sage,fc", "cora")
    b = build_model(Architecture((0, 0, 0, 1), ("gcn", "sage", "gat", "fc")).canonical(), "cora")
    assert a.arch == b.arch and str(a) == str(b)


# Every op, reading the raw input and reading a hidden node, as leaf and inner node.
ARCHS = ["0,0,0,0|gat,gcn,gin,cheb", "0,0,0,0|sage,arma,graph,fc", "0,1,2,3|skip,gcn,gin,cheb",
         "0,1,2,3|gat,sage,graph,arma", "0,1,1,2|fc,gat,fc,skip", "0,1,1,2|gcn,gat,sage,gat",
         "0,0,1,1|arma,gat,cheb,sage"]   # raw-input ops both inner and leaf


@pytest.fixture(scope="module")
def cora(planetoid_root):
    return load_task("cora", planetoid_root)


def _models(arch, data, seeds, **protocol):
    out = []
    for s in seeds:
        torch.manual_seed(s)
        m = build_model(arch, "cora", data.num_features, int(data.num_classes))
        p = dataclasses.replace(m.protocol, **protocol)
        torch.manual_seed(s)
        out.append(NasBenchGraphNet(m.arch, p, m.in_dim, m.out_dim))
    return out


@pytest.mark.parametrize("arch", ARCHS)
def test_fast_forward_equals_reference(arch, cora):
    """The batched fast model computes what the reference PyG modules compute."""
    _check_against_reference(arch, cora)


def test_gat_without_self_loops_equals_reference(cora):
    """GAT leaf and inner node on the edge list without self-loops (protocols that do not normalise)."""
    _check_against_reference("0,1,1,2|gat,gat,sage,gat", cora, normalize=False)


def _check_against_reference(arch, cora, **protocol):
    ctx = GraphContext.build(cora, "cpu")
    for training in (False, True):
        models = _models(arch, cora, [0, 1], dropout=0.0, **protocol)
        for m in models:  # non-trivial BN statistics for the eval path
            for bn in m.bns:
                bn.running_mean.normal_()
                bn.running_var.uniform_(0.5, 2.0)
        net = BatchedNet(models, [0, 1], ctx)
        net.training = training
        rows = "train" if training else "eval"
        out = net.forward(rows)
        loss = out.square().sum()
        loss.backward()
        for s, model in enumerate(models):
            model.train(training)
            ref = model(cora.x, cora.edge_index)[ctx.rows[rows]]
            torch.testing.assert_close(out[:, s].detach(), ref.detach(), rtol=1e-4, atol=1e-4)
            if training:  # gradients too (raw-input weights live in one stacked tensor)
                ref.square().sum().backward()
                scale = max(p.grad.abs().max() for p in model.parameters() if p.grad is not None)
                for name, p in model.named_parameters():
                    if name in net.params and p.grad is not None:
                        err = (net.params[name].grad[s] - p.grad).abs().max()
                        assert err <= 1e-3 * scale, name


def test_dropout_on_a_window_keeps_each_seeds_stream(cora):
    """A leaf's hidden input is dropped out on the rows it reads only, with the mask those rows
    get when every row is computed: a seed's run does not depend on which rows are."""
    ctx = GraphContext.build(cora, "cpu")
    nodes = ctx.window("train").nodes
    h = torch.ones(cora.num_nodes, 2, 8)

    def dropped(rows, among=None):
        net = BatchedNet(_models("0,1,2,3|gcn,gcn,gcn,gcn", cora, [0, 1]), [0, 1], ctx)
        return net._dropout(h[rows], seed_axis=1, among=among)

    full = dropped(slice(None))
    assert 0 < float((full == 0).float().mean()) < 1
    torch.testing.assert_close(dropped(nodes, among=(cora.num_nodes, nodes)), full[nodes], rtol=0, atol=0)


def test_pre_and_post_layers_match_reference(cora):
    """Protocols with pre-processing and two post layers (other tasks) on the same graph."""
    ctx = GraphContext.build(cora, "cpu")
    models = _models("0,1,1,2|skip,gat,fc,arma", cora, [3], num_pre=2, num_pro=2, dropout=0.0)
    net = BatchedNet(models, [3], ctx)
    net.training = False
    models[0].eval()
    ref = models[0](cora.x, cora.edge_index)[ctx.rows["eval"]]
    torch.testing.assert_close(net.forward("eval")[:, 0].detach(), ref.detach(), rtol=1e-4, atol=1e-4)


def test_bfloat16_seed_linear_is_one_bfloat16_product_per_seed():
    from nasbench_meta.harness.batched import _lin_sum

    gen = torch.Generator().manual_seed(0)
    h1, h2 = (torch.randn(50, 3, k, generator=gen, requires_grad=True) for k in (16, 8))
    w1, w2 = (torch.randn(3, 12, k, generator=gen, requires_grad=True) for k in (16, 8))
    b = torch.randn(1, 3, 12, generator=gen, requires_grad=True)
    out = _lin_sum([(h1, w1), (h2, w2)], b, torch.bfloat16)
    g = torch.randn(out.shape, generator=gen)
    grads = torch.autograd.grad(out, (h1, h2, w1, w2, b), g)
    # Mixed precision spelled out: bfloat16 operands, float32 result, float32 gradients.
    h, w = torch.cat([h1, h2], 2).bfloat16(), torch.cat([w1, w2], 2).bfloat16()
    ref = torch.stack([(h[:, j] @ w[j].t()).float() for j in range(3)], 1) + b
    ref_grads = torch.autograd.grad(ref, (h1, h2, w1, w2, b), g)
    assert out.dtype == torch.float32 and all(x.dtype == torch.float32 for x in grads)
    torch.testing.assert_close(out, ref)
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want)
    exact = _lin_sum([(h1, w1), (h2, w2)], b)   # float32: differs by bfloat16's rounding only
    assert not torch.equal(out, exact)
    torch.testing.assert_close(out, exact, rtol=0.05, atol=0.1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gpu_seed_linear_computes_what_the_cpu_one_does(dtype):
    # On CUDA the per-seed maps run as one bmm per term (launch-bound there); the CPU keeps one
    # BLAS call per seed. Both must give the same values and gradients up to rounding.
    from nasbench_meta.harness.batched import _lin_sum, _lin_sum_bmm

    gen = torch.Generator().manual_seed(1)
    h1, h2 = (torch.randn(40, 3, k, generator=gen, requires_grad=True) for k in (16, 8))
    w1, w2 = (torch.randn(3, 12, k, generator=gen, requires_grad=True) for k in (16, 8))
    b = torch.randn(1, 3, 12, generator=gen, requires_grad=True)
    g = torch.randn(40, 3, 12, generator=gen)
    tol = {} if dtype == torch.float32 else {"rtol": 0.02, "atol": 0.05}
    for terms, bias in (([(h1, w1)], None), ([(h1, w1), (h2, w2)], b)):
        leaves = [t for pair in terms for t in pair] + ([bias] if bias is not None else [])
        cpu, gpu = _lin_sum(terms, bias, dtype), _lin_sum_bmm(terms, bias, dtype)
        assert gpu.shape == cpu.shape == (40, 3, 12) and gpu.dtype == torch.float32
        torch.testing.assert_close(gpu, cpu, **tol)
        for got, want in zip(torch.autograd.grad(gpu, leaves, g), torch.autograd.grad(cpu, leaves, g)):
            assert got.dtype == torch.float32
            torch.testing.assert_close(got, want, **tol)
    if torch.cuda.is_available():   # and CUDA tensors take that path, never the per-seed one
        import nasbench_meta.harness.batched as batched

        def refuse(*args):
            raise AssertionError("CUDA tensors went through the per-seed CPU path")

        hc, wc = h1.detach().cuda(), w1.detach().cuda()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(batched._SeedLinear, "apply", refuse)
            mp.setattr(batched._SeedLinearBf16, "apply", refuse)
            on_gpu = _lin_sum([(hc, wc)], None, dtype).cpu()
        torch.testing.assert_close(on_gpu, _lin_sum_bmm([(h1, w1)], None, dtype).detach(), **tol)
