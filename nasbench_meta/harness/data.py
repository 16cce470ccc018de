"""Graphs the harness trains on: Planetoid (Cora, CiteSeer, PubMed) from a data root.

The root is ``--data-root``, else ``$NASBENCH_META_DATA``, else ``data_root()/planetoid``;
a root given explicitly must exist (a typo never falls back on other data). PyG writes
``processed/`` next to ``raw/``; a read-only root (a shared mount) is copied to a writable cache
first (``data_root()/cache/planetoid/<digest of the root>``), copied again whenever its raw
files change. Data that is absent and cannot be downloaded fails before any training, with the
files to fetch and where to put them; raw files that exist but cannot be read are named as
damaged.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from torch_geometric.data import Data

from nasbench_meta.harness.protocol import DATASET_SHAPES
from nasbench_meta.paths import data_root

DATA_ENV = "NASBENCH_META_DATA"
PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
_RAW_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_TEST_NODES = 1000  # of the public split, in all three graphs
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
    return _load_planetoid(task, str(_existing_root(task, root).resolve()))


def _existing_root(task: str, root: "str | os.PathLike[str] | None") -> Path:
    """``planetoid_root(root)``, refused when given explicitly but not a directory."""
    path = planetoid_root(root)
    given = "--data-root" if root is not None else f"${DATA_ENV}" if os.environ.get(DATA_ENV) else None
    if given is None or path.is_dir():
        return path
    name = PLANETOID_NAMES[task]
    problem = "is not a directory" if path.exists() else "does not exist"
    raise TaskDataError(
        f"data root {path} (given by {given}) {problem}; point {given} at the directory holding "
        f"{name}/raw/ ({', '.join(raw_files(task))}), or create it and the raw files are "
        f"downloaded there when online")


@lru_cache(maxsize=8)
def _load_planetoid(task: str, root: str) -> Data:
    from torch_geometric.datasets import Planetoid

    name = PLANETOID_NAMES[task]
    work_root = _writable_root(Path(root), name)
    try:
        dataset = Planetoid(str(work_root), name)
    except Exception as err:  # offline: URLError / HTTPError / OSError; damaged: anything
        raise TaskDataError(_load_error(task, Path(root), work_root / name / "raw", err)) from err
    data = dataset[0]
    data.num_classes = dataset.num_classes
    problem = _size_problem(task, data)
    if problem:
        msg = _damaged_message(task, Path(root), raw_files(task), problem)
        if work_root == Path(root):  # a copy's processed/ goes when the source changes
            msg += f" Then delete {work_root / name / 'processed'} (built from them)."
        raise TaskDataError(msg)
    data.task = task
    return data


def _size_problem(task: str, data: Data) -> "str | None":
    """How a graph read from readable but damaged files (e.g. a cut text file) shows itself."""
    features, classes = DATASET_SHAPES[task]
    got = (data.num_features, data.num_classes, int(data.test_mask.sum()))
    if got == (features, classes, _TEST_NODES):
        return None
    return (f"they give {got[0]} features, {got[1]} classes and {got[2]} test nodes, not "
            f"{features}, {classes} and {_TEST_NODES}")


def _writable_root(root: Path, name: str) -> Path:
    """``root`` if PyG can write there, else a copy of ``root/name`` in a writable place."""
    target = root / name
    processed_ok = (target / "processed").is_dir() and any((target / "processed").iterdir())
    if processed_ok or _writable(target if target.exists() else root):
        return root
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    cache = data_root() / "cache" / "planetoid" / digest
    if not _writable_or_creatable(cache):
        cache = Path(tempfile.mkdtemp(prefix="nasbench-meta-planetoid-"))
    _mirror_raw(target / "raw", cache / name)
    return cache


def _mirror_raw(source: Path, copy: Path) -> None:
    """Make ``copy/raw`` a copy of ``source`` unless it already is one (same names, sizes and
    mtimes), dropping ``copy/processed`` with it, so a changed or damaged source is noticed."""
    if not source.is_dir():
        return  # nothing to copy: PyG downloads into ``copy`` (kept there for next time)
    if (copy / "raw").is_dir() and _signature(copy / "raw") == _signature(source):
        return
    if copy.exists():
        shutil.rmtree(copy)
    (copy / "raw").mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy2(path, copy / "raw" / path.name)  # keeps the mtime compared above


def _signature(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime (whole seconds) of each file in ``folder``."""
    stats = {p.name: p.stat() for p in folder.iterdir() if p.is_file()}
    return {name: (st.st_size, int(st.st_mtime)) for name, st in stats.items()}


def _writable(path: Path) -> bool:
    """Writable for us *and* not marked read-only (root passes os.access on a r-x tree)."""
    if not path.exists() or not os.access(path, os.W_OK):
        return False
    return bool(path.stat().st_mode & 0o222) and not os.statvfs(path).f_flag & os.ST_RDONLY


def _writable_or_creatable(path: Path) -> bool:
    while not path.exists():
        path = path.parent
    return _writable(path)


def _load_error(task: str, root: Path, raw: Path, err: Exception) -> str:
    """Why PyG could not load ``task`` from ``raw`` (the files of ``root`` or their copy)."""
    missing = [f for f in raw_files(task) if not (raw / f).is_file()]
    if missing:
        return _missing_message(task, root, missing, err)
    damaged = {f: e for f in raw_files(task) if (e := _read_error(raw, task, f)) is not None}
    if not damaged:
        return _damaged_message(task, root, raw_files(task),
                                f"they do not make one graph: {type(err).__name__}: {err}")
    first = next(iter(damaged.values()))
    return _damaged_message(task, root, list(damaged),
                            f"cannot be read: {type(first).__name__}: {first}")


def _read_error(raw: Path, task: str, file: str) -> "Exception | None":
    from torch_geometric.io.planetoid import read_file

    try:
        read_file(str(raw), task, file[len(f"ind.{task}."):])
    except Exception as err:  # pickle / numpy / text parsing errors of a damaged file
        return err
    return None


def _missing_message(task: str, root: Path, missing: list[str], err: Exception) -> str:
    name = PLANETOID_NAMES[task]
    files, raw = ", ".join(missing), root / name / "raw"
    return (f"cannot load {name} for task {task!r}: {raw} lacks {files} and downloading failed "
            f"({type(err).__name__}: {err}). Download {files} from {PLANETOID_URL} into {raw}, "
            f"or point --data-root / ${DATA_ENV} at a directory holding {name}/raw/.")


def _damaged_message(task: str, root: Path, files: list[str], why: str) -> str:
    name, raw = PLANETOID_NAMES[task], root / PLANETOID_NAMES[task] / "raw"
    return (f"cannot load {name} for task {task!r}: its raw files under {raw} are damaged "
            f"({', '.join(files)}: {why}). Download fresh copies from {PLANETOID_URL} into {raw}, "
            f"or point --data-root / ${DATA_ENV} at an intact copy.")


def check_task_data(task: str, root: "str | os.PathLike[str] | None" = None) -> None:
    """Fail now (not after hours of queued work) if ``task``'s data cannot be had."""
    load_task(task, root)
