"""Query API: a ``Benchmark`` reads one HDF5 benchmark file for analysis.

Analysis access counts nothing and shows every metric. NAS methods must use
``Benchmark.oracle(task)`` instead, which reveals validation results only.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

import h5py
import numpy as np
import pandas as pd

from nasbench_meta import store
from nasbench_meta.oracle import covered_scores
from nasbench_meta.errors import UnknownNameError
from nasbench_meta.paths import benchmark_path
from nasbench_meta.spaces import SearchSpace, UnknownArchitectureError, get_space
from nasbench_meta.spaces.base import as_keys
from nasbench_meta.store import BenchmarkNotBuiltError  # noqa: F401  (re-exported for users)

if TYPE_CHECKING:
    from nasbench_meta.oracle import SearchOracle

SPLITS = {"valid": "valid_score", "test": "test_score"}


class UnknownTaskError(UnknownNameError):
    """A task the benchmark does not hold."""


class MissingResultError(LookupError):
    """The architecture is in the space but the task's table has no result for it."""


class HiddenTaskError(LookupError):
    """A task's results read through a view that hides them (``Benchmark.hiding``)."""


class Benchmark:
    """A tabular benchmark: every architecture of a space, every task, its metrics."""

    def __init__(self, path: "str | os.PathLike[str]", name: "str | None" = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self._file: "h5py.File | None" = None
        f = self._handle()
        self.attrs = store.decode_attrs(f.attrs)
        self.keys = store.read_array(f, "architectures/key", self.name)
        self.keys.setflags(write=False)
        manifest = self.attrs["manifest"]
        self.tasks: tuple[str, ...] = tuple(manifest)
        self._task_attrs = {t: manifest[t]["attrs"] for t in self.tasks}
        self._metric_names = {t: tuple(manifest[t]["metrics"]) for t in self.tasks}
        self.space: SearchSpace = get_space(self.attrs["space"])
        self._arrays: dict[tuple[str, str], np.ndarray] = {}
        self._derived: dict[tuple, Any] = {}  # cached results of read-only queries (searches repeat them)
        self._row_of: "Mapping[int, int] | None" = None
        self._hidden: frozenset[str] = frozenset()

    def _handle(self) -> h5py.File:
        # One read-only handle, opened lazily, so metric reads do not pay for reopening.
        if self._file is None or not self._file.id.valid:
            self._file = store.open_file(self.path, self.name)
        return self._file

    def close(self) -> None:
        """Close the HDF5 file (arrays already read stay usable; a later read reopens it)."""
        if self._file is not None and self._file.id.valid:
            self._file.close()
        self._file = None

    def __enter__(self) -> "Benchmark":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # h5py handles cannot cross processes (Dask, multiprocessing): reopen on the other side.
        # The query caches hold read-only mapping proxies, which do not pickle: rebuilt on use.
        return {**self.__dict__, "_file": None, "_derived": {}, "_row_of": None}

    def __repr__(self) -> str:
        hidden = f", hiding {sorted(self._hidden)}" if self._hidden else ""
        return f"Benchmark({self.name!r}, {len(self.keys)} architectures, tasks={list(self.tasks)}{hidden})"

    def hiding(self, task: str) -> "Benchmark":
        """A view of this benchmark in which ``task``'s results cannot be read (its metadata and
        which architectures it covers can):
        what a NAS method's offline preparation (``Method.prepare``) may see of its search's target.
        It shares this benchmark's file and caches."""
        self._check_task(task)
        view = copy.copy(self)
        view._hidden = self._hidden | {task}   # a view of a view hides both
        return view

    # -- metadata ---------------------------------------------------------------------------
    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names every task holds (e.g. valid_score, test_score, latency_s, params_m, num_seeds)."""
        return self._metric_names[self.tasks[0]]

    def task_info(self, task: str) -> dict[str, Any]:
        """What the table records about ``task``: its metric (accuracy, ROC-AUC), splits, seeds per
        value and their aggregation, how many architectures it covers, its training protocol."""
        return dict(self._task_attrs[self._check_task(task)])

    def metric_info(self, task: str, metric: str) -> dict[str, Any]:
        """What one metric of ``task`` means: description, unit, how seeds were aggregated."""
        self._check_metric(self._check_task(task), metric)
        return store.decode_attrs(self._handle()[f"tasks/{task}/{metric}"].attrs)

    def _check_task(self, task: str) -> str:
        if task not in self._task_attrs:
            raise UnknownTaskError(f"unknown task {task!r} in {self.name}; valid tasks: {', '.join(self.tasks)}")
        return task

    def _check_metric(self, task: str, metric: str) -> str:
        if metric not in self._metric_names[task]:
            raise UnknownNameError(f"unknown metric {metric!r}; valid metrics: {', '.join(self._metric_names[task])}")
        return metric

    # -- rows -------------------------------------------------------------------------------
    def row_map(self) -> Mapping[int, int]:
        """Read-only key -> row mapping, built once per Benchmark and shared (oracles use it)."""
        if self._row_of is None:
            self._row_of = MappingProxyType(dict(zip(self.keys.tolist(), range(len(self.keys)))))
        return self._row_of

    def row(self, arch: Any) -> int:
        """Row of an architecture (object, string or key) in every metric array."""
        self.row_map()
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool) and int(arch) in self._row_of:
            return self._row_of[int(arch)]
        key = self.space.key(arch)  # a clear error for anything outside the space, bools and floats too
        try:
            return self._row_of[key]
        except KeyError:
            raise UnknownArchitectureError(f"{arch} (key {key}) is not in {self.name}'s table") from None

    def rows(self, keys: "np.ndarray | list[int]") -> np.ndarray:
        """Rows of many canonical keys at once (vectorised)."""
        keys = as_keys(keys)
        rows = np.searchsorted(self.keys, keys)
        rows = np.minimum(rows, len(self.keys) - 1)
        bad = self.keys[rows] != keys
        if bad.any():
            raise UnknownArchitectureError(
                f"{int(bad.sum())} key(s) are not canonical keys of {self.name}, "
                f"e.g. {keys[bad][:5].tolist()}; use space.key(...) to canonicalise"
            )
        return rows

    def task_keys(self, task: str) -> np.ndarray:
        """Keys of the architectures the task's table covers (read-only)."""
        return self._memo(("task_keys", task), lambda: self.keys[self.metric(task, "num_seeds") > 0])

    def scored_keys(self, task: str, *, split: str, seeds: str) -> np.ndarray:
        """Keys with a score on ``split`` (read-only): what a search on the task may propose."""
        values = self.scores(task, split=split, seeds=seeds)
        return self._memo(("scored_keys", task, split, seeds), lambda: self.keys[~np.isnan(values)])

    def score_map(self, task: str, *, split: str, seeds: str) -> Mapping[int, float]:
        """Read-only key -> score of every architecture the task scores on ``split`` (oracles
        look proposals up here: one dict lookup per query)."""
        values = self.scores(task, split=split, seeds=seeds)
        return self._memo(("score_map", task, split, seeds),
                          lambda: MappingProxyType(covered_scores(self.keys, values)))

    def _memo(self, key: tuple, compute: Any) -> Any:
        if key not in self._derived:
            value = compute()
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            self._derived[key] = value
        return self._derived[key]

    # -- values -----------------------------------------------------------------------------
    def metric(self, task: str, name: str) -> np.ndarray:
        """A metric for every architecture, aligned with ``keys`` (read-only view)."""
        # before the cache, which the view shares with the benchmark; coverage (num_seeds: which
        # architectures the task holds) is what the search's candidates show anyway
        if task in self._hidden and name != "num_seeds":
            raise HiddenTaskError(f"{task}'s results are hidden here: code preparing for target {task} (a NAS "
                                  f"method's prepare, a predictor's fit) learns from the other tasks only; a search "
                                  f"sees {task} through its oracle, a predictor through its support set")
        cache_key = (task, name)
        if cache_key not in self._arrays:
            self._check_metric(self._check_task(task), name)
            values = store.read_array(self._handle(), f"tasks/{task}/{name}", self.name)
            values.setflags(write=False)
            self._arrays[cache_key] = values
        return self._arrays[cache_key]

    def scores(self, task: str, *, split: str, seeds: str) -> np.ndarray:
        """Validation or test scores of every architecture, aligned with ``keys`` (NaN where the task
        lacks one). ``split``: "valid" or "test"; ``seeds``: how the table's seeds are aggregated,
        "mean" (``task_info(task)["seed_aggregations"]`` lists what a task offers)."""
        return self.metric(task, self._score_metric(task, split, seeds))

    def _score_metric(self, task: str, split: str, seeds: str) -> str:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        allowed = self.task_info(task).get("seed_aggregations", ["mean"])
        if seeds not in allowed:
            raise ValueError(f"{task} offers seed aggregation(s) {allowed}, got seeds={seeds!r}")
        return SPLITS[split]

    def query(self, task: str, arch: Any, *, split: str, seeds: str) -> float:
        """One architecture's validation or test score, e.g. ``query("cora", "0,0,1,2|gat,gcn,sage,gcn",
        split="valid", seeds="mean")``. ``arch``: a table key, a "links|ops" string (any isomorphic
        form) or an Architecture; ``split``: "valid" or "test"; ``seeds``: "mean". Analysis access,
        charging nothing: a NAS method searches through ``oracle`` instead."""
        values = self.metric(task, self._score_metric(task, split, seeds))
        value = float(values[self.row(arch)])
        if value != value:  # NaN: the task's table lacks this architecture
            raise MissingResultError(
                f"{task} has no result for {arch}; it covers {self.task_info(task)['num_architectures']} "
                f"architectures (ops {self.task_info(task).get('ops')})"
            )
        return value

    def table(self, task: str, *, seeds: str) -> pd.DataFrame:
        """All metrics of a task as a DataFrame indexed by key, rows the task lacks dropped."""
        self._score_metric(task, "valid", seeds)
        frame = pd.DataFrame({m: self.metric(task, m) for m in self._metric_names[task]},
                             index=pd.Index(self.keys, name="key"))
        frame = frame[frame["num_seeds"] > 0]
        frame.attrs.update(task=task, seeds=seeds, benchmark=self.name)
        return frame

    def best(self, task: str, *, split: str, seeds: str) -> tuple[int, float]:
        """Key and score of the best architecture on ``split`` ("valid" or "test"), seeds aggregated
        as ``seeds`` ("mean"); the first one among ties."""
        values = self.scores(task, split=split, seeds=seeds)
        if np.isnan(values).all():
            raise MissingResultError(f"{task} has no {split} result for any architecture in {self.path}; "
                                     "the table holds nothing to rank")
        row = self._memo(("best", task, split, seeds), lambda: int(np.nanargmax(values)))
        return int(self.keys[row]), float(values[row])

    def oracle(self, task: str, budget: "int | None" = None) -> "SearchOracle":
        """What a search may see of ``task``: validation scores (seed mean) per distinct query, at most
        ``budget`` distinct architectures (None: no limit); re-queries are free and flagged."""
        from nasbench_meta.oracle import SearchOracle

        return SearchOracle.from_benchmark(self, task, budget=budget)


def open_benchmark(name: str = "nas-bench-graph", root: str | os.PathLike[str] | None = None) -> Benchmark:
    """Open a built benchmark, ``<root>/benchmarks/<name>.h5``; ``root`` defaults to the data
    directory ($NASBENCH_META_HOME, else ~/.local/share/nasbench-meta: ``nasbench_meta.paths``).

    Build it first with ``nasbench-meta datasets build nas-bench-graph`` (about a second, from the
    ``nas-bench-graph`` package); a missing, damaged or outdated file raises an error that gives
    the command to run. Use as a context manager, or call ``close()``::

        with open_benchmark() as bench:
            bench.query("cora", 30141, split="valid", seeds="mean")
    """
    from nasbench_meta.importers import BUILDERS, unknown_benchmark_message

    path = benchmark_path(name, root)
    if name not in BUILDERS and not path.exists():  # a name no importer builds: building cannot help
        raise LookupError(unknown_benchmark_message(name))
    return Benchmark(path, name)
