"""predictors/make_cards.py refuses caches that would wipe measured cards."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nasbench_meta.predictors.evaluation import evaluate

SCRIPT = Path(__file__).resolve().parents[1] / "predictors" / "make_cards.py"


def make_cards(cache: Path, bench_root: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--cache", str(cache), "--root", str(bench_root), *extra],
                          capture_output=True, text=True, timeout=300)


def test_make_cards_refuses_an_empty_or_partial_cache(bench, bench_root, tmp_path):
    cards = {p: p.read_text() for p in (SCRIPT.parent / "cards").glob("*.md")}
    empty = make_cards(tmp_path, bench_root)
    assert empty.returncode != 0 and "holds no evaluation with support seeds" in empty.stderr
    # One predictor's full protocol on one held-out task: a cache that lacks the other eight.
    evaluate(bench, "mean-rank", holdouts=["cora"], shots=[0, 10, 20, 50, 100], seeds=[0, 1, 2, 3, 4],
             fit_seed=0, cache_dir=tmp_path, progress=False)
    partial = make_cards(tmp_path, bench_root)
    assert partial.returncode != 0 and "no full evaluation of gin, gnn-meta, gp-meta" in partial.stderr
    assert {p: p.read_text() for p in cards} == cards            # no card was touched
