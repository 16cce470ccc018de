"""Per-task training protocol of NAS-Bench-Graph (reference: Qin et al. 2022, Table / code).

Values come from the benchmark's paper and code (the project's reference notes,
``shared/reference/nas-bench-graph.md``, beside the repository); ``num_pre``, ``num_pro`` and
``dim`` are confirmed by the tables' parameter counts for all nine tasks.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from nasbench_meta.errors import UnknownNameError


@dataclass(frozen=True)
class Protocol:
    """Hyperparameters one task trains every architecture with."""

    task: str
    num_pre: int          # Linear layers on the raw features before the cell
    num_pro: int          # Linear layers after the cell (the last maps to the classes)
    dim: int              # hidden width of every op
    dropout: float
    optimizer: str        # "SGD" (plain, no momentum) or "Adam"
    lr: float
    weight_decay: float
    epochs: int
    normalize: bool = True  # GCN normalisation / GAT self-loops (off only for proteins)

    def to_dict(self) -> dict:
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {p.task: p for p in (
    Protocol("cora", 0, 1, 256, 0.7, "SGD", 0.1, 5e-4, 400),
    Protocol("citeseer", 0, 1, 256, 0.7, "SGD", 0.2, 5e-4, 400),
    Protocol("pubmed", 0, 0, 128, 0.3, "SGD", 0.2, 5e-4, 500),
    Protocol("cs", 1, 0, 128, 0.6, "SGD", 0.5, 5e-4, 400),
    Protocol("physics", 1, 0, 256, 0.4, "SGD", 0.01, 0.0, 200),
    Protocol("photo", 0, 0, 128, 0.7, "Adam", 0.0002, 5e-4, 500),
    Protocol("computers", 1, 1, 64, 0.1, "Adam", 0.005, 5e-4, 500),
    Protocol("arxiv", 0, 1, 128, 0.2, "Adam", 0.002, 0.0, 500),
    Protocol("proteins", 1, 1, 256, 0.0, "Adam", 0.01, 5e-4, 500, normalize=False),
)}

# (input features, output units) of each task's graph, so models can be built (and their
# parameters counted) without the data files. Proteins: 8 edge features averaged per node,
# 112 binary tasks.
DATASET_SHAPES: dict[str, tuple[int, int]] = {
    "cora": (1433, 7), "citeseer": (3703, 6), "pubmed": (500, 3), "cs": (6805, 15),
    "physics": (8415, 5), "photo": (745, 8), "computers": (767, 10), "arxiv": (128, 40),
    "proteins": (8, 112),
}


# Dtypes the fast path can run the ops' matrix products in: float32 (the benchmark's own
# training) or bfloat16 (mixed precision: float32 weights, updates and everything else).
PRECISIONS = ("float32", "bfloat16")


def get_protocol(task: str) -> Protocol:
    """The protocol of ``task`` (raises with the known task names)."""
    try:
        return PROTOCOLS[task]
    except KeyError:
        raise UnknownNameError(f"no training protocol for task {task!r}; known: {sorted(PROTOCOLS)}") from None
