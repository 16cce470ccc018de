"""Predictor leaderboard: a real leave-one-task-out evaluation is verified, stored and rendered."""
from __future__ import annotations

import copy
import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nasbench_meta.leaderboard import actions
from nasbench_meta.leaderboard.actions import format_verdict
from nasbench_meta.leaderboard.boards import predictor_board
from nasbench_meta.leaderboard.schema import SubmissionRejected, make_submission
from nasbench_meta.leaderboard.storage import BoardStore
from nasbench_meta.predictors import evaluation

URL = "https://example.org/nasbench-meta"


@pytest.fixture(scope="module")
def payload(bench) -> dict:
    # The smallest evaluation the board accepts: every complete task held out, K = 0..100, 3 seeds.
    return evaluation.evaluate(bench, "mean-rank", holdouts=["all"], shots=[0, 10, 20, 50, 100],
                               seeds=[0, 1, 2], fit_seed=0, progress=False).payload


def _submission(payload: dict, name: str = "Mean rank", version: str = "1") -> dict:
    return make_submission(board="predictors", benchmark="nas-bench-graph", name=name, version=version,
                           authors=["nasbench-meta tests"], url=URL, config=payload["predictor"]["config"],
                           results=[copy.deepcopy(payload)])


def _snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def board(tmp_path_factory, bench, payload) -> Path:
    boards = tmp_path_factory.mktemp("predictor-boards")
    actions.submit(_submission(payload), boards_dir=boards, bench=bench)
    return boards


def test_evaluation_is_accepted_and_rendered(board, payload):
    store = BoardStore(board, "nas-bench-graph", "predictors")
    [entry] = store.entries()
    pb = predictor_board("nas-bench-graph", [entry])
    # Mean over held-out tasks of the per-task seed means, from the evaluation's own runs.
    per_task = [np.mean([r["metrics"]["valid"]["spearman"] for r in payload["runs"]
                         if r["holdout"] == t and r["shots"] == 50]) for t in payload["holdouts"]]
    assert pb.rows[0].mean["spearman"][50].mean == pytest.approx(np.mean(per_task), abs=1e-12)
    readme = (store.dir / "README.md").read_text()
    assert f"| 1 | Mean rank | 1 | 3 | {pb.rows[0].mean['spearman'][0].mean:.3f} ± " in readme
    assert "Spearman per held-out task at K=100" in readme
    assert (store.dir / "plots" / "metrics_vs_k.svg").is_file()
    before = _snapshot(store.dir)
    actions.render_all(board, board="predictors")
    assert _snapshot(store.dir) == before  # rendering twice gives identical bytes


def _drop_holdout(p):
    p["holdouts"] = [t for t in p["holdouts"] if t != "arxiv"]
    p["runs"] = [r for r in p["runs"] if r["holdout"] != "arxiv"]


def _two_seeds(p):
    p["seeds"] = [0, 1]
    p["runs"] = [r for r in p["runs"] if r["seed"] != 2]


def _outside(p):
    p["runs"][7]["support_keys"][0] = 99999999


def _no_k100(p):
    p["shots"] = [0, 10, 20, 50]
    p["runs"] = [r for r in p["runs"] if r["shots"] != 100]


def _version(p):
    p["schema_version"] = 7


def _skip(p, tasks=None):
    """Runs hand-marked as skipped (mean-rank adapts from K = 0): their scores vanished from the board."""
    for run in p["runs"]:
        if (tasks is None and run["shots"] == 0) or (tasks is not None and run["holdout"] in tasks):
            run.pop("metrics"), run.pop("query_ranks"), run.pop("top_keys")
            run["skipped"] = "nope"


def _fit_on_test(p):
    p["protocol"]["fit_split"] = "test"


def _sources_with_target(p):
    p["source_tasks"]["cora"] = p["source_tasks"]["cora"] + ["cora"]


