"""`nasbench-meta harness run | batch | validate` end to end (tiny fidelities)."""
from __future__ import annotations

import argparse
import json
import os

import pandas as pd
import pytest
import torch

from nasbench_meta.cli import harness
from nasbench_meta.cli.main import main
from nasbench_meta.harness.data import load_task
from nasbench_meta.harness.executors import LocalExecutor
from nasbench_meta.harness.runs import RunsStore
from nasbench_meta.harness.train import default_device, train_naive, train_seeds
from nasbench_meta.harness.validate import compare_with_table, validate_predictions
from nasbench_meta.predictors.base import UnknownOptionError
from nasbench_meta.spaces import UnknownArchitectureError


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
    assert f"2 epochs, trained on {device}, 2 seed run(s) reused from the runs file" in report   # was silent
    assert "note: the table's runs trained 400 epochs, these 2" in report   # a lower fidelity, said so


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
    # options that were silently ignored
    (["batch", "--archs", "88881", "--sample-seed", "3"], "--sample-seed seeds the draw of --sample"),
    (["run", "--arch", "88881", "--no-store", "--runs", "r.h5"], "--no-store keeps no runs, so --runs names"),
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


def test_naive_runs_resume_like_batched_ones(bench_root, planetoid_root, tmp_path, capsys):
    # --naive retrained every seed on each call, and a seed the store held already was trained and
    # then dropped without a word
    runs = tmp_path / "r.h5"
    base = ["harness", "run", "--arch", "88881", "--epochs", "2", *_common(bench_root, planetoid_root, runs)]
    assert main([*base, "--seeds", "0"]) == 0
    capsys.readouterr()
    assert main([*base, "--seeds", "0", "1", "--naive"]) == 0
    out, err = capsys.readouterr()
    assert "seeds [0] already stored" in err and "seed 1:" in out and "seed 0:" not in out
    assert sorted(zip(RunsStore(runs).table().seed, RunsStore(runs).table().trainer)) == [(0, "batched"),
                                                                                          (1, "naive")]


def test_stored_runs_are_reported_from_a_runs_file_nothing_can_be_appended_to(bench_root, planetoid_root, tmp_path,
                                                                             capsys):
    # the up-front append check refused to report seeds already stored (a colleague's file, a read-only copy)
    runs = tmp_path / "r.h5"
    base = ["harness", "run", "--arch", "88881", "--seeds", "0", "--epochs", "2", *_common(bench_root, planetoid_root, runs)]
    assert main(base) == 0
    (tmp_path / ".r.h5.appending").write_text(str(os.getppid()))   # a live writer that takes no turns
    capsys.readouterr()
    assert main(base) == 0 and "1/1 architectures measured" in capsys.readouterr().out
    assert main([*base[:5], "0", "1", *base[6:]]) == 2   # seed 1 would need an append: refused up front
    assert "is appending to" in capsys.readouterr().err and len(RunsStore(runs).table()) == 1


def test_a_data_root_that_does_not_exist_is_an_error(bench_root, tmp_path, capsys):
    argv = ["harness", "run", "--arch", "88881", "--seeds", "0", "--epochs", "1",
            *_common(bench_root, tmp_path / "nonexistent", tmp_path / "r.h5")]
    assert main(argv) == 2
    assert f"data root {tmp_path / 'nonexistent'} (given by --data-root) does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r.h5").exists()


def test_a_directory_given_as_runs_is_an_error_that_says_so(bench_root, planetoid_root, tmp_path, capsys):
    argv = ["harness", "run", "--arch", "88881", "--seeds", "0", "--epochs", "1",
            *_common(bench_root, planetoid_root, tmp_path)]
    assert main(argv) == 2
    assert f"{tmp_path} is a directory; the runs store is one HDF5 file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


class _NoTraining(LocalExecutor):
    """Fails the test if anything is handed to it for training."""

    def run(self, jobs):
        if jobs:
            raise AssertionError(f"trained {list(jobs)}")
        return iter(())


def test_compare_with_table_takes_any_spelling_of_an_architecture(bench, planetoid_root, tmp_path):
    store = RunsStore(tmp_path / "r.h5")
    df, summary = compare_with_table(bench, "cora", ["0,1,2,3|gcn,skip,skip,skip", "0,0,1,2|gat,gcn,sage,gcn"],
                                     seeds=[0], data_root=planetoid_root, store=store, epochs=1, progress=False)
    assert list(df.index) == [88881, 30141] and list(df.arch) == ["0,1,2,3|skip,skip,skip,gcn",
                                                                   "0,0,1,2|gat,gcn,sage,gcn"]
    assert summary["measured"] == 2 and not summary["failures"]
    again, _ = compare_with_table(bench, "cora", ["0,1,2,3|skip,skip,skip,gcn", 30141], seeds=[0],
                                  data_root=planetoid_root, store=store, epochs=1, executor=_NoTraining(),
                                  progress=False)
    pd.testing.assert_frame_equal(again, df)   # every run came from the store


