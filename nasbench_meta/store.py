"""The HDF5 benchmark file: schema, atomic writing and checked opening.

Schema (version 1), one file per benchmark::

    /                       attrs: format, schema_version, benchmark, space, created_utc,
                                   created_by, source (JSON: package, version, sha256 of
                                   every source file), manifest (JSON: every task's attrs
                                   and metric names, so opening reads one attribute),
                                   complete
    /architectures/key      (N,) int64, ascending: the row order of every array below
    /architectures/<col>    (N, ...) space-defined columns (NAS-Bench-Graph: links, ops)
    /tasks/<task>           attrs: metric, description, splits, num_architectures,
                                   seed_aggregations, cost_metric
    /tasks/<task>/<metric>  (N,) aligned with /architectures/key; attrs: name, unit, split,
                                   aggregation, description. Missing values are NaN
                                   (num_seeds: 0), e.g. proteins covers 2,021 of 26,206.

Reserved for later writers (readers ignore what they do not know): ``/tasks/<task>/per_seed/
<metric>`` of shape (N, S) and ``/tasks/<task>/per_epoch/<metric>`` of shape (N, S, E).
Every dataset has a Fletcher-32 checksum, so corrupted bytes fail loudly on read.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench_meta.atomic import atomic_path, remove_abandoned
from nasbench_meta.paths import benchmark_path

FORMAT = "nasbench-meta benchmark"
SCHEMA_VERSION = 1


class BenchmarkFileError(RuntimeError):
    """A benchmark file that is missing, unreadable or of another schema."""


class BenchmarkNotBuiltError(BenchmarkFileError):
    pass


class CorruptBenchmarkError(BenchmarkFileError):
    pass


class SchemaVersionError(BenchmarkFileError):
    pass


def build_command(name: str, path: "Path | str", *, force: bool = True) -> str:
    """The command that (re)builds benchmark ``name`` at ``path`` (with --root when not the default one)."""
    known = _known_names()
    if name not in known:   # e.g. a runs file opened by its name: no build makes it a benchmark
        return f"nothing: no importer builds {name!r} (known: {', '.join(sorted(known))}); move the file away"
    command = f"nasbench-meta datasets build {name}" + (" --force" if force else "")
    path = Path(path).resolve()
    if path != benchmark_path(name).resolve() and path.parent.name == "benchmarks" and path.name == f"{name}.h5":
        command += f" --root {path.parent.parent}"
    return command


def rebuild_command(name: str, path: "Path | str") -> str:
    return build_command(name, path, force=True)


@dataclass
class MetricArray:
    values: np.ndarray
    attrs: dict[str, Any]


@dataclass
class TaskTable:
    attrs: dict[str, Any]
    metrics: dict[str, MetricArray] = field(default_factory=dict)


@dataclass
class BenchmarkContent:
    """Everything a benchmark file holds, in memory, ready to be written."""

    name: str
    space: str
    keys: np.ndarray
    arch_columns: dict[str, np.ndarray]
    arch_column_attrs: dict[str, dict[str, Any]]
    tasks: dict[str, TaskTable]
    source: dict[str, Any]


def write_benchmark(content: BenchmarkContent, path: Path) -> Path:
    """Write atomically: a temporary file in the same directory, then a rename."""
    remove_abandoned(path)   # what builds killed earlier left behind
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as f:
        _write_content(f, content)
        f.attrs["complete"] = True  # last: a file without it was never finished
    return Path(path)


def _creation_time() -> str:
    # SOURCE_DATE_EPOCH makes builds byte-for-byte reproducible (reproducible-builds.org).
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_content(f: h5py.File, content: BenchmarkContent) -> None:
    from nasbench_meta import __version__

    f.attrs.update({
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "benchmark": content.name,
        "space": content.space,
        "created_utc": _creation_time(),
        "created_by": f"nasbench-meta {__version__}",
        "source": json.dumps(content.source, sort_keys=True),
        "manifest": json.dumps({t: {"attrs": table.attrs, "metrics": list(table.metrics)}
                                for t, table in content.tasks.items()}),
        "complete": False,
    })
    archs = f.create_group("architectures")
    _dataset(archs, "key", content.keys, {"description": "canonical table key, ascending"})
    for name, values in content.arch_columns.items():
        _dataset(archs, name, values, content.arch_column_attrs.get(name, {}))
    tasks = f.create_group("tasks", track_order=True)
    for task, table in content.tasks.items():
        group = tasks.create_group(task, track_order=True)
        group.attrs.update(_attr_values(table.attrs))
        for metric, array in table.metrics.items():
            if len(array.values) != len(content.keys):
                raise ValueError(f"{task}/{metric} has {len(array.values)} rows, not {len(content.keys)}")
            _dataset(group, metric, array.values, array.attrs)


def _dataset(group: h5py.Group, name: str, values: np.ndarray, attrs: dict[str, Any]) -> None:
    ds = group.create_dataset(name, data=values, fletcher32=True, track_times=False)
    ds.attrs.update(_attr_values(attrs))


def _attr_values(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in attrs.items()}


def check_place(path: Path) -> None:
    """A clear error when a file stands where a folder on the way to ``path`` should be."""
    blocker = next((p for p in Path(path).parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise BenchmarkNotBuiltError(
            f"{blocker} is a file, so no benchmark can be kept under it; point --root / $NASBENCH_META_HOME at a "
            "directory, or move that file away")


def open_file(path: Path, name: str) -> h5py.File:
    """Open a benchmark file read-only after checking it is complete and of our schema."""
    path = Path(path)
    check_place(path)
    if path.is_dir():
        raise CorruptBenchmarkError(f"{path} is a directory, not a benchmark file; move it away, then build with: "
                                    f"{build_command(name, path, force=False)}")
    if not path.exists():
        raise BenchmarkNotBuiltError(
            f"benchmark {name!r} is not built at {path}. Build it with: "
            f"{build_command(name, path, force=False)} (or point --root / $NASBENCH_META_HOME at "
            "the directory that holds it)"
        )
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CorruptBenchmarkError(
            f"{path} is truncated or corrupted ({exc}). Rebuild it with: {rebuild_command(name, path)}"
        ) from None
    try:
        _check_header(f, path, name)
    except BaseException:
        f.close()
        raise
    return f


def _check_header(f: h5py.File, path: Path, name: str) -> None:
    if f.attrs.get("format") != FORMAT:
        raise CorruptBenchmarkError(
            f"{path} is not a nasbench-meta benchmark file. Rebuild it with: {rebuild_command(name, path)}"
        )
    version = f.attrs.get("schema_version")
    whole = isinstance(version, (int, np.integer)) and not isinstance(version, (bool, np.bool_))
    if not whole or version != SCHEMA_VERSION:   # "1" or 1.9 are not version 1
        raise SchemaVersionError(
            f"{path} has schema version {int(version) if whole else repr(getattr(version, 'item', lambda: version)())}; this nasbench-meta reads version "
            f"{SCHEMA_VERSION}. Rebuild it with: {rebuild_command(name, path)} (or install the "
            "nasbench-meta version that wrote it)"
        )
    if not bool(f.attrs.get("complete", False)) or "manifest" not in f.attrs or "architectures/key" not in f:
        raise CorruptBenchmarkError(
            f"{path} was not completely written. Rebuild it with: {rebuild_command(name, path)}"
        )
    if f.attrs.get("benchmark") != name and name in _known_names():
        raise CorruptBenchmarkError(
            f"{path} holds the benchmark {f.attrs.get('benchmark')!r}, not {name!r}. Rebuild it with: "
            f"{rebuild_command(name, path)}")
    if not _manifest_ok(decode_attrs(f.attrs)["manifest"]):
        raise CorruptBenchmarkError(
            f"{path} has a damaged task manifest. Rebuild it with: {rebuild_command(name, path)}"
        )


def _known_names() -> "set[str]":
    from nasbench_meta.importers import BUILDERS

    return set(BUILDERS)


def _manifest_ok(manifest: Any) -> bool:
    """Every task listed with its attrs (an object) and metric names (a list)."""
    return isinstance(manifest, dict) and bool(manifest) and all(
        isinstance(t, dict) and isinstance(t.get("attrs"), dict) and isinstance(t.get("metrics"), list)
        for t in manifest.values())


def read_array(f: h5py.File, dataset: str, name: str) -> np.ndarray:
    """Read a whole dataset, turning checksum and I/O failures into a rebuild message."""
    try:
        return f[dataset][()]
    except (OSError, KeyError) as exc:
        raise CorruptBenchmarkError(
            f"cannot read {dataset} from {f.filename} ({exc}). Rebuild it with: {rebuild_command(name, f.filename)}"
        ) from None


def read_all(f: h5py.File, name: str) -> None:
    """Read every dataset of a benchmark file, so that their checksums are verified."""
    datasets: list[str] = []
    f.visititems(lambda path, obj: datasets.append(path) if isinstance(obj, h5py.Dataset) else None)
    for dataset in datasets:
        read_array(f, dataset, name)


def decode_attrs(attrs: h5py.AttributeManager) -> dict[str, Any]:
    out = {}
    for key, value in attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        out[key] = value
    return out
