"""`nasbench-meta harness run | batch | validate` end to end (tiny fidelities)."""
from __future__ import annotations

import argparse
import json

import pytest
import torch

from nasbench_meta.cli import harness
from nasbench_meta.cli.main import main
from nasbench_meta.harness.data import load_task
from nasbench_meta.harness.runs import RunsStore
from nasbench_meta.harness.train import default_device, train_naive, train_seeds


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nasbench-meta")
    harness.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _common(bench_root, planetoid_root, runs):
    return ["--root", str(bench_root), "--data-root", str(planetoid_root), "--runs", str(runs)]


def test_run_trains_stores_and_reports(bench_root, planetoid_root, tmp_path, capsys):
    runs = tmp_path / "runs.h5"
    argv = ["harness", "run", "--arch", "0,1,2,3|skip,skip,skip,gcn", "--task", "cora", "--seeds", "0", "1",
            "--epochs", "2", "--json", *_common(bench_root, planetoid_root, runs)]
    assert _main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["architectures"]
    assert row["key"] == 88881 and row["seeds"] == 2 and 0 < row["table_test"] < 1
    assert out["summary"]["epochs"] == 2 and out["summary"]["seeds"] == [0, 1]
    device = str(default_device())
    assert out["summary"]["devices"] == [device] and row["device"] == device   # where it was measured
    assert len(RunsStore(runs).table()) == 2
    capsys.readouterr()
    assert _main([a for a in argv if a != "--json"]) == 0  # rerun: nothing new trained or stored
    assert len(RunsStore(runs).table()) == 2
    report = capsys.readouterr().out
    assert "0,1,2,3|skip,skip,skip,gcn" in report and "measured val" in report and "predicted" not in report
    assert f"2 epochs, trained on {device}" in report


