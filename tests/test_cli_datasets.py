"""The dataset and query commands, run as a user would: in a subprocess."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys

import pytest


def run_cli(*args: str, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "NASBENCH_META_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "nasbench_meta.cli.main", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_build_list_and_info(tmp_path):
    built = run_cli("datasets", "build", "nas-bench-graph", home=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "benchmarks" / "nas-bench-graph.h5").exists()
    again = run_cli("datasets", "build", "nas-bench-graph", home=tmp_path)
    assert "already built" in again.stdout
    listing = json.loads(run_cli("datasets", "list", "--json", home=tmp_path).stdout)
    assert listing[0]["name"] == "nas-bench-graph" and listing[0]["built"]
    info = run_cli("datasets", "info", "nas-bench-graph", "--json", home=tmp_path)
    tasks = json.loads(info.stdout)["tasks"]
    assert tasks["cora"]["best_by_validation"]["arch"] == "0,1,2,3|fc,gat,fc,gin"
    assert tasks["proteins"]["architectures"] == 2021
    text = run_cli("datasets", "info", "nas-bench-graph", home=tmp_path).stdout
    assert "mean over 3 seeds" in text and "0,1,2,3|fc,gat,fc,gin" in text


def test_query_human_and_json(bench_root):
    text = run_cli("query", "--task", "cora", "--arch", "0,0,2,1|gcn,gat,sage,gcn", home=bench_root)
    assert text.returncode == 0, text.stderr
    assert "0,0,1,2|gat,gcn,sage,gcn (key 30141)" in text.stdout and "validation accuracy: 0.7960" in text.stdout
    data = json.loads(run_cli("query", "--benchmark", "nas-bench-graph", "--task", "cora",
                              "--arch", "30141", "--json", home=bench_root).stdout)
    assert isinstance(data, list) and len(data) == 1   # a list even for one --arch: scripts need not branch
    data = data[0]
    assert data["key"] == 30141 and data["seeds"] == "mean" and data["valid_score"] == pytest.approx(0.796)


def test_query_of_an_architecture_the_task_did_not_evaluate_fails(bench_root, bench):
    # proteins covers 2,021 architectures: a script must not read a missing value as a result
    key = next(int(k) for k in bench.keys if int(k) not in set(bench.task_keys("proteins").tolist()))
    text = run_cli("query", "--task", "proteins", "--arch", str(key), home=bench_root)
    assert text.returncode == 1
    assert "not evaluated on proteins (proteins covers 2,021 of 26,206 architectures)" in text.stdout
    [data] = json.loads(run_cli("query", "--task", "proteins", "--arch", str(key), "--json", home=bench_root).stdout)
    assert data["num_seeds"] == 0 and data["valid_score"] is None
    both = run_cli("query", "--task", "proteins", "--arch", str(key), "--arch",
                   str(int(bench.task_keys("proteins")[0])), home=bench_root)
    assert both.returncode == 1 and "validation" in both.stdout   # the evaluated one is still shown


@pytest.mark.parametrize("args, message", [
    (("--task", "corra", "--arch", "0"), "valid tasks: cora"),
    (("--task", "cora", "--arch", "0,0,1,2|gat,gcn,sage"), "exactly 4"),
    (("--task", "cora", "--arch", "0,3,1,2|gat,gcn,sage,gcn"), "not a later one"),
])
def test_query_errors_are_one_clear_line(bench_root, args, message):
    result = run_cli("query", *args, home=bench_root)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_query_without_a_built_benchmark_says_how_to_build(tmp_path):
    result = run_cli("query", "--task", "cora", "--arch", "0", home=tmp_path)
    assert result.returncode == 2
    assert "nasbench-meta datasets build nas-bench-graph" in result.stderr


def test_corrupt_file_is_rebuilt_by_build(tmp_path):
    path = tmp_path / "benchmarks" / "nas-bench-graph.h5"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an hdf5 file")
    failed = run_cli("datasets", "info", "nas-bench-graph", home=tmp_path)
    assert failed.returncode == 2 and "datasets build nas-bench-graph --force" in failed.stderr
    assert run_cli("datasets", "build", "nas-bench-graph", home=tmp_path).returncode == 0
    assert run_cli("datasets", "info", "nas-bench-graph", home=tmp_path).returncode == 0


def test_a_damaged_file_elsewhere_is_listed_and_its_fix_names_the_root(tmp_path):
    other = tmp_path / "elsewhere"
    path = other / "benchmarks" / "nas-bench-graph.h5"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))          # an HDF5 signature, then nothing
    listing = json.loads(run_cli("datasets", "list", "--root", str(other), "--json", home=tmp_path).stdout)
    assert not listing[0]["built"] and "Rebuild it with" in listing[0]["problem"]
    assert "damaged" in run_cli("datasets", "list", "--root", str(other), home=tmp_path).stdout
    failed = run_cli("query", "--task", "cora", "--arch", "0", "--root", str(other), home=tmp_path)
    fix = f"nasbench-meta datasets build nas-bench-graph --force --root {other}"
    assert failed.returncode == 2 and fix in failed.stderr
    assert run_cli(*fix.split()[1:], home=tmp_path).returncode == 0   # the printed fix works as printed
    assert run_cli("query", "--task", "cora", "--arch", "0", "--root", str(other), home=tmp_path).returncode == 0


def test_an_unknown_benchmark_lists_the_known_ones(tmp_path):
    result = run_cli("datasets", "info", "nas-bench-201", home=tmp_path)
    assert result.returncode == 2
    assert "unknown benchmark 'nas-bench-201'; known: nas-bench-graph" in result.stderr
    assert "Build it" not in result.stderr and '"' not in result.stderr


def _truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def _records_without_fields(path):
    from nasbench_meta.spaces import NasBenchGraphSpace

    path.write_bytes(pickle.dumps({int(NasBenchGraphSpace().keys()[0]): {"perf": 0.5}}))


@pytest.mark.parametrize("damage, why", [
    (_truncate, "not a readable pickle"),
    (lambda path: path.unlink(), "cannot be read"),
    (lambda path: path.write_bytes(pickle.dumps([1, 2, 3])), "not a mapping"),
    (_records_without_fields, "KeyError: 'valid_perf'"),
])
def test_a_damaged_source_table_is_named_with_the_fix_and_nothing_is_overwritten(
        bench_root, tmp_path, monkeypatch, capsys, damage, why):
    from nasbench_meta.cli.main import main
    from nasbench_meta.importers import nas_bench_graph

    source = tmp_path / "light"
    shutil.copytree(nas_bench_graph.source_dir(), source)
    damage(source / "citeseer.bench")
    monkeypatch.setattr(nas_bench_graph, "source_dir", lambda: source)
    built = tmp_path / "home" / "benchmarks" / "nas-bench-graph.h5"
    built.parent.mkdir(parents=True)
    shutil.copy(bench_root / "benchmarks" / "nas-bench-graph.h5", built)
    before = built.read_bytes()
    assert main(["datasets", "build", "nas-bench-graph", "--force", "--root", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(source / "citeseer.bench") in err and why in err
    assert "pip install --force-reinstall --no-deps nas-bench-graph" in err
    assert built.read_bytes() == before


def test_the_data_directory_follows_the_documented_order(tmp_path, monkeypatch):
    from nasbench_meta.paths import data_root

    monkeypatch.delenv("NASBENCH_META_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    default = tmp_path / "me" / ".local" / "share" / "nasbench-meta"
    for xdg in ("", "relative/dir", "."):       # the XDG spec: relative values are ignored
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
        assert data_root() == default
    monkeypatch.setenv("XDG_DATA_HOME", "~/xdg")
    assert data_root() == tmp_path / "me" / "xdg" / "nasbench-meta"
    monkeypatch.setenv("NASBENCH_META_HOME", str(tmp_path / "home"))
    assert data_root() == tmp_path / "home" and data_root(tmp_path / "given") == tmp_path / "given"
    with pytest.raises(ValueError, match="--root.* is empty"):
        data_root("")


def test_an_empty_root_on_the_command_line_is_refused(tmp_path):
    result = subprocess.run([sys.executable, "-m", "nasbench_meta.cli.main", "datasets", "build", "nas-bench-graph",
                             "--root", ""], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 2 and "is empty" in result.stderr
    assert not any(tmp_path.iterdir())   # nothing written into the current directory
