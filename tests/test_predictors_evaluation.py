"""Leave-one-task-out evaluation, its outputs, re-scoring, the CLI and the demo stage."""
from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from nasbench_meta.cli.main import main
from nasbench_meta.predictors import demo_stage, get_predictor, registry
from nasbench_meta.predictors.evaluation import (decode_ranks, encode_ranks, evaluate, markdown_table, rescore,
                                                 spearman_rank_tests, summary, write_outputs)
from nasbench_meta.predictors.metrics import ranking_metrics


def test_metrics_on_known_rankings():
    true = np.arange(200, dtype=float) / 200
    perfect = ranking_metrics(true * 3 + 1, true)
    assert perfect["spearman"] == pytest.approx(1) and perfect["kendall"] == pytest.approx(1)
    assert perfect["precision@1%"] == 1 and perfect["regret@1"] == 0 and perfect["regret@10"] == 0
    worst = ranking_metrics(-true, true)
    assert worst["spearman"] == pytest.approx(-1) and worst["precision@5%"] == 0
    assert worst["regret@1"] == pytest.approx(true.max() - true.min())
    # best beyond the query set (e.g. the task's best was in the support): regret counts it
    assert ranking_metrics(true, true, best=2.0)["regret@1"] == pytest.approx(2.0 - true.max())
    assert ranking_metrics(np.zeros(200), true)["spearman"] == 0.0


def test_significance_of_predictor_ranks_per_k():
    # three predictors on three held-out tasks; "c" has no K=0 score (a single-task baseline)
    spearman = {"a": 0.7, "b": 0.5, "c": 0.3}
    rows = [{"predictor": p, "holdout": t, "shots": k, "seed": s, "split": "valid", "metric": "spearman",
             "value": v + 0.01 * s}
            for p, v in spearman.items() for t in ("x", "y", "z") for k in (0, 20) for s in (0, 1)
            if not (p == "c" and k == 0)]
    table = pd.DataFrame(rows)
    tests = spearman_rank_tests(table, split="valid")
    assert list(tests) == [20]                                # K=0: only 2 predictors, too few to test
    assert tests[20].methods == ["a", "b", "c"] and tests[20].average_ranks.tolist() == [1.0, 2.0, 3.0]
    assert tests[20].friedman_p == pytest.approx(np.exp(-3.0))  # statistic 6 on 2 degrees of freedom
    assert "- K = 20: Friedman p = 0.0498 over 3 tasks" in markdown_table(table, split="valid")


def test_dense_rank_storage_is_lossless_for_every_metric():
    rng = np.random.default_rng(0)
    pred = np.round(rng.normal(size=5000), 2)  # many ties
    true = pred + rng.normal(size=5000)
    assert ranking_metrics(decode_ranks(encode_ranks(pred)), true) == ranking_metrics(pred, true)