@pytest.mark.parametrize("mutate, code", [(_drop_holdout, "missing-task"), (_two_seeds, "too-few-seeds"),
                                          (_outside, "key-outside-space"), (_no_k100, "missing-shots"),
                                          (_version, "unknown-schema-version"),
                                          (_skip, "invalid-results"),
                                          (lambda p: _skip(p, ["cora", "pubmed"]), "invalid-results"),
                                          (_fit_on_test, "wrong-protocol"), (_sources_with_target, "wrong-protocol")],
                         ids=["holdout", "seeds", "outside", "k100", "version", "skip-k0", "skip-tasks", "fit-split",
                              "sources"])
def test_bad_evaluations_are_rejected(mutate, code, bench, payload, tmp_path):
    # an empty board: on `board`, a mere relabelling of its entry is rejected as a duplicate first
    bad = copy.deepcopy(payload)
    mutate(bad)
    with pytest.raises(SubmissionRejected) as exc:
        actions.submit(_submission(bad, name="Bad predictor"), boards_dir=tmp_path, bench=bench)
    assert code in {p.code for p in exc.value.problems}, exc.value.problems
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]       # nothing written


def test_claimed_metrics_are_rescored(bench, payload, tmp_path):
    bad = copy.deepcopy(payload)
    run = next(r for r in bad["runs"] if r["holdout"] == "cora" and r["shots"] == 20)
    run["metrics"]["valid"]["spearman"] += 0.2  # a claim its stored predictions do not support
    verdict = actions.validate(_submission(bad, name="Inflated"), boards_dir=tmp_path, bench=bench)
    assert [p.code for p in verdict.problems] == ["claimed-mismatch"]
    assert "cora K=20" in verdict.problems[0].message and "spearman" in verdict.problems[0].message


def test_duplicate_evaluation_is_rejected(board, bench, payload):
    verdict = actions.validate(_submission(payload, name="Renamed"), boards_dir=board, bench=bench)
    assert {p.code for p in verdict.problems} == {"duplicate-entry"}
    # the same runs with a seed fewer were accepted as a new entry (the board showed two identical rows)
    fewer = copy.deepcopy(payload)
    _two_seeds(fewer)
    fewer["seeds"] = [0, 1, 2]   # only the seed count check stands in the way otherwise: drop it from view
    verdict = actions.validate(_submission(fewer, name="Fewer", version="2"), boards_dir=board, bench=bench)
    assert any("every run is one of 'mean-rank--1'" in p.message for p in verdict.problems), verdict.problems


def test_a_predictor_fitted_for_a_held_out_task_cannot_read_it(bench, private_registry):
    # a predictor whose fit kept the benchmark and read the held-out task's scores reached Spearman
    # 1.000 at every K and was accepted at the top of the board
    from nasbench_meta.benchmark import HiddenTaskError
    from nasbench_meta.predictors import Predictor

    class Cheat(Predictor):
        name, meta, scale = "cheat", True, "rank"

        def _fit(self, bench, tasks, *, split, seed):
            self._scores = bench.scores(next(t for t in bench.tasks if t not in tasks and t != "proteins"),
                                        split=split, seeds="mean")

        def _predict(self, rows, support_rows, support_scores):
            return np.nan_to_num(self._scores[rows])

    with pytest.raises(HiddenTaskError, match="cora's results are hidden here"):
        evaluation.evaluate(bench, Cheat, holdouts=["cora"], shots=[0], seeds=[0], fit_seed=0, progress=False)


def test_a_verdict_with_skipped_shots_prints(bench):
    # format_verdict crashed on the null Spearman of a K the predictor skips (after accepting)
    summary = {"holdouts": {"cora": {"0": {"spearman": [None, None]}, "10": {"spearman": [0.5, 0.7]}}}}
    verdict = actions.Verdict(board="predictors", benchmark="nas-bench-graph", entry_id="x--1", summary=summary)
    assert format_verdict(verdict)[1].split() == ["cora", "K=0:", "Spearman", "-", "K=10:", "Spearman", "0.600"]


