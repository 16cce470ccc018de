"""The README's main command, end to end (opt in: it trains a model for real)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_every_stage(bench_root, planetoid_root, tmp_path):
    env = {**os.environ, "NASBENCH_META_HOME": str(bench_root), "NASBENCH_META_DATA": str(planetoid_root)}
    result = subprocess.run(
        [sys.executable, "-m", "nasbench_meta.cli.main", "demo", "--predictor", "weighted-rank",
         "--train-seeds", "0", "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=3000)
    assert result.returncode == 0, result.stderr[-2000:]
    for stage in ("[1]", "[2]", "[3]", "[4]", "[5]"):
        assert stage in result.stdout
    assert "measured val" in result.stdout  # the predicted-best architecture was trained
    assert (tmp_path / "out" / "search" / "cora-regret_test.png").exists()
    assert (tmp_path / "out" / "leaderboards" / "nas-bench-graph" / "nas" / "index.html").exists()


@pytest.mark.parametrize("options, error, message", [
    ({"predictor": "xgb"}, ValueError, "the demo shows zero-shot predictions, which xgb cannot make"),
    ({"predictor": "nope"}, LookupError, "unknown predictor 'nope'"),
    ({"train_seeds": (0, 0)}, ValueError, "more than once"),
    ({"train_seeds": (-1,)}, ValueError, "seed must be from 0"),
    ({"shots": -3}, ValueError, "shots must be a whole number"),
])
def test_demo_options_are_checked_before_any_stage(tmp_path, options, error, message):
    from nasbench_meta.demo import DemoConfig, run_demo

    root = tmp_path / "home"   # nothing is built there: the check comes first
    with pytest.raises(error, match=message):
        run_demo(DemoConfig(root=root, out_dir=tmp_path / "out", **options))
    assert not root.exists() and not (tmp_path / "out").exists()


def test_demo_train_seeds_are_seeds_on_the_command_line(capsys):
    from nasbench_meta.cli.main import main

    with pytest.raises(SystemExit):
        main(["demo", "--train-seeds", "-1"])
    assert "a seed must be from 0" in capsys.readouterr().err


def test_demo_paths_given_on_purpose_are_checked_before_any_stage(tmp_path):
    from nasbench_meta.demo import DemoConfig, run_demo

    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="--out-dir .* is a file"):
        run_demo(DemoConfig(root=tmp_path / "home", out_dir=a_file))
    with pytest.raises(ValueError, match="--out-dir is empty or"):   # wrote search/ and leaderboards/ right here
        run_demo(DemoConfig(root=tmp_path / "home", out_dir=Path("")))
    with pytest.raises(ValueError, match="--data-root .* is not a directory"):
        run_demo(DemoConfig(root=tmp_path / "home", out_dir=tmp_path / "out", data_root=tmp_path / "nowhere"))
    assert not (tmp_path / "home").exists()
