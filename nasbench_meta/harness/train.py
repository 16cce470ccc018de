"""Train an architecture on a task with the benchmark's protocol, one result per seed.

Protocol (the benchmark's ``Worker.run``): full batch; per epoch one training step (log-softmax
+ NLL on the training nodes) and one evaluation pass. A run is scored the way the table is
(``score_curves``): validation = the best validation accuracy over the epochs, test = the test
accuracy at the first epoch with the lowest validation loss. That pairing is what the table
holds: retraining 23 Cora architectures, the table's validation-minus-test gap (up to 27 points
for slowly learning architectures) correlates 0.96 with it and 0.17 with the test at the
best-accuracy epoch. Two trainers share that protocol:

- ``train_seeds`` (default): all seeds at once through ``batched.BatchedNet``;
- ``train_naive``: the straightforward PyG loop, one seed at a time - the speed baseline and
  the definition the fast path is checked against.
"""
from __future__ import annotations

import os
import platform
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import torch_geometric
from torch_geometric.data import Data

import nasbench_meta
from nasbench_meta.harness.batched import BatchedNet, GraphContext, check_precision
from nasbench_meta.harness.models import NasBenchGraphNet, build_model, canonical_architecture
from nasbench_meta.harness.protocol import DATASET_SHAPES
from nasbench_meta.seeds import check_seed_list, torch_random_stream
from nasbench_meta.spaces import Architecture


@dataclass
class SeedRun:
    """One (architecture, task, seed) training run."""

    key: int
    arch: str
    task: str
    seed: int
    epochs: int
    valid_acc: float          # best validation accuracy over the epochs
    test_acc: float           # test accuracy at best_epoch
    best_epoch: int           # first epoch with the lowest (finite) validation loss
    params: int
    latency_s: float          # one full-batch evaluation forward of the trained model
    train_time_s: float       # batched runs: the batch's time split evenly over its seeds
    trainer: str              # "batched" | "naive"
    device: str
    precision: str = "float32"   # of the ops' matrix products ("bfloat16": mixed precision)
    versions: dict = field(default_factory=dict)
    train_loss: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    val_curve: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    test_curve: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    val_loss: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    @property
    def diverged_epoch(self) -> "int | None":
        """First epoch whose training loss was not finite (the model blew up), else None."""
        bad = np.flatnonzero(~np.isfinite(np.asarray(self.train_loss)))
        return int(bad[0]) if len(bad) else None

    def summary(self) -> dict:
        """Scalars only (no curves), e.g. for a table; ``diverged_epoch`` -1 if it never blew up."""
        out = asdict(self)
        for name in CURVES + ("versions",):
            out.pop(name)
        out["diverged_epoch"] = -1 if self.diverged_epoch is None else self.diverged_epoch
        return out


CURVES = ("train_loss", "val_curve", "test_curve", "val_loss")


def score_curves(val_acc: np.ndarray, val_loss: np.ndarray, test_acc: np.ndarray) -> tuple[float, float, int]:
    """(validation, test, selected epoch) of a run from its curves, as the table scores it.

    Validation is the best validation accuracy; test is read at the first epoch with the
    lowest validation loss. Epochs whose loss is NaN (a blown-up model) are never selected;
    if no epoch has a finite loss, epoch 0 is.
    """
    loss = np.where(np.isfinite(val_loss), val_loss, np.inf)
    epoch = int(np.argmin(loss))
    return float(np.max(val_acc)), float(test_acc[epoch]), epoch


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def library_versions(device: "torch.device | None" = None) -> dict:
    """Versions a run depends on; on CUDA also the CUDA version and the GPU model, which
    timings (latency, training time) depend on."""
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "torch_geometric": torch_geometric.__version__,
                "nasbench_meta": nasbench_meta.__version__}
    if device is not None and device.type == "cuda":
        versions.update(cuda=torch.version.cuda, gpu=torch.cuda.get_device_name(device))
    return versions


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """Training seeds: at least one, distinct, integers in 0 .. 2**63 - 1 (int64 in the runs file)."""
    return check_seed_list(seeds, "training seeds")