@pytest.fixture(scope="module")
def small_eval(bench, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    result = evaluate(bench, "weighted-rank", holdouts=["cora", "pubmed"], shots=[0, 20], seeds=[0, 1], fit_seed=0,
                      cache_dir=cache, progress=False)
    return result, cache


def test_evaluation_payload_and_table(small_eval, bench):
    result, _ = small_eval
    p = result.payload
    assert p["schema_version"] == 1 and p["predictor"]["name"] == "weighted-rank"
    assert p["holdouts"] == ["cora", "pubmed"] and p["shots"] == [0, 20] and p["seeds"] == [0, 1]
    assert "cora" not in p["source_tasks"]["cora"] and "proteins" not in p["source_tasks"]["cora"]
    assert len(p["runs"]) == 8
    run = next(r for r in p["runs"] if r["shots"] == 20)
    assert len(run["support_keys"]) == 20 and len(run["top_keys"]) == 100
    assert not set(run["top_keys"]) & set(run["support_keys"])
    table = result.table
    assert set(table["split"]) == {"valid", "test"} and len(table) == 8 * 2 * 6
    summ = summary(table)
    assert summ.loc[("weighted-rank", 0, "valid"), ("spearman", "mean")] > 0.2  # far above chance
    assert "| weighted-rank | 2 | 20 |" in markdown_table(table)


def test_rescore_verifies_and_catches_tampering(small_eval, bench):
    payload = json.loads(json.dumps(small_eval[0].payload))
    assert rescore(payload, bench) == []
    payload["runs"][3]["metrics"]["valid"]["spearman"] += 0.1
    problems = rescore(payload, bench)
    assert len(problems) == 1 and "valid spearman" in problems[0]


def test_evaluation_resumes_from_its_cache(small_eval, bench, monkeypatch):
    result, cache = small_eval
    import nasbench_meta.predictors.evaluation as evaluation

    def refit(*args, **kwargs):
        raise AssertionError("a cached held-out task was run again")

    monkeypatch.setattr(evaluation, "_run_holdout", refit)
    again = evaluate(bench, "weighted-rank", holdouts=["cora", "pubmed"], shots=[0, 20], seeds=[0, 1], fit_seed=0,
                     cache_dir=cache, progress=False)
    pd.testing.assert_frame_equal(again.table, result.table)


def test_a_damaged_cache_file_is_evaluated_again(small_eval, bench, tmp_path):
    result, cache = small_eval
    copy = tmp_path / "cache"
    copy.mkdir()
    for f in cache.iterdir():
        copy.joinpath(f.name).write_bytes(f.read_bytes())
    damaged = next(f for f in copy.iterdir() if f.name.endswith("-pubmed.json"))
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable cache file .*pubmed"):
        again = evaluate(bench, "weighted-rank", holdouts=["cora", "pubmed"], shots=[0, 20], seeds=[0, 1],
                         fit_seed=0, cache_dir=copy, progress=False)
    pd.testing.assert_frame_equal(again.table, result.table)
    assert json.loads(damaged.read_text())["seeds"] == [0, 1]      # rewritten whole


@pytest.mark.parametrize("seeds, fit_seed, error, message", [
    ([0, 1.5], 0, TypeError, "seed must be an integer"), ([0, 0], 0, ValueError, "more than once"),
    ([], 0, ValueError, "at least one seed"), ([0], None, TypeError, "fit_seed is None"),
    ([0], -1, ValueError, "fit_seed must be from 0"),
])
def test_evaluation_refuses_bad_seeds_before_any_work(bench, seeds, fit_seed, error, message):
    with pytest.raises(error, match=message):
        evaluate(bench, "mean-rank", holdouts=["cora"], shots=[0], seeds=seeds, fit_seed=fit_seed, progress=False)


def test_write_outputs(small_eval, tmp_path):
    paths = write_outputs([small_eval[0]], tmp_path, "eval")
    assert pd.read_csv(paths["csv"]).shape[0] == len(small_eval[0].table)
    assert paths["png"].stat().st_size > 10_000
    assert "### valid scores" in paths["md"].read_text()
    assert json.loads(paths["json:weighted-rank"].read_text())["schema_version"] == 1


def test_cli_list_evaluate_train_predict(bench_root, tmp_path, capsys):
    assert main(["predictors", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    kinds = {r["name"]: r["kind"] for r in listed}
    assert {r["name"] for r in listed if r["meta"]} == {"mean-rank", "weighted-rank", "xgb-src", "xgb-meta",
                                                        "gnn-meta", "gp-meta"}   # reads the source tasks
    # the three groups: single-task baselines, transfer baselines, meta-trained predictors
    assert {k for k, v in kinds.items() if v == "transfer"} == {"mean-rank", "weighted-rank", "xgb-src"}
    assert {k for k, v in kinds.items() if v == "meta-trained"} == {"xgb-meta", "gnn-meta", "gp-meta"}
    assert {k for k, v in kinds.items() if v == "single-task"} == {"xgb", "rf", "gin"}
    out = tmp_path / "ev"
    assert main(["predictors", "evaluate", "--predictor", "mean-rank", "--predictor", "weighted-rank",
                 "--holdout", "citeseer", "--shots", "0", "--shots", "10", "--seeds", "2", "--root", str(bench_root),
                 "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["predictor"] for r in report["summary"]} == {"mean-rank", "weighted-rank"}
    assert (out / "evaluation.png").exists() and (out / "evaluation-mean-rank.json").exists()
    model = tmp_path / "wr.npz"
    assert main(["predictors", "train", "--predictor", "weighted-rank", "--holdout", "cora", "--seed", "0",
                 "--root", str(bench_root), "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["predictors", "predict", "--model", str(model), "--task", "cora", "--shots", "20", "--seed", "1",
                 "--root", str(bench_root), "--json"]) == 0
    predicted = json.loads(capsys.readouterr().out)
    assert len(predicted["top"]) == 10 and len(predicted["support_keys"]) == 20
    # a model trained on the target is refused; bad input is one clear line
    assert main(["predictors", "predict", "--model", str(model), "--task", "citeseer", "--shots", "5", "--seed", "0",
                 "--root", str(bench_root)]) == 2
    assert "leak" in capsys.readouterr().err
    assert main(["predictors", "evaluate", "--predictor", "nope", "--holdout", "cora", "--seeds", "1",
                 "--root", str(bench_root), "--out", str(out)]) == 2
    assert "unknown predictor 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):   # argparse's usage error (exit code 2), before any work
        main(["predictors", "predict", "--predictor", "mean-rank", "--task", "cora", "--shots", "0", "--seed", "0",
              "--top", "0", "--root", str(bench_root)])
    assert "--top: must be at least 1" in capsys.readouterr().err


USER_PREDICTOR = """
import numpy as np
from nasbench_meta.predictors import Predictor


class MostSkips(Predictor):
    name = "most-skips"
    description = "prefers architectures with many skips (a user's own heuristic)"

    def _predict(self, rows, support_rows, support_scores):
        return np.array([str(self._space.format(int(k))).count("skip") for k in self._keys[rows]], float)
"""


def test_a_users_own_predictor_runs_through_the_cli(bench_root, bench, tmp_path, capsys, monkeypatch,
                                                    private_registry):
    path = tmp_path / "mine.py"
    path.write_text(USER_PREDICTOR)
    out = tmp_path / "ev"
    assert main(["predictors", "evaluate", "--predictor", f"{path}:MostSkips", "--holdout", "citeseer",
                 "--shots", "0", "--seeds", "1", "--root", str(bench_root), "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["predictor"] for r in report["summary"]} == {"most-skips"}
    payload = json.loads((out / "evaluation-most-skips.json").read_text())
    assert rescore(payload, bench) == []            # filed under its name, verifiable like any other
    keys = bench.task_keys("citeseer")
    skips = [bench.space.format(int(k)).count("skip") for k in keys]
    valid = bench.scores("citeseer", split="valid", seeds="mean")[bench.rows(keys)]
    expected = spearmanr(skips, valid).statistic                # the user's heuristic, scored by hand
    assert payload["runs"][0]["metrics"]["valid"]["spearman"] == pytest.approx(expected, abs=1e-9)
    assert main(["predictors", "predict", "--predictor", f"{path}:MostSkips", "--task", "cora", "--shots", "0",
                 "--seed", "0", "--root", str(bench_root)]) == 0
    assert "most-skips on cora" in capsys.readouterr().out
    model = tmp_path / "mine.npz"
    assert main(["predictors", "train", "--predictor", f"{path}:MostSkips", "--holdout", "cora", "--seed", "0",
                 "--root", str(bench_root), "--out", str(model)]) == 0
    builtins = {name: cls for name, cls in registry.PREDICTORS.items() if name != "most-skips"}
    monkeypatch.setattr(registry, "PREDICTORS", dict(builtins))   # as in a fresh process
    capsys.readouterr()
    assert main(["predictors", "predict", "--model", str(model), "--task", "cora", "--shots", "0", "--seed", "0",
                 "--root", str(bench_root)]) == 0                   # the file says where its class lives
    assert "most-skips on cora" in capsys.readouterr().out
    monkeypatch.setattr(registry, "PREDICTORS", dict(builtins))
    path.rename(tmp_path / "moved.py")
    assert main(["predictors", "predict", "--model", str(model), "--task", "cora", "--shots", "0", "--seed", "0",
                 "--root", str(bench_root)]) == 2
    assert "cannot be loaded here" in capsys.readouterr().err
    path = tmp_path / "moved.py"
    for bad, message in [(f"{path}:Nope", "has no attribute 'Nope'"), (f"{path}:np", "not a subclass"),
                         (f"{tmp_path}/missing.py:X", "no predictor file")]:
        assert main(["predictors", "evaluate", "--predictor", bad, "--holdout", "cora", "--seeds", "1",
                     "--root", str(bench_root), "--out", str(out)]) == 2
        assert message in capsys.readouterr().err


def test_demo_stage_prints_zero_and_few_shot_predictions(bench):
    lines: list[str] = []
    result = demo_stage(bench, holdout="cora", predictor="weighted-rank", shots=(0, 20), seed=0, top=5,
                        echo=lines.append)
    text = "\n".join(lines)
    assert "K = 0" in text and "K = 20" in text and "true rank" in text
    assert set(result["predictions"]) == {0, 20}
    assert len(result["predictions"][20]) == len(bench.task_keys("cora"))
    assert result["metrics"][20]["valid"]["spearman"] > 0.1


def test_a_users_predictor_edited_since_its_cached_evaluation_is_evaluated_again(bench, tmp_path, monkeypatch):
    builtins = dict(registry.PREDICTORS)
    monkeypatch.setattr(registry, "PREDICTORS", dict(builtins))
    path = tmp_path / "mine.py"
    path.write_text(USER_PREDICTOR)
    run = dict(holdouts=["citeseer"], shots=[0], seeds=[0], fit_seed=0, cache_dir=tmp_path / "cache", progress=False)
    first = evaluate(bench, f"{path}:MostSkips", **run).table
    path.write_text(USER_PREDICTOR.replace("float)", "float) * -1"))   # same name and version, new code
    monkeypatch.setattr(registry, "PREDICTORS", dict(builtins))        # as a new process would load it
    for name in [n for n in sys.modules if n.startswith("nasbench_meta_user_")]:
        monkeypatch.delitem(sys.modules, name)
    again = evaluate(bench, f"{path}:MostSkips", **run).table
    spearman = [t.query("split == 'valid' and metric == 'spearman'").value.item() for t in (first, again)]
    assert spearman[1] == pytest.approx(-spearman[0]) and spearman[0] != 0


def test_a_cache_without_predictions_does_not_serve_a_run_that_stores_them(bench, tmp_path):
    run = dict(holdouts=["cora"], shots=[0, 10], seeds=[0], fit_seed=0, cache_dir=tmp_path, progress=False)
    bare = evaluate(bench, "mean-rank", store_predictions=False, **run).payload
    assert all("query_ranks" not in r for r in bare["runs"])
    full = evaluate(bench, "mean-rank", **run).payload
    assert rescore(full, bench) == []                      # re-scorable: the ranks were computed, not reused
    lean = evaluate(bench, "mean-rank", store_predictions=False, **run).payload
    assert all("query_ranks" not in r for r in lean["runs"])   # the full cache serves it, minus the ranks


@pytest.mark.parametrize("predictor, holdouts, shots, message", [
    ("xgb", ["cora"], [0], "xgb needs at least 2 support architectures and every K given"),
    ("mean-rank", ["cora"], [26206], "K = 26206 is not possible: K must be from 0 to 26204"),
    ("mean-rank", ["cora"], [-5], "K = -5 is not possible"),
    ("mean-rank", ["cora"], [2.0], "must be a whole number, got 2.0"),
    ("mean-rank", ["all", "cora"], [0], "'all' already means every complete task"),
])
def test_evaluation_refuses_impossible_shots_before_any_fit(bench, monkeypatch, predictor, holdouts, shots, message):
    import nasbench_meta.predictors.evaluation as evaluation

    monkeypatch.setattr(evaluation, "_run_holdout", lambda *a, **k: pytest.fail("fitted before checking"))
    with pytest.raises(ValueError, match=message):
        evaluate(bench, predictor, holdouts=holdouts, shots=shots, seeds=[0], fit_seed=0, progress=False)


def test_repeated_shots_are_evaluated_once(bench):
    result = evaluate(bench, "mean-rank", holdouts=["cora"], shots=[10, 10, 0], seeds=[0], fit_seed=0, progress=False)
    assert result.payload["shots"] == [10, 0] and len(result.payload["runs"]) == 2


def test_outputs_that_cannot_be_written_fail_before_the_fit(bench_root, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    common = ["--root", str(bench_root)]
    cases = [
        (["predictors", "train", "--predictor", "weighted-rank", "--holdout", "cora", "--seed", "0",
          "--out", str(tmp_path)], "--out must be a file path, not a directory"),
        (["predictors", "train", "--predictor", "weighted-rank", "--holdout", "cora", "--seed", "0",
          "--out", str(blocker / "p.npz")], f"cannot write --out {blocker / 'p.npz'}"),
        (["predictors", "predict", "--predictor", "mean-rank", "--task", "cora", "--shots", "0", "--seed", "0",
          "--csv", str(blocker / "x.csv")], "cannot write --csv"),
        (["predictors", "evaluate", "--predictor", "mean-rank", "--holdout", "cora", "--seeds", "1",
          "--out", str(blocker)], f"--out {blocker} is a file"),
        (["predictors", "evaluate", "--predictor", "mean-rank", "--holdout", "cora", "--seeds", "1",
          "--out", str(tmp_path / "ev"), "--stem", ""], "--stem is the start of the output file names"),
        (["predictors", "predict", "--model", str(tmp_path / "m.npz"), "--task", "cora", "--shots", "0",
          "--seed", "0", "--config", '{"bogus": 3}'], "--config does not apply to --model"),
    ]
    for argv, message in cases:
        assert main(argv + common) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert not (tmp_path / "ev").exists()   # refused before writing anything
    csv = tmp_path / "new" / "p.csv"        # a missing folder is created, as for --out
    assert main(["predictors", "predict", "--predictor", "mean-rank", "--task", "cora", "--shots", "20", "--seed", "0",
                 "--csv", str(csv), "--json"] + common) == 0
    shown = json.loads(capsys.readouterr().out)
    table = pd.read_csv(csv)
    assert table.support.sum() == 20 and not set(shown["support_keys"]) & {r["key"] for r in shown["top"]}
    # a CSV read later says what produced each row (it held key, predicted, support only)
    assert list(table.columns) == ["key", "arch", "predicted", "support", "predictor", "task", "shots",
                                   "support_seed", "fit_seed", "split"]
    assert table.iloc[0][["predictor", "task", "shots", "split"]].tolist() == ["mean-rank", "cora", 20, "valid"]
    assert shown["split"] == "valid"


def test_get_predictor_of_a_predictor_says_it_is_one_already():
    with pytest.raises(TypeError, match="is already one"):
        registry.get_predictor(registry.get_predictor("mean-rank"))


@pytest.mark.parametrize("shots", [20.0, "20", None, True])
def test_support_size_must_be_a_whole_number(bench, shots):
    from nasbench_meta.predictors import sample_support

    with pytest.raises(TypeError, match=f"shots must be a whole number of support architectures, got {shots!r}"):
        sample_support(bench, "cora", shots=shots, seed=0)


def test_several_predictors_are_all_checked_before_the_first_fit(bench_root, tmp_path, capsys, monkeypatch):
    import nasbench_meta.predictors.evaluation as evaluation

    monkeypatch.setattr(evaluation, "_run_holdout", lambda *a, **k: pytest.fail("fitted before checking"))
    assert main(["predictors", "evaluate", "--predictor", "weighted-rank", "--predictor", "xgb", "--holdout", "cora",
                 "--shots", "0", "--seeds", "1", "--out", str(tmp_path / "ev"), "--root", str(bench_root)]) == 2
    assert "xgb needs at least 2 support architectures" in capsys.readouterr().err


def test_errors_in_a_users_predictor_are_reported_as_theirs(bench_root, tmp_path, capsys, private_registry):
    # A class without _predict gave "Can't instantiate abstract class" as a traceback (exit 1); an error
    # raised inside numpy on the user's behalf was placed in numpy/random/_generator.pyx, not their file.
    path = tmp_path / "mine.py"
    path.write_text(USER_PREDICTOR + """

class NoPredict(Predictor):
    name = "no-predict"


class Slashed(NoPredict):
    name = "my/pred"

    def _predict(self, rows, support_rows, support_scores):
        return rows.astype(float)


class TooFew(Predictor):
    name = "too-few"

    def _predict(self, rows, support_rows, support_scores):
        return np.random.default_rng(0).choice(5, size=len(rows), replace=False)
""")
    base = ["--task", "cora", "--shots", "3", "--seed", "0", "--root", str(bench_root)]
    assert main(["predictors", "predict", "--predictor", f"{path}:NoPredict", *base]) == 2
    assert f"{path}:NoPredict does not define _predict, which every predictor must" in capsys.readouterr().err
    assert main(["predictors", "predict", "--predictor", f"{path}:TooFew", *base]) == 2
    assert f"error in your code ({path}:" in capsys.readouterr().err
    # a name with a slash wrote evaluate's files into subfolders of --out (and "../x" outside it)
    assert main(["predictors", "predict", "--predictor", f"{path}:Slashed", *base]) == 2
    assert "Slashed.name 'my/pred' names its result files" in capsys.readouterr().err


@pytest.mark.parametrize("holdout, shots, message", [("foo", (0, 20), "unknown task 'foo'"),
                                                      ("cora", (0, 30000), "K = 30000 is not possible")])
def test_the_demo_stage_checks_its_task_and_shots_before_fitting(bench, holdout, shots, message):
    # both failed only after the predictor was fitted (minutes for the default xgb-meta)
    lines: list[str] = []
    with pytest.raises((LookupError, ValueError), match=message):
        demo_stage(bench, holdout=holdout, predictor="weighted-rank", shots=shots, seed=0, echo=lines.append)
    assert lines == []


def test_predict_says_a_single_task_predictor_read_no_source_task(bench_root, capsys):
    assert main(["predictors", "predict", "--predictor", "xgb", "--task", "cora", "--shots", "10", "--seed", "0",
                 "--root", str(bench_root)]) == 0
    assert "(K=10, seed 0; single-task: fitted on the support set only)" in capsys.readouterr().out


def test_evaluate_takes_one_task_name_as_a_list_of_it(bench):
    # holdouts="cora" was read as the tasks 'c', 'o', 'r', 'a' ("unknown task 'c'")
    from nasbench_meta.predictors.evaluation import resolve_holdouts

    assert resolve_holdouts(bench, "cora") == ["cora"]
    assert resolve_holdouts(bench, "all") == resolve_holdouts(bench, ["all"])


def test_a_predictor_given_twice_is_evaluated_once(bench_root, tmp_path, capsys):
    # its rows were written twice to the tidy CSV
    assert main(["predictors", "evaluate", "--predictor", "mean-rank", "--predictor", "mean-rank", "--holdout", "cora",
                 "--shots", "0", "--seeds", "1", "--root", str(bench_root), "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["summary"]) == 2   # valid and test, once
    assert (report["holdouts"], report["seeds"], report["fit_seed"]) == (["cora"], [0], 0)   # what was run


def test_a_config_file_that_cannot_be_read_names_the_option(tmp_path):
    from nasbench_meta.cli.common import json_object

    with pytest.raises(ValueError, match=r"--config @.*nofile.json: cannot read .*No such file"):
        json_object(f"@{tmp_path / 'nofile.json'}")


def test_save_into_a_folder_or_home_path(bench, tmp_path, monkeypatch):
    # "~/p.npz" made a folder named "~"; a folder's path failed naming a temporary file
    monkeypatch.setenv("HOME", str(tmp_path))
    fitted = get_predictor("mean-rank").fit(bench, ["citeseer", "pubmed"], split="valid", seed=0)
    assert fitted.save("~/p.npz") == tmp_path / "p.npz" and (tmp_path / "p.npz").is_file()
    with pytest.raises(IsADirectoryError, match="is a folder; save the predictor to a file path"):
        fitted.save(tmp_path)


def test_a_class_edited_and_run_again_in_a_notebook_replaces_itself(private_registry):
    # its second definition was refused: "named 'near', which another predictor already uses"
    from nasbench_meta.predictors import Predictor


    def define(offset):
        class Near(Predictor):
            name = "near"

            def _predict(self, rows, support_rows, support_scores):
                return rows + offset
        return Near

    first, second = define(0), define(1)
    assert registry.predictor_class(first) is first and registry.predictor_class(second) is second
    with pytest.raises(LookupError, match="named 'xgb', which another predictor already uses"):
        registry.predictor_class(type("Xgb", (first,), {"name": "xgb"}))