@pytest.mark.parametrize("archs, error, message", [
    ([88881, 10], UnknownArchitectureError, "10 .key 10 is not canonical; the same architecture has key 1."),
    ([88881, "gcn"], UnknownArchitectureError, "cannot parse 'gcn'"),
    ([88881, "0,1,2,3|gcn,skip,skip,skip"], ValueError, "are the same architecture .key 88881."),
])
def test_compare_with_table_checks_every_architecture_before_training(bench, planetoid_root, tmp_path,
                                                                      archs, error, message):
    runs = tmp_path / "r.h5"
    with pytest.raises(error, match=message):
        compare_with_table(bench, "cora", archs, seeds=[0], data_root=planetoid_root, store=RunsStore(runs),
                           epochs=1, executor=_NoTraining(), progress=False)
    assert not runs.exists()


def _predictions(task: str, sources: list[str]) -> pd.Series:
    series = pd.Series([0.9, 0.8], index=pd.Index([88881, 88887], name="key"), name="p")
    series.attrs.update(task=task, scale="score", fit_info={"source_tasks": sources})
    return series


@pytest.mark.parametrize("predictions, message", [
    (_predictions("citeseer", ["pubmed"]), "the predictions are for task 'citeseer' .their attrs\\['task'\\]., not 'cora'"),
    (_predictions("cora", ["citeseer", "cora"]), "the predictor was fitted on cora itself"),
], ids=["another task", "fitted on the target"])
def test_validate_predictions_refuses_predictions_it_cannot_judge(bench, planetoid_root, tmp_path, predictions,
                                                                  message):
    runs = tmp_path / "r.h5"
    with pytest.raises(ValueError, match=message):
        validate_predictions(bench, "cora", predictions, top=1, seeds=[0], data_root=planetoid_root,
                             store=RunsStore(runs), epochs=1, executor=_NoTraining(), progress=False)
    assert not runs.exists()


def test_validate_predictions_leaves_out_the_support_architectures(bench, planetoid_root, tmp_path):
    predictions = _predictions("cora", ["pubmed"])
    predictions.attrs["support_keys"] = [88881]   # measured: the predictor was given its table score
    handed = []

    class Recording(LocalExecutor):
        def run(self, jobs):
            handed.extend(job.key for job in jobs)
            return iter(())

    df, _ = validate_predictions(bench, "cora", predictions, top=1, seeds=[0], data_root=planetoid_root,
                                 store=RunsStore(tmp_path / "r.h5"), epochs=1, executor=Recording(), progress=False)
    assert handed == [88887] and df.index.tolist() == [88887]


def test_validate_takes_a_trained_predictor_file_and_options(bench_root, planetoid_root, tmp_path, capsys):

    model = tmp_path / "wr.npz"
    assert main(["predictors", "train", "--predictor", "weighted-rank", "--holdout", "cora", "--seed", "3",
                 "--root", str(bench_root), "--out", str(model)]) == 0
    capsys.readouterr()
    common = ["--task", "cora", "--top", "1", "--shots", "20", "--seed", "0", "--seeds", "0", "--epochs", "1",
              "--json", *_common(bench_root, planetoid_root, tmp_path / "r.h5")]
    assert _main(["harness", "validate", "--model", str(model), *common]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["predictor"] == "weighted-rank" and summary["predictor_seed"] == 3
    assert summary["predictor_file"] == str(model) and summary["measured"] == 1
    on_cora = tmp_path / "on-cora.npz"
    assert main(["predictors", "train", "--predictor", "weighted-rank", "--sources", "cora,citeseer", "--seed", "0",
                 "--root", str(bench_root), "--out", str(on_cora)]) == 0
    with pytest.raises(ValueError, match="was trained on cora.*predictors train --holdout cora"):
        _main(["harness", "validate", "--model", str(on_cora), *common])
    with pytest.raises(ValueError, match="--config does not apply to --model"):
        _main(["harness", "validate", "--model", str(model), "--config", '{"temperature": 0.1}', *common])
    with pytest.raises(UnknownOptionError, match="has no option"):
        _main(["harness", "validate", "--predictor", "weighted-rank", "--config", '{"bogus": 1}', *common])
