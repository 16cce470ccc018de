"""The runs store: every finished (architecture, task, seed, epochs) run, in one HDF5 file.

Lives beside the benchmark (``<data_root>/benchmarks/<name>.runs.h5``) so the benchmark file
itself stays exactly what the importer built. Layout (one row per run)::

    /runs/<column>        (n,) resizable: key, task, seed, epochs, valid_acc, test_acc, ...
    /runs/<curve>         (n,) variable-length float32: train_loss, val_curve, test_curve, val_loss

Schema 2 added the validation-loss curve (the table reads test at the lowest-loss epoch) and
``diverged_epoch`` (-1: the run never blew up). Schema-1 files scored test at the
best-accuracy epoch and cannot be re-scored, so this version refuses to mix them in.
``precision`` (float32 or bfloat16 matrix products) came later within schema 2: a file without
that column holds float32 runs only, and gets the column on its next append.

One process writes per command: the driver appends each run as its result comes back (workers
of a pool or a Dask cluster never touch the file); commands sharing a runs file take turns
through a lock file beside it (``.<name>.lock``), and readers wait while one appends. The file is opened per append and closed
right after, so an interrupted job keeps every run appended before it stopped, and
``done()`` tells a restarted job what to skip. A file that cannot be read as runs (truncated,
not HDF5, columns missing) raises a ValueError naming it and is never written to.
"""
from __future__ import annotations

import datetime as dt
import json
import operator
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import h5py
import numpy as np
import pandas as pd

from nasbench_meta.atomic import atomic_path, file_lock, remove_abandoned
from nasbench_meta.harness.train import CURVES, SeedRun
from nasbench_meta.paths import data_root
from nasbench_meta.store import FORMAT as BENCHMARK_FORMAT

FORMAT = "nasbench-meta runs"
SCHEMA_VERSION = 2
_STR = h5py.string_dtype()
_COLUMNS: dict[str, object] = {
    "key": np.int64, "task": _STR, "seed": np.int64, "epochs": np.int64, "arch": _STR,
    "valid_acc": np.float64, "test_acc": np.float64, "best_epoch": np.int64,
    "params": np.int64, "latency_s": np.float64, "train_time_s": np.float64,
    "trainer": _STR, "device": _STR, "versions": _STR, "finished_utc": _STR,
    "diverged_epoch": np.int64, "precision": _STR,
}
# Columns added within schema 2, and what the runs of a file that lacks them had.
_ADDED = {"precision": "float32"}


def runs_path(benchmark: str = "nas-bench-graph", root: "str | os.PathLike[str] | None" = None) -> Path:
    """Default runs file: beside the benchmark's HDF5 file."""
    return data_root(root) / "benchmarks" / f"{benchmark}.runs.h5"


def _complete_rows(g: h5py.Group) -> int:
    """Rows every column holds (an append interrupted between columns leaves some longer)."""
    return min(g[name].shape[0] for name in (*_COLUMNS, *CURVES) if name in g)


def _column(g: h5py.Group, name: str, n: int) -> np.ndarray:
    """The first ``n`` values of a column (an added column a file lacks: its runs' value)."""
    if name not in g:
        return np.full(n, _ADDED[name], dtype=object)
    return g[name].asstr()[:n] if _COLUMNS[name] is _STR else g[name][:n]


def _copy_extras(src: h5py.File, dst: h5py.File) -> None:
    """What a user added to a runs file besides the runs (attributes, other groups or datasets),
    so that a rewrite loses nothing; the runs' own columns are written by the caller."""
    for name, value in src.attrs.items():
        if name not in dst.attrs:
            dst.attrs[name] = value
    for name, value in src["runs"].attrs.items():
        dst["runs"].attrs[name] = value
    for name in src:
        if name != "runs":
            src.copy(src[name], dst, name=name)
    for name in src["runs"]:   # a user's own datasets in the group (the runs' columns are written anew)
        if name not in dst["runs"]:
            src.copy(src["runs"][name], dst["runs"], name=name)


def _extend(g: h5py.Group, columns: dict[str, list]) -> None:
    """Append rows (a list of values per column and curve) after the complete rows of ``g``."""
    n0, k = _complete_rows(g), len(columns["key"])   # drops a row an interrupted append left half-written
    for name, value in _ADDED.items():
        if name not in g:   # an older file: its runs all had the value
            g.create_dataset(name, shape=(n0,), maxshape=(None,), dtype=_COLUMNS[name], chunks=(256,))
            if n0:
                g[name][:] = [value] * n0
    if not k:
        return
    for name in _COLUMNS:
        g[name].resize((n0 + k,))
        g[name][n0:] = columns[name]
    for name in CURVES:
        g[name].resize((n0 + k,))
        for j, curve in enumerate(columns[name]):
            g[name][n0 + j] = curve


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


RunId = tuple[int, str, int, int, str]   # (key, task, seed, epochs, precision)


def run_id(run: SeedRun) -> RunId:
    return (run.key, run.task, run.seed, run.epochs, run.precision)


