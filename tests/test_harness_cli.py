"""`nasbench-meta harness run | batch | validate` end to end (tiny fidelities)."""
from __future__ import annotations

import argparse
import json

import pytest

from nasbench_meta.cli import harness
from nasbench_meta.harness.runs import RunsStore


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
    assert len(RunsStore(runs).table()) == 2
    capsys.readouterr()
    assert _main([a for a in argv if a != "--json"]) == 0  # rerun: nothing new trained or stored
    assert len(RunsStore(runs).table()) == 2
    report = capsys.readouterr().out
    assert "0,1,2,3|skip,skip,skip,gcn" in report and "measured val" in report and "predicted" not in report


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
    # Sum-aggregating GraphConv/GIN under CiteSeer's SGD at lr 0.2: both seeds reach NaN early.
    # A chain ending in one GCN trains without trouble beside it.
    unstable, stable = "0,1,1,2|graph,gcn,gin,graph", "0,1,2,3|skip,skip,skip,gcn"
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
