"""The HDF5 store: importer fidelity, provenance, reproducible atomic builds, broken files."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from nas_bench_graph.readbench import light_read

from nasbench_meta import importers
from nasbench_meta.benchmark import Benchmark
from nasbench_meta.importers import build, nas_bench_graph
from nasbench_meta.store import (SCHEMA_VERSION, BenchmarkFileError, BenchmarkNotBuiltError, CorruptBenchmarkError,
                                 SchemaVersionError)

REBUILD = "nasbench-meta datasets build nas-bench-graph --force"
FIELDS = {"valid_score": "valid_perf", "test_score": "perf", "latency_s": "latency", "params_m": "para"}


@pytest.mark.parametrize("task", nas_bench_graph.TASKS)
def test_imported_values_equal_the_upstream_pickles_exactly(bench, task):
    upstream = light_read(task)
    rows = bench.rows(np.fromiter(upstream, dtype=np.int64))
    for ours, theirs in FIELDS.items():
        expected = np.array([float(r[theirs]) for r in upstream.values()])
        assert np.array_equal(bench.metric(task, ours)[rows], expected), (task, ours)
    missing = np.setdiff1d(np.arange(len(bench.keys)), rows)
    assert np.isnan(bench.metric(task, "valid_score")[missing]).all()
    assert (bench.metric(task, "num_seeds")[missing] == 0).all()
    assert (bench.metric(task, "num_seeds")[rows] == 3).all()


def test_file_records_provenance_and_metric_semantics(bench):
    source = bench.attrs["source"]
    assert source["package"] == "nas-bench-graph" and source["version"] == "1.4.0"
    for task in nas_bench_graph.TASKS:
        raw = (nas_bench_graph.source_dir() / f"{task}.bench").read_bytes()
        assert source["sha256"][f"nas_bench_graph/light/{task}.bench"] == hashlib.sha256(raw).hexdigest()
    assert bench.attrs["schema_version"] == SCHEMA_VERSION and bench.attrs["created_utc"]
    test_info = bench.metric_info("cora", "test_score")
    assert test_info["split"] == "test" and test_info["aggregation"] == "mean over 3 seeds"
    assert bench.metric_info("cora", "latency_s")["unit"] == "seconds"
    assert bench.task_info("proteins")["metric"] == "roc_auc"
    assert bench.task_info("proteins")["num_architectures"] == 2021


def _content(path: Path) -> dict:
    out = {}

    def visit(name, obj):
        attrs = {k: v for k, v in obj.attrs.items() if k != "created_utc"}
        out[name] = (obj[()] if isinstance(obj, h5py.Dataset) else None, repr(sorted(attrs.items())))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        visit("/", f)
    return out


def test_building_twice_gives_identical_content(tmp_path, bench_root, monkeypatch):
    again = build("nas-bench-graph", tmp_path / "again.h5")
    first, second = _content(bench_root / "benchmarks" / "nas-bench-graph.h5"), _content(again)
    assert first.keys() == second.keys()
    for name in first:
        a, b = first[name], second[name]
        assert a[1] == b[1], name
        assert (a[0] is None and b[0] is None) or np.array_equal(a[0], b[0], equal_nan=True), name
    # With a fixed build time the files are byte-identical (reproducible builds).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    one = build("nas-bench-graph", tmp_path / "one.h5").read_bytes()
    two = build("nas-bench-graph", tmp_path / "two.h5").read_bytes()
    assert one == two


def test_failed_build_keeps_the_existing_file(tmp_path, bench_root, monkeypatch):
    target = tmp_path / "nas-bench-graph.h5"
    shutil.copy(bench_root / "benchmarks" / "nas-bench-graph.h5", target)
    before = target.read_bytes()

    def broken():
        content = nas_bench_graph.load_content()
        content.tasks["cora"].metrics["valid_score"].values = np.zeros(3)  # wrong length
        return content

    monkeypatch.setitem(importers.BUILDERS, "nas-bench-graph", broken)
    with pytest.raises(ValueError, match="rows"):
        build("nas-bench-graph", target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["nas-bench-graph.h5"]  # no temporary left


def test_a_build_removes_what_killed_builds_left_behind(tmp_path):
    # a SIGKILL mid-build leaves a benchmark-sized temporary that nothing else would delete
    import os
    import time

    abandoned, recent = tmp_path / ".nas-bench-graph.h5.0123ab.tmp", tmp_path / ".nas-bench-graph.h5.4567cd.tmp"
    abandoned.write_bytes(b"half a benchmark")
    hours_ago = time.time() - 2 * 3600
    os.utime(abandoned, (hours_ago, hours_ago))
    recent.write_bytes(b"maybe another host's build, still running")   # kept: it may be live
    build("nas-bench-graph", tmp_path / "nas-bench-graph.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == [recent.name, "nas-bench-graph.h5"]


def test_missing_file_says_how_to_build(tmp_path):
    with pytest.raises(BenchmarkNotBuiltError, match="nasbench-meta datasets build nas-bench-graph"):
        Benchmark(tmp_path / "nas-bench-graph.h5", "nas-bench-graph")


def test_truncated_file_is_detected(tmp_path, bench_root):
    data = (bench_root / "benchmarks" / "nas-bench-graph.h5").read_bytes()
    path = tmp_path / "nas-bench-graph.h5"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptBenchmarkError, match=REBUILD):
        Benchmark(path, "nas-bench-graph").scores("arxiv", split="valid", seeds="mean")


def test_corrupted_bytes_fail_their_checksum(tmp_path, bench_root):
    path = tmp_path / "nas-bench-graph.h5"
    shutil.copy(bench_root / "benchmarks" / "nas-bench-graph.h5", path)
    _flip_a_byte(path, "tasks/cora/test_score", 100)
    bench = Benchmark(path, "nas-bench-graph")
    assert bench.query("cora", 0, split="valid", seeds="mean") > 0  # untouched data still reads
    with pytest.raises(CorruptBenchmarkError, match=REBUILD):
        bench.scores("cora", split="test", seeds="mean")


def test_other_schema_version_is_refused(tmp_path, bench_root):
    path = tmp_path / "nas-bench-graph.h5"
    shutil.copy(bench_root / "benchmarks" / "nas-bench-graph.h5", path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}.*{REBUILD}"):
        Benchmark(path, "nas-bench-graph")


def test_unfinished_file_is_refused(tmp_path, bench_root):
    path = tmp_path / "nas-bench-graph.h5"
    shutil.copy(bench_root / "benchmarks" / "nas-bench-graph.h5", path)
    with h5py.File(path, "r+") as f:
        f.attrs["complete"] = False
    with pytest.raises(CorruptBenchmarkError, match="not completely written"):
        Benchmark(path, "nas-bench-graph")


@pytest.mark.parametrize("manifest", ["not json", '{"cora": "x"}', "{}", '[1, 2]'])
def test_a_damaged_manifest_is_refused(tmp_path, bench_root, manifest):
    path = tmp_path / "nas-bench-graph.h5"
    shutil.copy(bench_root / "benchmarks" / "nas-bench-graph.h5", path)
    with h5py.File(path, "r+") as f:
        f.attrs["manifest"] = manifest
    with pytest.raises(CorruptBenchmarkError, match=f"damaged task manifest.*{REBUILD}"):
        Benchmark(path, "nas-bench-graph")


def _flip_a_byte(path: Path, dataset: str, at: int) -> None:
    """Damage one byte inside a dataset's stored data (not the header)."""
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_chunk_info(0).byte_offset + at
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def _copy(bench_root: Path, tmp_path: Path) -> Path:
    path = tmp_path / "benchmarks" / "nas-bench-graph.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(bench_root / "benchmarks" / "nas-bench-graph.h5", path)
    return path