class RunsStore:
    """Append-only store of training runs (single writer)."""

    def __init__(self, path: "str | os.PathLike[str]") -> None:
        self.path = Path(path)
        self._holding = False   # this store holds the writer's lock (its reads then need none)

    @contextmanager
    def _lock(self, *, exclusive: bool) -> Iterator[None]:
        """Writers one at a time, readers never while one writes: two harness commands on one runs
        file lost runs to each other, and a reader's open made a writer's open fail (HDF5 locks)."""
        if self._holding:
            yield
            return
        with file_lock(self._beside("lock"), exclusive=exclusive):
            self._holding = exclusive
            try:
                yield
            finally:
                self._holding = False

    def _beside(self, suffix: str) -> Path:
        """``.<name>.<suffix>`` beside the runs file itself, whichever symlink names it (lock, marker)."""
        target = self.path.resolve()
        return target.with_name(f".{target.name}.{suffix}")

    def __repr__(self) -> str:
        return f"RunsStore({str(self.path)!r})"

    def _create(self, f: h5py.File) -> None:
        f.attrs.update(format=FORMAT, schema_version=SCHEMA_VERSION)
        g = f.create_group("runs")
        for name, dtype in _COLUMNS.items():
            g.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(256,))
        for name in CURVES:
            g.create_dataset(name, shape=(0,), maxshape=(None,),
                             dtype=h5py.vlen_dtype(np.float32), chunks=(64,))

    def _check(self, f: h5py.File) -> None:
        if f.attrs.get("format") == BENCHMARK_FORMAT:   # moving it aside would move the benchmark away
            raise ValueError(f"{self.path} is a benchmark file, not a runs file: pass --runs NEW_PATH (the default "
                             "runs file is <name>.runs.h5 beside the benchmark)")
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{self.path} is not a nasbench-meta runs file; {self._ASIDE}")
        version = int(f.attrs.get("schema_version", -1))
        if version != SCHEMA_VERSION:
            why = (" (its test scores come from the best-accuracy epoch and it has no "
                   "validation-loss curves, so they cannot be re-scored)" if version == 1 else "")
            raise ValueError(f"{self.path} has runs schema {version}, this version reads "
                             f"{SCHEMA_VERSION}{why}; {self._ASIDE}")
        missing = [f"runs/{n}" for n in (*_COLUMNS, *CURVES) if n not in _ADDED and f"runs/{n}" not in f]
        if missing:
            raise ValueError(self._unreadable(f"{', '.join(missing)} missing"))

    _ASIDE = ("move that file aside (nothing in it was changed) or pass --runs NEW_PATH, and runs "
              "not in the file used are trained again")

    def _unreadable(self, why: str) -> str:
        return (f"{self.path} is not a readable runs file ({why}), so the runs in it cannot be "
                f"read; {self._ASIDE}")

    @contextmanager
    def _reading(self) -> Iterator["h5py.Group | None"]:
        """The checked ``runs`` group, None when there is no file or an empty HDF5 file."""
        if self.path.is_dir():   # h5py would only say errno 21
            raise ValueError(f"{self.path} is a directory; the runs store is one HDF5 file: give a file "
                             f"path such as {self.path / 'nas-bench-graph.runs.h5'} (--runs FILE.h5)")
        if not self.path.exists():
            yield None
            return
        try:
            with self._lock(exclusive=False), h5py.File(self.path, "r") as f:
                if not f.keys() and not f.attrs:
                    yield None
                else:
                    self._check(f)
                    yield f["runs"]
        except PermissionError:
            raise   # its message names the file; moving it aside is not the fix
        except (OSError, KeyError, RuntimeError) as err:  # h5py: not HDF5, truncated, damaged objects
            why = str(err.args[0] if err.args else err)
            if "unable to lock file" in str(err):   # HDF5's own lock: a writer that takes no turns (an older version)
                raise OSError(f"another process has {self.path} open for writing; wait for it to finish, or "
                              "pass --runs NEW_PATH") from err
            raise ValueError(self._unreadable("it is empty" if self.path.stat().st_size == 0 else why)) from err

    def check_writable(self) -> None:
        """Clear errors, before any training, for appends that could not happen: a folder on the way
        that is a file, a read-only place, or another process appending without taking turns (each
        was found only once the first job had trained, and its run was lost)."""
        target = self.path.resolve()
        place = target.parent
        while not place.exists():
            place = place.parent
        if not place.is_dir():
            raise ValueError(f"cannot write runs to {self.path}: {place} is a file, not a folder; pass --runs "
                             "NEW_PATH (or --no-store to keep nothing)")
        if not os.access(place, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise PermissionError(f"cannot write runs to {self.path}: {place if not target.exists() else target} "
                                  "is read-only here (the lock and marker files go beside it too); pass --runs "
                                  "NEW_PATH (or --no-store to keep nothing)")
        self._interrupted(self._beside("appending"))   # a live writer that takes no turns: an error now

    def append(self, runs: Iterable[SeedRun]) -> int:
        """Append runs not stored yet (same key, task, seed, epochs, precision); returns how many.
        Appends from several processes take turns (a lock file beside the runs file)."""
        runs = list(runs)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(exclusive=True):
            return self._append(runs)

    def _append(self, runs: list[SeedRun]) -> int:
        done = self.done()
        fresh, seen = [], set()
        for r in runs:
            rid = run_id(r)
            if rid not in done and rid not in seen:
                fresh.append(r)
                seen.add(rid)
        if not fresh:
            return 0
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        rows = [r.summary() for r in fresh]
        columns: dict[str, list] = {}
        for name in _COLUMNS:
            if name == "versions":
                columns[name] = [json.dumps(r.versions, sort_keys=True) for r in fresh]
            elif name == "finished_utc":
                columns[name] = [now] * len(fresh)
            else:
                columns[name] = [row[name] for row in rows]
        for name in CURVES:
            columns[name] = [np.asarray(getattr(r, name), dtype=np.float32) for r in fresh]
        ids = {run_id(r) for r in fresh}
        marker = self._beside("appending")
        if self._interrupted(marker):
            # An append killed mid-write leaves HDF5's allocation records behind its data: the runs
            # still read fine, but a later write either fails ("len not positive after adjustment
            # for EOA") or succeeds and corrupts the file. Copy the complete runs instead.
            self._rewrite(columns, ids)
            marker.unlink()
            return len(fresh)
        marker.write_text(str(os.getpid()))   # removed only after a clean close
        opened = False   # errors opening (a lock held by another writer, permissions) propagate
        try:
            with h5py.File(self.path, "a") as f:
                opened = True
                if not f.keys() and not f.attrs:   # new (or empty) file
                    self._create(f)
                self._check(f)
                _extend(f["runs"], columns)
                f.flush()
        except OSError:
            if not opened:
                marker.unlink()
                raise
            self._rewrite(columns, ids)
        marker.unlink()
        return len(fresh)

    def _interrupted(self, marker: Path) -> bool:
        """Whether an earlier append never finished (its process is gone); another live writer
        is an error, as HDF5's own lock would make it."""
        if not marker.exists():
            return False
        pid = marker.read_text().strip()
        if pid.isdigit() and int(pid) != os.getpid() and _running(int(pid)):
            raise OSError(f"process {pid} is appending to {self.path} without taking turns (an older "
                          f"nasbench-meta?); wait for it, or, if no such process of yours is running, delete "
                          f"{marker}")
        return True

    def _rewrite(self, columns: dict[str, list], fresh: set[RunId]) -> None:
        """Replace the file by a new one holding its complete runs plus ``columns``; atomic, so
        a failure (or another kill) leaves the old file as it was."""
        with self._reading() as g:
            stored, n = g is not None, 0 if g is None else _complete_rows(g)
            old = {name: list(_column(g, name, n)) if n else [] for name in _COLUMNS}
            old.update({name: list(g[name][:n]) if n else [] for name in CURVES})
        ids = zip(*(old[name] for name in ("key", "task", "seed", "epochs", "precision")))
        # rows of these runs come from the failed append itself: they are written again below
        keep = [i for i, (k, t, s, e, p) in enumerate(ids) if (int(k), str(t), int(s), int(e), str(p)) not in fresh]
        remove_abandoned(self.path.resolve())   # what an earlier rewrite, killed, left behind
        with atomic_path(self.path) as tmp, h5py.File(tmp, "w") as f:
            self._create(f)
            if stored:
                with h5py.File(self.path, "r") as src:   # closed before the new file replaces it
                    _copy_extras(src, f)
            _extend(f["runs"], {name: [values[i] for i in keep] for name, values in old.items()})
            _extend(f["runs"], columns)

    def done(self) -> set[RunId]:
        """Ids (key, task, seed, epochs, precision) of the stored runs (reads the whole file: a
        damaged one raises here, before any training)."""
        with self._reading() as g:
            if g is None:
                return set()
            n = _complete_rows(g)
            cols = [_column(g, name, n) for name in ("key", "task", "seed", "epochs", "precision")]
        return {(int(k), str(t), int(s), int(e), str(p)) for k, t, s, e, p in zip(*cols)}

    def table(self) -> pd.DataFrame:
        """One row per run, scalar columns only (curves via ``curves``)."""
        with self._reading() as g:
            if g is None:
                return pd.DataFrame(columns=list(_COLUMNS))
            n = _complete_rows(g)
            cols = {name: _column(g, name, n) for name in _COLUMNS}
        return pd.DataFrame(cols)

    def curves(self, row: int) -> dict[str, np.ndarray]:
        """Per-epoch curves of run number ``row`` (a position in ``table()``)."""
        with self._reading() as g:
            n = 0 if g is None else _complete_rows(g)
            row = operator.index(row)
            if not -n <= row < n:
                held = f"{n} run(s), rows 0 to {n - 1} of table()" if n else "no runs"
                raise IndexError(f"there is no run {row}: {self.path} holds {held}")
            row %= n   # a negative row counts from the last complete run, not a half-written one
            return {name: np.asarray(g[name][row]) for name in CURVES}
