"""Graphs the harness trains on: Planetoid (Cora, CiteSeer, PubMed) from a data root.

The root is ``--data-root``, else ``$NASBENCH_META_DATA``, else ``data_root()/planetoid``.
PyG writes ``processed/`` next to ``raw/``; a read-only root (a shared mount) is copied to a
writable cache first. Data that is absent and cannot be downloaded fails before any training,
with the files to fetch and where to put them.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import torch
from torch_geometric.data import Data

from nasbench_meta.paths import data_root

DATA_ENV = "NASBENCH_META_DATA"
PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
_RAW_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
# Where the other tasks' data comes from, for the error message (training them needs their
# split protocol, which this harness does not implement yet).
_OTHER_SOURCES = {
    "cs": "torch_geometric.datasets.Coauthor(name='CS')",
    "physics": "torch_geometric.datasets.Coauthor(name='Physics')",
    "photo": "torch_geometric.datasets.Amazon(name='Photo')",
    "computers": "torch_geometric.datasets.Amazon(name='Computers')",
    "arxiv": "ogb.nodeproppred.PygNodePropPredDataset('ogbn-arxiv')",
    "proteins": "ogb.nodeproppred.PygNodePropPredDataset('ogbn-proteins')",
}


class TaskDataError(RuntimeError):
    """A task's graph is missing, cannot be fetched, or is not supported by the harness."""


def planetoid_root(root: "str | os.PathLike[str] | None" = None) -> Path:
    """The Planetoid data root: argument, else $NASBENCH_META_DATA, else the user data dir."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    return data_root() / "planetoid"


def raw_files(task: str) -> list[str]:
    return [f"ind.{task}.{s}" for s in _RAW_SUFFIXES]


def load_task(task: str, root: "str | os.PathLike[str] | None" = None) -> Data:
    """The task's graph as a PyG ``Data`` (x, edge_index, y, train/val/test masks, num_classes).

    The public Planetoid split, raw (un-normalised) features, as the benchmark trained.
    """
    if task not in PLANETOID_NAMES:
        if task in _OTHER_SOURCES:
            raise TaskDataError(
                f"the harness trains only {sorted(PLANETOID_NAMES)} so far; {task!r} needs "
                f"{_OTHER_SOURCES[task]} plus the benchmark's split protocol, not implemented yet")
        raise TaskDataError(f"unknown task {task!r}; the harness trains {sorted(PLANETOID_NAMES)}")
    return _load_planetoid(task, str(planetoid_root(root).resolve()))


@lru_cache(maxsize=8)
def _load_planetoid(task: str, root: str) -> Data:
    from torch_geometric.datasets import Planetoid

    name = PLANETOID_NAMES[task]
    work_root = _writable_root(Path(root), name)
    try:
        dataset = Planetoid(str(work_root), name)
    except Exception as err:  # PyG raises URLError / HTTPError / OSError when offline
        raise TaskDataError(_missing_message(task, Path(root), err)) from err
    data = dataset[0]
    data.num_classes = dataset.num_classes
    data.task = task
    return data


def _writable_root(root: Path, name: str) -> Path:
    """``root`` if PyG can write there, else a copy of ``root/name`` in a writable place."""
    target = root / name
    processed_ok = (target / "processed").is_dir() and any((target / "processed").iterdir())
    if processed_ok or _writable(target if target.exists() else root):
        return root
    cache = data_root() / "planetoid"
    if cache.resolve() == root.resolve() or not _writable_or_creatable(cache):
        cache = Path(tempfile.mkdtemp(prefix="nasbench-meta-planetoid-"))
    if not (cache / name / "raw").is_dir() and (target / "raw").is_dir():
        shutil.copytree(target / "raw", cache / name / "raw", dirs_exist_ok=True)
    return cache


def _writable(path: Path) -> bool:
    """Writable for us *and* not marked read-only (root passes os.access on a r-x tree)."""
    if not path.exists() or not os.access(path, os.W_OK):
        return False
    return bool(path.stat().st_mode & 0o222) and not os.statvfs(path).f_flag & os.ST_RDONLY


def _writable_or_creatable(path: Path) -> bool:
    while not path.exists():
        path = path.parent
    return _writable(path)


def _missing_message(task: str, root: Path, err: Exception) -> str:
    name = PLANETOID_NAMES[task]
    files = ", ".join(raw_files(task))
    return (f"cannot load {name} for task {task!r}: its raw files are not under "
            f"{root / name / 'raw'} and downloading them failed ({type(err).__name__}: {err}). "
            f"Download {files} from {PLANETOID_URL} into {root / name / 'raw'}, or point "
            f"--data-root / ${DATA_ENV} at a directory holding {name}/raw/.")


def check_task_data(task: str, root: "str | os.PathLike[str] | None" = None) -> None:
    """Fail now (not after hours of queued work) if ``task``'s data cannot be had."""
    load_task(task, root)


def to_device(data: Data, device: "str | torch.device") -> Data:
    return data.to(torch.device(device))