def test_claimed_config_must_be_the_recorded_one(bench, payload, tmp_path):
    doc = _submission(payload)
    claimed = {**payload["predictor"]["config"], "temperature": 0.5}
    verdict = actions.validate({**doc, "method": {**doc["method"], "config": claimed}}, boards_dir=tmp_path, bench=bench)
    assert [p.code for p in verdict.problems] == ["config-mismatch"]
    assert "temperature: claimed 0.5, recorded absent" in verdict.problems[0].message


def test_identical_problems_are_collapsed(bench, tmp_path):
    # `predictors evaluate --no-predictions`: no run can be re-scored; one line says so, with a count
    bare = evaluation.evaluate(bench, "mean-rank", holdouts=["all"], shots=[0, 10, 20, 50, 100], seeds=[0, 1, 2],
                               fit_seed=0, store_predictions=False, progress=False).payload
    verdict = actions.validate(_submission(bare, name="No predictions"), boards_dir=tmp_path, bench=bench)
    [problem] = verdict.problems
    first = bare["runs"][0]
    assert problem.code == "missing-predictions" and problem.count == len(bare["runs"]) == 8 * 5 * 3
    assert problem.message.startswith("no stored predictions to re-score (evaluated with --no-predictions? evaluate "
                                      f"again without it) (120 times: {first['holdout']} K=0 seed=0; ")
    assert format_verdict(verdict) == ["REJECTED for nas-bench-graph/predictors: 120 problem(s)", f"  - {problem}"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install -y chromium)")
def test_predictor_page_loads_in_headless_chromium(board):
    page = board / "nas-bench-graph" / "predictors" / "index.html"
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "<table" in dom and "Mean rank" in dom and "K=100" in dom and "Spearman on the held-out task" in dom


def test_board_says_which_predictor_gaps_are_significant() -> None:
    # The repository's board: six verified predictors, leave one task out over 8 tasks.
    store = BoardStore(Path(__file__).resolve().parents[1] / "leaderboards", "nas-bench-graph", "predictors")
    pb = predictor_board("nas-bench-graph", store.entries())
    zero, full = pb.significance[0], pb.significance[100]
    assert "XGBoost (single task) 1" not in zero.methods and len(zero.methods) == len(pb.rows) - 1  # no K=0 score
    assert zero.friedman_p > 0.05                        # zero-shot: no predictor shown to beat the mean rank
    assert full.friedman_p < 0.001 and full.differ("Deep-kernel GP meta-predictor 2", "Mean rank 1")
    assert "Are the rank differences significant?" in (store.dir / "README.md").read_text()


def _min_support(value, skip_k0=True):
    def mutate(p):
        p["predictor"]["min_support"] = value
        if skip_k0:
            _skip(p)
    return mutate


@pytest.mark.parametrize("mutate, message", [
    (_min_support(20), "predictor.min_support is 20; mean-rank adapts from K = 0"),   # a built-in's is known
    (_min_support(True, skip_k0=False), "predictor.min_support is True"),
    (lambda p: _skip(p, p["holdouts"]), "every run is skipped"),
], ids=["raised", "bool", "all-skipped"])
def test_a_hand_raised_smallest_k_does_not_excuse_skipped_runs(mutate, message, bench, payload, tmp_path):
    bad = copy.deepcopy(payload)
    mutate(bad)
    verdict = actions.validate(_submission(bad, name="Raised"), boards_dir=tmp_path, bench=bench)
    assert any(message in p.message for p in verdict.problems), verdict.problems


def test_skipped_runs_below_a_users_smallest_k_are_accepted(bench, payload, tmp_path):
    # a user's predictor that adapts from K = 10 skips its K = 0 runs, as evaluate records them
    ok = copy.deepcopy(payload)
    ok["predictor"] = {**ok["predictor"], "name": "my-transfer", "min_support": 10}
    _skip(ok)
    assert payload["predictor"]["min_support"] == 0 and "code" not in payload["predictor"]   # what evaluate records
    verdict = actions.validate(_submission(ok, name="Mine"), boards_dir=tmp_path, bench=bench)
    assert verdict.accepted, verdict.problems