def test_bfloat16_runs_are_stored_and_reported_beside_float32_ones(bench_root, planetoid_root, tmp_path, capsys):
    runs = tmp_path / "runs.h5"
    argv = ["harness", "run", "--arch", "0,1,2,3|skip,skip,gcn,gcn", "--seeds", "0", "--epochs", "2",
            *_common(bench_root, planetoid_root, runs)]
    assert _main(argv) == 0 and _main([*argv, "--precision", "bfloat16"]) == 0
    report = capsys.readouterr().out.split("architectures measured")
    assert "bfloat16 matrix products" in report[2] and "bfloat16" not in report[1]
    assert sorted(RunsStore(runs).table().precision) == ["bfloat16", "float32"]   # neither reused the other
    assert _main([*argv, "--precision", "bfloat16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["precision"] == "bfloat16"
    assert len(RunsStore(runs).table()) == 2


def test_sample_needs_a_seed(bench_root, planetoid_root, tmp_path):
    with pytest.raises(ValueError, match="--sample-seed"):
        _main(["harness", "batch", "--sample", "2", *_common(bench_root, planetoid_root, tmp_path / "r.h5")])


def test_validate_trains_a_predictors_top_k(bench_root, planetoid_root, tmp_path, capsys):
    argv = ["harness", "validate", "--predictor", "mean-rank", "--task", "cora", "--top", "1", "--shots", "5",
            "--seed", "0", "--seeds", "0", "--epochs", "1", *_common(bench_root, planetoid_root, tmp_path / "r.h5")]
    assert _main(argv) == 0
    out = capsys.readouterr().out
    assert "predicted" in out and "predictor mean-rank" in out and "1/1 architectures measured" in out
    assert "rank score" in out  # a meta-predictor's output is a rank, never reported as an accuracy error


def test_report_says_which_seeds_blew_up(bench, bench_root, planetoid_root, tmp_path, capsys):
    # Sum-aggregating GraphConv/GIN under CiteSeer's SGD at lr 0.2: both seeds reach NaN within
    # 8-10 epochs on a CPU and on an H100. A chain ending in one GCN trains without trouble beside it.
    unstable, stable = "0,0,1,1|graph,gin,gin,graph", "0,1,2,3|skip,skip,skip,gcn"
    argv = ["harness", "batch", "--archs", unstable, stable, "--task", "citeseer", "--seeds", "1", "2",
            "--epochs", "30", *_common(bench_root, planetoid_root, tmp_path / "r.h5")]
    assert _main(argv) == 0
    report = capsys.readouterr().out
    assert "2/2 seeds blew up" in report and "2 seed(s) blew up (NaN loss)" in report
    runs = RunsStore(tmp_path / "r.h5").table()
    blown = runs[runs.arch == unstable]
    assert blown.diverged_epoch.between(0, 29).all() and (runs[runs.arch == stable].diverged_epoch == -1).all()
    key = bench.space.key(stable)
    mae = 100 * abs(runs[runs.key == key].test_acc.mean() - bench.query("citeseer", key, split="test", seeds="mean"))
    assert f"table without the architectures whose seeds blew up (1): MAE vs measured test {mae:.2f} points" in report


BAD_OPTIONS = [
    (["run", "--arch", "88881", "--device", "foo"], "--device 'foo' is not a device the harness trains on"),
    (["run", "--arch", "88881", "--device", "cuda"],
     "CUDA is not available on this machine; use --device cpu or leave --device out"),
    (["run", "--arch", "88881", "--naive", "--precision", "bfloat16"],
     "--naive is the float32 PyG reference loop; leave --precision out with it"),
]
BAD_COUNTS = [   # refused by argparse: usage error, exit code 2
    (["run", "--arch", "88881", "--epochs", "0"], "--epochs: must be at least 1, got 0"),
    (["run", "--arch", "88881", "--naive", "--epochs", "-1"], "--epochs: must be at least 1, got -1"),
    (["batch", "--sample", "-3", "--sample-seed", "0"], "--sample: must be at least 1, got -3"),
    (["batch", "--sample", "0", "--sample-seed", "0"], "--sample: must be at least 1, got 0"),
    (["batch", "--archs", "88881", "--executor", "pool", "--workers", "0"], "--workers: must be at least 1, got 0"),
    (["validate", "--predictor", "mean-rank", "--seed", "0", "--top", "0"], "--top: must be at least 1, got 0"),
]


@pytest.mark.parametrize("argv, message", BAD_COUNTS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_counts_below_one_are_usage_errors(bench_root, planetoid_root, tmp_path, capsys, argv, message):
    runs = tmp_path / "r.h5"
    with pytest.raises(SystemExit) as exit_info:
        main(["harness", *argv, "--seeds", "0", *_common(bench_root, planetoid_root, runs)])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not runs.exists()


@pytest.mark.parametrize("argv, message", BAD_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_bad_options_are_refused_before_any_work(bench_root, planetoid_root, tmp_path, capsys, monkeypatch,
                                                 argv, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)   # a CPU-only machine
    runs = tmp_path / "r.h5"
    assert main(["harness", *argv, "--seeds", "0", *_common(bench_root, planetoid_root, runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nasbench-meta: error: {message}") and err.count("\n") == 1   # one line
    assert not runs.exists()   # nothing trained, nothing written


@pytest.mark.parametrize("argv", [
    ["run", "--arch", "88881", "--seeds", "0", "-1"],
    ["run", "--arch", "88881", "--seeds", str(2**64)],     # torch's own message was "Overflow ..."
    ["batch", "--sample", "2", "--sample-seed", "-1", "--seeds", "0"],
    ["validate", "--predictor", "mean-rank", "--seed", "-1", "--seeds", "0"],
], ids=lambda v: " ".join(v))
def test_seeds_out_of_range_are_refused_before_any_work(bench_root, planetoid_root, tmp_path, capsys, argv):
    runs = tmp_path / "r.h5"
    with pytest.raises(SystemExit) as exc:
        main(["harness", *argv, *_common(bench_root, planetoid_root, runs)])
    assert exc.value.code == 2
    assert "a seed must be from 0 to 2**63 - 1" in capsys.readouterr().err
    assert not runs.exists()


@pytest.mark.parametrize("content, message", [
    (b"", "lists no architectures, so there is nothing to train"),
    (b"# keys to train\n\n", "lists no architectures, so there is nothing to train"),
    (bytes(range(128, 256)), "is not a text file"),
    (b"88881\nnot-an-arch\n", "line 2: cannot parse 'not-an-arch'"),
])
def test_a_keys_file_without_architectures_is_refused(bench_root, planetoid_root, tmp_path, content, message):
    keys = tmp_path / "keys.txt"
    keys.write_bytes(content)
    with pytest.raises(ValueError, match=f"--keys-file {keys}.*{message}"):
        _main(["harness", "batch", "--keys-file", str(keys), *_common(bench_root, planetoid_root, tmp_path / "r.h5")])
    assert not (tmp_path / "r.h5").exists()


def test_the_trainers_refuse_zero_epochs(planetoid_root):
    data = load_task("cora", planetoid_root)
    with pytest.raises(ValueError, match="epochs must be at least 1, got 0"):
        train_seeds(88881, "cora", data, [0], epochs=0)
    with pytest.raises(ValueError, match="epochs must be at least 1, got -2"):
        train_naive(88881, "cora", data, 0, epochs=-2)


@pytest.mark.parametrize("naive", [False, True])
def test_a_damaged_runs_file_stops_the_command_untouched(bench_root, planetoid_root, tmp_path, capsys, naive):
    runs = tmp_path / "r.h5"
    runs.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(300))   # an HDF5 signature, cut short
    argv = ["harness", "run", "--arch", "88881", "--seeds", "0", "--epochs", "1",
            *(["--naive"] if naive else []), *_common(bench_root, planetoid_root, runs)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nasbench-meta: error: {runs} is not a readable runs file") and "--runs NEW_PATH" in err
    assert runs.read_bytes() == b"\x89HDF\r\n\x1a\n" + bytes(300)


def test_a_data_root_that_does_not_exist_is_an_error(bench_root, tmp_path, capsys):
    argv = ["harness", "run", "--arch", "88881", "--seeds", "0", "--epochs", "1",
            *_common(bench_root, tmp_path / "nonexistent", tmp_path / "r.h5")]
    assert main(argv) == 2
    assert f"data root {tmp_path / 'nonexistent'} (given by --data-root) does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r.h5").exists()
