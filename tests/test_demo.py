"""The README's main command, end to end (opt in: it trains a model for real)."""
from __future__ import annotations

import os
import subprocess
import sys

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