def check_epochs(epochs: "int | None") -> "int | None":
    """A positive whole number of epochs, or None for the protocol's own."""
    if epochs is None:
        return None
    if isinstance(epochs, (bool, np.bool_)) or not isinstance(epochs, (int, np.integer)):
        raise TypeError(f"epochs must be a whole number of epochs (or None for the protocol's), got {epochs!r}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    return int(epochs)


def check_device(device: "str | torch.device | None", *, local: bool = True,
                 label: str = "device") -> torch.device:
    """The torch device to train on: ``device``, else CUDA when available, else the CPU.

    ``local`` False (a remote cluster's device) skips checking that this machine has it.
    """
    if device is None:
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ValueError(f"{label} {str(device)!r} is not a device the harness trains on; use cpu, cuda or cuda:N")
    if dev.type == "cpu" or not local:
        return dev
    if not torch.cuda.is_available():
        fix = f"use {label} cpu or leave {label} out" if label.startswith("--") else "pass device='cpu' or None"
        raise ValueError(f"CUDA is not available on this machine; {fix}")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise ValueError(f"{label} {device}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    return dev


def check_data(task: str, data: Data) -> None:
    """``data`` must be ``task``'s graph: another task's would train under the wrong protocol
    and be recorded as ``task``'s runs."""
    loaded_as = getattr(data, "task", None)
    if loaded_as is not None and loaded_as != task:
        raise ValueError(f"the data given is {loaded_as}'s graph, not {task}'s; "
                         f"load it with load_task({task!r}, root)")
    shape = DATASET_SHAPES.get(task)
    if shape is None:
        return
    found = (int(data.num_features), int(data.num_classes))
    if found != shape:
        raise ValueError(f"the data given has {found[0]} features and {found[1]} classes; {task} has "
                         f"{shape[0]} and {shape[1]}: load it with load_task({task!r}, root)")


def seeded_model(arch: Architecture, task: str, data: Data, seed: int) -> NasBenchGraphNet:
    """The reference model initialised from ``seed`` (the same weights on both trainers)."""
    torch.manual_seed(seed)
    return build_model(arch, task, data.num_features, int(data.num_classes))


@contextmanager
def deterministic_kernels(device: torch.device) -> Iterator[None]:
    """On CUDA, torch's deterministic kernels for the duration, then the caller's settings back.

    GAT's softmax and attention aggregation sum with atomics on a GPU, so without this a seed's
    curves differed from run to run (by up to 1.8e-3 in validation loss after 400 epochs on an
    H100); with it they are bitwise reproducible, at 15-25% more time for GAT architectures.
    ``warn_only``: an operation with no deterministic kernel warns instead of failing the run.
    """
    if device.type != "cuda":
        yield
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(), cudnn.deterministic, cudnn.benchmark)
    torch.use_deterministic_algorithms(True, warn_only=True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        cudnn.deterministic, cudnn.benchmark = before[2], before[3]


def _make_optimizer(params, protocol) -> torch.optim.Optimizer:
    cls = torch.optim.Adam if protocol.optimizer == "Adam" else torch.optim.SGD
    return cls(params, lr=protocol.lr, weight_decay=protocol.weight_decay)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(model: NasBenchGraphNet, data: Data, repeats: int = 3) -> float:
    """Median wall time of one full-batch eval forward (the table's ``latency``)."""
    model.eval()
    device = next(model.parameters()).device
    x, ei = data.x.to(device), data.edge_index.to(device)
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            _sync(device)
            t0 = time.perf_counter()
            model(x, ei)
            _sync(device)
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def train_seeds(arch: "Architecture | str | int", task: str, data: Data, seeds: Sequence[int], *,
                device: "str | torch.device | None" = None, epochs: int | None = None,
                ctx: GraphContext | None = None, stop_diverged: bool = True,
                precision: str = "float32") -> list[SeedRun]:
    """Train ``arch`` on ``task`` once per seed, all seeds batched together (the fast path).

    ``epochs`` overrides the protocol's epoch count (a lower fidelity, recorded in each run).
    ``precision="bfloat16"`` runs the ops' dense products in bfloat16 (recorded in each run).
    Once every seed has blown up (its output layer is all NaN) no epoch can change anything,
    so with ``stop_diverged`` the remaining epochs are filled in instead of computed: the
    curves are the ones training on would give (see ``SeedRun.diverged_epoch``).
    """
    seeds = check_seeds(seeds)
    epochs = check_epochs(epochs)
    arch = canonical_architecture(arch)
    check_data(task, data)
    device = check_device(device)
    check_precision(precision)
    with torch_random_stream(), deterministic_kernels(device):
        return _train_batched(arch, task, data, seeds, device, epochs, ctx, stop_diverged,
                              precision)


def _train_batched(arch: Architecture, task: str, data: Data, seeds: list[int], device: torch.device,
                   epochs: "int | None", ctx: "GraphContext | None",
                   stop_diverged: bool, precision: str) -> list[SeedRun]:
    models = [seeded_model(arch, task, data, s) for s in seeds]
    protocol = models[0].protocol
    epochs = protocol.epochs if epochs is None else int(epochs)
    ctx = ctx if ctx is not None else GraphContext.build(data, device)
    net = BatchedNet(models, list(seeds), ctx, precision)
    opt = _make_optimizer(net.parameters(), protocol)
    n_seeds = len(seeds)
    loss_c = torch.zeros(epochs, n_seeds, device=device)
    val_c = torch.zeros(epochs, n_seeds, device=device)
    test_c = torch.zeros(epochs, n_seeds, device=device)
    val_loss_c = torch.zeros(epochs, n_seeds, device=device)
    y_train, y_eval = ctx.y["train"][:, None], ctx.y["eval"][:, None]
    _sync(device)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        net.training = True
        logp = F.log_softmax(net.forward("train"), dim=-1)              # (R, S, C)
        loss = _nll(logp, y_train).mean(0)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()   # seeds share no parameters: each gets its own gradient
        opt.step()
        net.training = False
        with torch.no_grad():
            logp = F.log_softmax(net.forward("eval"), dim=-1)                # (R, S, C)
            correct = (logp.argmax(-1) == y_eval).float()                    # (R, S)
            nll = _nll(logp, y_eval)
            loss_c[epoch] = loss.detach()
            val_c[epoch] = correct[ctx.val_pos].mean(0)
            test_c[epoch] = correct[ctx.test_pos].mean(0)
            val_loss_c[epoch] = nll[ctx.val_pos].mean(0)
        if stop_diverged and epoch % _DIVERGENCE_CHECK == 0 and _all_diverged(net):
            _fill_diverged(epoch, loss_c, val_c, test_c, val_loss_c)
            break
    _sync(device)
    elapsed = time.perf_counter() - t0
    net.load_into(models)
    curves = [c.cpu().numpy().astype(np.float32) for c in (loss_c, val_c, test_c, val_loss_c)]
    return [_seed_run(arch, task, seed, models[s], data, [c[:, s] for c in curves],
                      elapsed / n_seeds, "batched", device, precision)
            for s, seed in enumerate(seeds)]


def _nll(logp: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(R, S) negative log-likelihood of labels ``y`` (R, 1) under log-probabilities (R, S, C)."""
    return -logp.gather(2, y.expand(-1, logp.shape[1])[..., None]).squeeze(2)


_DIVERGENCE_CHECK = 10  # epochs between checks (each one syncs a GPU)


def _all_diverged(net: BatchedNet) -> bool:
    """True when the output layer holds no finite weight in any seed: every logit is NaN from
    here on, and NaN weights never recover (their gradients are NaN too)."""
    return not bool(torch.isfinite(net.output_weight()).any())


def _fill_diverged(epoch: int, loss_c: torch.Tensor, val_c: torch.Tensor, test_c: torch.Tensor,
                   val_loss_c: torch.Tensor) -> None:
    """What the remaining epochs would record: NaN losses and the same (constant) predictions."""
    loss_c[epoch + 1:] = float("nan")
    val_loss_c[epoch + 1:] = float("nan")
    val_c[epoch + 1:] = val_c[epoch]
    test_c[epoch + 1:] = test_c[epoch]


def train_naive(arch: "Architecture | str | int", task: str, data: Data, seed: int, *,
                device: "str | torch.device | None" = None, epochs: int | None = None) -> SeedRun:
    """The straightforward PyG loop for one seed (dense features, full forward each pass)."""
    (seed,) = check_seeds([seed])
    epochs = check_epochs(epochs)
    arch = canonical_architecture(arch)
    check_data(task, data)
    device = check_device(device)
    with torch_random_stream(), deterministic_kernels(device):
        return _train_one(arch, task, data, seed, device, epochs)


def _train_one(arch: Architecture, task: str, data: Data, seed: int, device: torch.device,
               epochs: "int | None") -> SeedRun:
    model = seeded_model(arch, task, data, seed).to(device)
    protocol = model.protocol
    epochs = protocol.epochs if epochs is None else int(epochs)
    d = data.clone().to(device)   # PyG's Data.to moves in place: leave the caller's graph where it is
    opt = _make_optimizer(model.parameters(), protocol)
    losses, vals, tests, val_losses = [], [], [], []
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        out = F.log_softmax(model(d.x, d.edge_index), 1)
        loss = F.nll_loss(out[d.train_mask], d.y[d.train_mask])
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            logp = F.log_softmax(model(d.x, d.edge_index), 1)
        pred = logp.argmax(1)
        losses.append(loss.item())
        vals.append((pred[d.val_mask] == d.y[d.val_mask]).float().mean().item())
        tests.append((pred[d.test_mask] == d.y[d.test_mask]).float().mean().item())
        val_losses.append(F.nll_loss(logp[d.val_mask], d.y[d.val_mask]).item())
    _sync(device)
    curves = [np.asarray(c, dtype=np.float32) for c in (losses, vals, tests, val_losses)]
    return _seed_run(arch, task, seed, model, data, curves, time.perf_counter() - t0, "naive",
                     device)


def _seed_run(arch: Architecture, task: str, seed: int, model: NasBenchGraphNet, data: Data,
              curves: list[np.ndarray], train_time: float, trainer: str,
              device: torch.device, precision: str = "float32") -> SeedRun:
    loss, val, test, val_loss = curves
    valid_acc, test_acc, best = score_curves(val, val_loss, test)
    model = model.to(device)
    return SeedRun(
        key=arch.key, arch=str(arch), task=task, seed=int(seed), epochs=len(val),
        valid_acc=valid_acc, test_acc=test_acc, best_epoch=best,
        params=sum(p.numel() for p in model.parameters()),
        latency_s=measure_latency(model, data), train_time_s=float(train_time),
        trainer=trainer, device=str(device), precision=precision, versions=library_versions(device),
        train_loss=loss, val_curve=val, test_curve=test, val_loss=val_loss)