@pytest.mark.parametrize("version", ["one", "1", 1.9, True])
def test_a_schema_version_that_is_not_a_whole_number_is_refused(tmp_path, bench_root, version):
    path = _copy(bench_root, tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = version
    with pytest.raises(SchemaVersionError, match=f"schema version {version!r}.*{REBUILD}"):
        Benchmark(path, "nas-bench-graph")


def test_a_file_of_another_benchmark_under_a_known_name_is_refused(tmp_path, bench_root):
    path = _copy(bench_root, tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["benchmark"] = "nas-bench-201"
    with pytest.raises(CorruptBenchmarkError, match="holds the benchmark 'nas-bench-201', not 'nas-bench-graph'"):
        Benchmark(path, "nas-bench-graph")


def test_damage_inside_the_data_is_found_by_the_build_check_and_healed(tmp_path, bench_root):
    from nasbench_meta.datasets import _file_problem, ensure_built

    path = _copy(bench_root, tmp_path)
    _flip_a_byte(path, "tasks/physics/valid_score", 50)
    assert "tasks/physics/valid_score" in _file_problem(path, "nas-bench-graph")   # the header alone is fine
    assert ensure_built("nas-bench-graph", tmp_path) == (path, True)                 # rebuilt without --force
    assert _file_problem(path, "nas-bench-graph") is None


@pytest.mark.parametrize("layout, message", [
    ("home is a file", "is a file, so no benchmark can be kept under it"),
    ("file is a directory", "is a directory, not a benchmark file; move it away, then build with: "
                            "nasbench-meta datasets build nas-bench-graph --root"),
    ("not built", "is not built at .* Build it with: nasbench-meta datasets build nas-bench-graph --root"),
])
def test_a_benchmark_that_cannot_be_opened_says_what_to_do_with_its_root(tmp_path, layout, message):
    home = tmp_path / "home"
    if layout == "home is a file":
        home.write_text("not a directory")
    elif layout == "file is a directory":
        (home / "benchmarks" / "nas-bench-graph.h5").mkdir(parents=True)
    with pytest.raises(BenchmarkFileError, match=message):
        Benchmark(home / "benchmarks" / "nas-bench-graph.h5", "nas-bench-graph")


def test_a_task_without_any_result_has_no_best(tmp_path, bench_root):
    from nasbench_meta.benchmark import MissingResultError

    path = _copy(bench_root, tmp_path)
    with h5py.File(path, "r+") as f:
        f["tasks/proteins/valid_score"][...] = np.nan
    with pytest.raises(MissingResultError, match="proteins has no valid result for any architecture"):
        Benchmark(path, "nas-bench-graph").best("proteins", split="valid", seeds="mean")


def test_the_rebuild_advice_for_a_file_no_importer_builds_says_so(tmp_path):
    from nasbench_meta.store import rebuild_command

    assert "no importer builds 'nas-bench-graph.runs'" in rebuild_command("nas-bench-graph.runs", tmp_path / "x.h5")
