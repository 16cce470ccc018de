"""The search CLI: a user-defined method from a few lines, grid, verify, rescore, report."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nasbench_meta.cli.main import main
from nasbench_meta.search import load

USER_METHOD = textwrap.dedent('''
    from nasbench_meta.search import Method

    class GreedyMutation(Method):
        name = "greedy-mutation"
        defaults = {"explore": 5}

        def ask(self, n):
            if len(self.scores) < self.config["explore"]:
                return self.problem.sample(self.rng, 1, exclude=self.scores).tolist()
            return [self.problem.mutate(self.best(), self.rng) for _ in range(n)]
''')


def test_user_method_runs_through_the_cli(bench_root: Path, tmp_path: Path) -> None:
    (tmp_path / "mymethods.py").write_text(USER_METHOD)
    out = tmp_path / "results" / "mine-cora.json"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    cmd = [sys.executable, "-m", "nasbench_meta.cli.main", "search", "run", "--method", "mymethods:GreedyMutation",
           "--task", "cora", "--budget", "15", "--seeds", "3", "--config", '{"explore": 3}',
           "--out", str(out), "--root", str(bench_root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "greedy-mutation" in proc.stdout and "cora" in proc.stdout
    results = load(out)
    digest = hashlib.sha256((tmp_path / "mymethods.py").read_bytes()).hexdigest()[:12]
    assert results["method"] == {"name": "greedy-mutation", "version": "1", "spec": "mymethods:GreedyMutation",
                                 "config": {"explore": 3}, "code": digest}
    assert results["seeds"] == [0, 1, 2] and all(r["num_queries"] == 15 for r in results["runs"])
    assert main(["search", "verify", str(out), "--root", str(bench_root)]) == 0


def test_method_from_a_file_path_and_verify_exit_codes(bench_root: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_METHOD)
    out = tmp_path / "mine.json"
    assert main(["search", "run", "--method", f"{path}:GreedyMutation", "--task", "citeseer", "--budget", "10",
                 "--seeds", "2", "--out", str(out), "--root", str(bench_root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["method"] == "greedy-mutation" and rows[0]["seeds"] == 2
    doc = json.loads(out.read_text())
    doc["runs"][0]["trajectory"]["valid"][0] = 1.0
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    assert main(["search", "verify", str(tampered), "--root", str(bench_root)]) == 1
    assert "reveals 1.0" in capsys.readouterr().out
    assert main(["search", "rescore", str(tampered), "--out", str(tmp_path / "laundered.json"),
                 "--root", str(bench_root)]) == 2     # new scores would not make a false trajectory true
    assert "rescoring cannot fix" in capsys.readouterr().err and not (tmp_path / "laundered.json").exists()
    fixed = tmp_path / "fixed.json"
    assert main(["search", "rescore", str(out), "--out", str(fixed), "--root", str(bench_root)]) == 0
    assert load(fixed)["runs"] == load(out)["runs"]


def test_bad_input_gets_one_clear_line(bench_root: Path, tmp_path: Path, capsys) -> None:
    base = ["search", "run", "--task", "cora", "--budget", "5", "--seeds", "1", "--out", str(tmp_path / "x.json"),
            "--root", str(bench_root)]
    assert main(base + ["--method", "nope"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert main(base + ["--method", "re", "--config", '{"populaton_size": 3}']) == 2
    assert "no option(s) ['populaton_size']" in capsys.readouterr().err
    assert main(["search", "run", "--method", "rs", "--task", "mnist", "--budget", "5", "--seeds", "1",
                 "--out", str(tmp_path / "y.json"), "--root", str(bench_root)]) == 2
    assert "unknown task" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()


def test_run_out_must_be_a_file_path(bench_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "5", "--seeds", "1",
                 "--out", str(tmp_path), "--root", str(bench_root)]) == 2
    assert "--out must be a file path, not a directory" in capsys.readouterr().err


def test_batch_size_below_one_is_a_usage_error(bench_root: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rs.json"
    assert main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "5", "--seeds", "1",
                 "--batch-size", "0", "--out", str(out), "--root", str(bench_root)]) == 2
    err = capsys.readouterr().err
    assert "batch size must be a positive" in err and "--batch-size" in err and "rs.ask" not in err
    assert not out.exists()


def _malformed(tmp_path: Path, results: Path) -> Path:
    doc = json.loads(results.read_text())
    doc["runs"][1]["trajectory"] = [1, 2]
    bad = tmp_path / "malformed.json"
    bad.write_text(json.dumps(doc))
    return bad


def test_rescore_rejects_malformed_files_in_one_line(bench_root: Path, tmp_path: Path, capsys) -> None:
    good = tmp_path / "good.json"
    assert main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "5", "--seeds", "2",
                 "--out", str(good), "--root", str(bench_root)]) == 0
    bad = _malformed(tmp_path, good)
    capsys.readouterr()
    assert main(["search", "rescore", str(bad), "--out", str(tmp_path / "new.json"), "--root", str(bench_root)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: runs[1].trajectory must be an object" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "new.json").exists()


def test_verify_checks_every_file_and_reports_unreadable_ones(bench_root: Path, tmp_path: Path, capsys) -> None:
    good = tmp_path / "good.json"
    assert main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "5", "--seeds", "2",
                 "--out", str(good), "--root", str(bench_root)]) == 0
    bad, binary, missing, string_version = (_malformed(tmp_path, good), tmp_path / "binary.json",
                                            tmp_path / "missing.json", tmp_path / "version.json")
    binary.write_bytes(bytes(range(128, 256)))
    string_version.write_text(json.dumps({**json.loads(good.read_text()), "schema_version": "1"}))
    capsys.readouterr()
    files = [binary, good, bad, missing, string_version]
    assert main(["search", "verify", *map(str, files), "--root", str(bench_root)]) == 1
    out = capsys.readouterr().out
    assert f"{good}: OK" in out and out.count("cannot be read") == 4
    for message in (f"{binary} is not a text file", f"{bad}: runs[1].trajectory must be an object",
                    f"no results file at {missing}",
                    f"{string_version}: schema_version is '1'; it must be the integer 1"):
        assert message in out
    assert main(["search", "verify", str(good), str(bad), "--json", "--root", str(bench_root)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[str(good)] == [] and report[str(bad)][0].startswith(f"{bad}: runs[1].trajectory")


def test_rescore_of_results_the_table_contradicts_names_the_cli_command(bench_root: Path, tmp_path: Path,
                                                                         capsys) -> None:
    results = tmp_path / "rs.json"
    assert main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "5", "--seeds", "1",
                 "--out", str(results), "--root", str(bench_root)]) == 0
    doc = json.loads(results.read_text())
    doc["runs"][0]["trajectory"]["keys"][0] = 99999999
    results.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["search", "rescore", str(results), "--out", str(tmp_path / "new.json"),
                 "--root", str(bench_root)]) == 2
    err = capsys.readouterr().err
    assert f"`nasbench-meta search verify {results}` lists every problem" in err and "verify()" not in err
    assert not (tmp_path / "new.json").exists()


def test_report_defaults_to_budgets_the_results_reach(bench_root: Path, tmp_path: Path) -> None:
    results = tmp_path / "rs-cora.json"
    assert main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "10", "--seeds", "2",
                 "--out", str(results), "--root", str(bench_root)]) == 0
    assert main(["search", "report", str(results), "--out-dir", str(tmp_path / "report")]) == 0
    assert "### After 10 queries" in (tmp_path / "report" / "summary.md").read_text()
    assert main(["search", "report", str(results), "--out-dir", str(tmp_path / "again"), "--budgets", "20"]) == 2


def test_rescore_refuses_to_overwrite_unless_forced(bench_root: Path, tmp_path: Path, capsys) -> None:
    results, unrelated = tmp_path / "rs.json", tmp_path / "notes.txt"
    assert main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "5", "--seeds", "1",
                 "--out", str(results), "--root", str(bench_root)]) == 0
    unrelated.write_text("keep me")
    base = ["search", "rescore", str(results), "--out", str(unrelated), "--root", str(bench_root)]
    assert main(base) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert unrelated.read_text() == "keep me"
    assert main(base + ["--force"]) == 0
    assert load(unrelated)["runs"] == load(results)["runs"]


@pytest.mark.parametrize("options, message", [
    (["--methods", "rs,foo", "--tasks", "cora"], "unknown method 'foo'"),
    (["--methods", "rs", "--tasks", "cora,mnist"], "unknown task"),
    (["--methods", "rs", "--tasks", ""], "--tasks is empty"),
    (["--methods", " , ", "--tasks", "cora"], "--methods is empty"),
    (["--methods", "rs", "--tasks", "all", "--budget", "3000"], "budget 3000 exceeds the 2021 architectures proteins"),
    (["--methods", "rs,re", "--tasks", "cora", "--config", '{"re": {"populaton_size": 3}}'], "no option"),
    (["--methods", "rs,re", "--tasks", "cora", "--config", '{"population_size": 3}'], "keyed by method"),
    (["--methods", "rs,random-search", "--tasks", "cora"], "'rs' twice"),
    (["--methods", "rs", "--tasks", "cora", "--batch-size", "0"], "batch size"),
])
def test_grid_checks_everything_before_any_run(bench_root: Path, tmp_path: Path, capsys, options, message) -> None:
    out_dir = tmp_path / "grid"
    argv = ["search", "grid", "--seeds", "1", "--out-dir", str(out_dir), "--root", str(bench_root), *options]
    if "--budget" not in options:
        argv += ["--budget", "3"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out_dir.exists()  # nothing ran, nothing written


def test_grid_and_report(bench_root: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "grid"
    assert main(["search", "grid", "--methods", "rs,re,ls", "--tasks", "cora,photo", "--budget", "20",
                 "--seeds", "3", "--out-dir", str(out_dir), "--root", str(bench_root)]) == 0
    files = sorted(p.name for p in out_dir.glob("*.json"))
    assert files == sorted(f"{m}-{t}.json" for m in ("rs", "re", "ls") for t in ("cora", "photo"))
    report = tmp_path / "report"
    assert main(["search", "report", str(out_dir), "--out-dir", str(report), "--budgets", "20,5,20"]) == 0
    for task in ("cora", "photo"):
        for ext in ("png", "svg"):
            assert (report / f"{task}-regret_test.{ext}").stat().st_size > 1000
    assert (report / "average-rank-regret_test.png").exists()
    summary = (report / "summary.md").read_text()
    assert "### After 20 queries" in summary and "| cora |" in summary and "Average rank over 2 task(s)" in summary
    ranks = (report / "average-rank-regret_test.csv").read_text().splitlines()
    assert ranks[0] == "queries,ls,re,rs" and len(ranks) == 21


def test_grid_files_are_named_after_the_method_inside_out_dir(bench_root: Path, tmp_path: Path, capsys) -> None:
    # A method without a name was written to out_dir/<its spec>-cora.json (a subfolder and a colon in
    # the name); one named "../escape" was written outside out_dir.
    path = tmp_path / "mine.py"
    path.write_text(USER_METHOD.replace('name = "greedy-mutation"', 'name = ""') + textwrap.dedent('''
        class Escape(GreedyMutation):
            name = "../escape"
    '''))
    out_dir = tmp_path / "out" / "grid"
    assert main(["search", "grid", "--methods", f"{path}:GreedyMutation,{path}:Escape", "--tasks", "cora",
                 "--budget", "3", "--seeds", "1", "--out-dir", str(out_dir), "--root", str(bench_root)]) == 0
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.json")) == ["GreedyMutation-cora.json",
                                                                          "escape-cora.json"]
    assert sorted(p.name for p in out_dir.iterdir()) == ["GreedyMutation-cora.json", "escape-cora.json"]
    assert f"wrote 2 results file(s) in {out_dir}" in capsys.readouterr().out


def test_a_grid_file_named_by_an_older_version_still_resumes(bench_root: Path, tmp_path: Path) -> None:
    # names are now made file-safe ("my method" -> my-method-cora.json): the file an older version
    # wrote under the raw name is resumed, not left beside a rerun of every seed
    path = tmp_path / "mine.py"
    path.write_text(USER_METHOD.replace('name = "greedy-mutation"', 'name = "my method"'))
    out_dir = tmp_path / "grid"
    base = ["--budget", "3", "--root", str(bench_root)]
    assert main(["search", "run", "--method", f"{path}:GreedyMutation", "--task", "cora", "--seeds", "1",
                 "--out", str(out_dir / "my method-cora.json"), *base]) == 0
    assert main(["search", "grid", "--methods", f"{path}:GreedyMutation", "--tasks", "cora", "--seeds", "2",
                 "--out-dir", str(out_dir), *base]) == 0
    assert [p.name for p in out_dir.iterdir()] == ["my method-cora.json"]
    assert load(out_dir / "my method-cora.json")["seeds"] == [0, 1]


@pytest.mark.parametrize("tasks", ["complete"])
def test_grid_task_shortcuts(bench_root: Path, tmp_path: Path, tasks: str) -> None:
    assert main(["search", "grid", "--methods", "rs", "--tasks", tasks, "--budget", "3", "--seeds", "1",
                 "--out-dir", str(tmp_path), "--root", str(bench_root)]) == 0
    assert len(list(tmp_path.glob("rs-*.json"))) == 8 and not (tmp_path / "rs-proteins.json").exists()


def test_search_demo_stage(bench, tmp_path: Path, capsys) -> None:
    from nasbench_meta.search.demo import search_demo

    out = search_demo(bench, tmp_path, task="cora", methods=("rs", "meta"), seeds=2, budget=12,
                      cache_dir=tmp_path / "cache")
    text = capsys.readouterr().out
    assert "held-out task cora" in text and "after 12 queries" in text and "meta" in text
    assert [p.suffix for p in out["plots"]] == [".png", ".svg"] and all(p.exists() for p in out["plots"])
    assert [p.name for p in out["results"]] == ["rs-cora.json", "meta-cora.json"]
    assert "cora" not in load(out["results"][1])["method"]["config"]["source_tasks"]


BROKEN_METHOD = '''
from nasbench_meta.search import Method


class Broken(Method):
    name = "broken"

    def ask(self, n):
        raise RuntimeError("boom")
'''


def test_an_error_in_a_users_method_shows_where(bench_root: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "broken.py"
    path.write_text(BROKEN_METHOD)
    assert main(["search", "run", "--method", f"{path}:Broken", "--task", "cora", "--budget", "5", "--seeds", "1",
                 "--out", str(tmp_path / "b.json"), "--root", str(bench_root)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and f"error in your code ({path}:9): RuntimeError: boom" in err
    assert main(["search", "run", "--method", "nope", "--task", "cora", "--budget", "5", "--seeds", "1",
                 "--out", str(tmp_path / "b.json"), "--root", str(bench_root)]) == 2
    assert "Traceback" not in capsys.readouterr().err     # our own errors stay one line


FAILS_ON_SEED_2 = '''
from nasbench_meta.search import Method


class FailsOnSeed2(Method):
    name = "fails-on-seed-2"

    def ask(self, n):
        if self.rng.bit_generator.seed_seq.entropy == 2:
            raise RuntimeError("boom on seed 2")
        return self.problem.sample(self.rng, n, exclude=self.scores).tolist()
'''


def test_a_seed_that_fails_in_a_worker_keeps_the_others_and_shows_where(bench_root: Path, tmp_path: Path,
                                                                         capsys) -> None:
    path, out = tmp_path / "fails.py", tmp_path / "f.json"
    path.write_text(FAILS_ON_SEED_2)
    assert main(["search", "run", "--method", f"{path}:FailsOnSeed2", "--task", "cora", "--budget", "5",
                 "--seeds", "6", "--workers", "2", "--out", str(out), "--root", str(bench_root)]) == 2
    # the worker's traceback comes back as text: the user's line is still named
    assert f"error in your code ({path}:10): RuntimeError: boom on seed 2" in capsys.readouterr().err
    kept = {run["seed"] for run in load(out)["runs"]}
    assert {0, 1} <= kept and 2 not in kept   # started before the failure: finished and kept


def test_seeds_of_an_edited_method_are_not_resumed_into_the_same_results(bench_root: Path, tmp_path: Path,
                                                                         capsys) -> None:
    path, out = tmp_path / "mine.py", tmp_path / "mine.json"
    path.write_text(USER_METHOD)
    argv = ["search", "run", "--method", f"{path}:GreedyMutation", "--task", "cora", "--budget", "8",
            "--out", str(out), "--root", str(bench_root)]
    assert main([*argv, "--seeds", "2"]) == 0
    assert load(out)["method"]["code"]                  # a user's class records its code's digest
    assert load(out)["method"]["spec"] == "mine.py:GreedyMutation"   # by file name: no local directories
    doc = json.loads(out.read_text())
    doc["method"]["spec"] = f"{path}:GreedyMutation"     # as files written before that hold it
    out.write_text(json.dumps(doc))
    assert main([*argv, "--seeds", "3"]) == 0           # unchanged code: resumed, seed 2 added
    assert [r["seed"] for r in load(out)["runs"]] == [0, 1, 2]
    path.write_text(USER_METHOD.replace("return [self.problem", "return [  # mutate the best\n                self.problem"))
    for name in [n for n in sys.modules if n.startswith("nasbench_meta_user_")]:
        del sys.modules[name]                           # as a new process would load the edited file
    capsys.readouterr()
    assert main([*argv, "--seeds", "3"]) == 0           # nothing left to run: no reason to refuse
    assert main([*argv, "--seeds", "4"]) == 2
    assert "run with other code: its file" in capsys.readouterr().err
    assert [r["seed"] for r in load(out)["runs"]] == [0, 1, 2]   # untouched


def test_the_readmes_method_example_runs(bench_root: Path, tmp_path: Path) -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    if not readme.is_file():
        pytest.skip("needs a source checkout (its README.md)")
    text = readme.read_text(encoding="utf-8").split("`my_method.py` above can be as short as:", 1)[1]
    (tmp_path / "my_method.py").write_text(text.split("```python\n", 1)[1].split("```", 1)[0])
    out = tmp_path / "mine.json"
    # the README's own command (budget 100, 10 seeds): a greedy mutator that stalls once the best
    # architecture's neighbours are all seen failed it in 9 of 10 seeds
    assert main(["search", "run", "--method", f"{tmp_path / 'my_method.py'}:MyMethod", "--task", "cora",
                 "--budget", "100", "--seeds", "10", "--out", str(out), "--root", str(bench_root)]) == 0
    results = load(out)
    assert results["method"]["name"] == "my-method" and all(r["num_queries"] == 100 for r in results["runs"])


def test_the_code_digest_is_of_the_code_that_runs_not_the_file_as_edited_since(tmp_path: Path) -> None:
    from nasbench_meta.plugins import code_digest, load_class
    from nasbench_meta.search import Method

    path = tmp_path / "m.py"
    path.write_text(USER_METHOD)
    cls = load_class(f"{path}:GreedyMutation", Method, "method")
    first = code_digest(cls)
    assert first == hashlib.sha256(USER_METHOD.encode()).hexdigest()[:12]
    path.write_text(USER_METHOD + "\n# edited while this process still runs the old class\n")
    assert code_digest(cls) == first   # this process still runs what it loaded
    assert code_digest(load_class(f"{path}:GreedyMutation", Method, "method")) == first


def test_a_users_file_is_loaded_with_its_own_future_imports_only(tmp_path: Path) -> None:
    from nasbench_meta.plugins import load_class
    from nasbench_meta.search import Method

    path = tmp_path / "typed.py"
    path.write_text(USER_METHOD.replace("def ask(self, n):", "def ask(self, n: int) -> list:"))
    cls = load_class(f"{path}:GreedyMutation", Method, "method")
    assert cls.ask.__annotations__ == {"n": int, "return": list}   # not strings, as in a plain import


def test_a_worker_refuses_a_method_file_changed_since_the_search_started(bench, tmp_path: Path) -> None:
    from nasbench_meta.search.experiment import _run_seed

    path = tmp_path / "w.py"
    path.write_text(USER_METHOD)
    job = {"spec": f"{path}:GreedyMutation", "cls": None, "config": {"explore": 5}, "task": "cora", "budget": 5,
           "batch_size": 1, "cost_budget": None, "code": "000000000000"}   # the digest when the search began
    with pytest.raises(ValueError, match="changed while the search ran"):
        _run_seed(bench, job, 0)


@pytest.mark.parametrize("body, error", [
    ("    def ask(self, n):\n        return None + 1\n", "TypeError"),
    ("    def ask(self, n)\n        return []\n", "SyntaxError"),
    # sys.exit(0) in a method made `search run` exit 0, printing and writing nothing
    ("    def ask(self, n):\n        raise SystemExit(0)\n", "MethodError: oops called sys.exit(0)"),
], ids=["TypeError", "SyntaxError", "SystemExit"])
def test_any_error_in_a_users_method_is_reported_as_theirs(bench_root: Path, tmp_path: Path, capsys, body, error):
    path = tmp_path / "oops.py"
    path.write_text("from nasbench_meta.search import Method\n\n\nclass Oops(Method):\n    name = 'oops'\n\n" + body)
    assert main(["search", "run", "--method", f"{path}:Oops", "--task", "cora", "--budget", "5", "--seeds", "1",
                 "--out", str(tmp_path / "o.json"), "--root", str(bench_root)]) == 2
    err = capsys.readouterr().err
    assert f"error in your code ({path}:" in err and error in err


def test_json_output_is_strict_json(capsys) -> None:
    from nasbench_meta.cli.common import print_json

    print_json({"std": float("nan"), "spearman": np.float64("inf"), "values": np.array([1.0, np.nan])})
    assert json.loads(capsys.readouterr().out, parse_constant=pytest.fail) == {
        "std": None, "spearman": None, "values": [1.0, None]}   # no bare NaN: strict parsers reject it


def test_workers_must_be_positive(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["search", "run", "--method", "rs", "--task", "cora", "--budget", "5", "--seeds", "1", "--out", "x.json",
              "--workers", "0"])
    assert "--workers: must be at least 1" in capsys.readouterr().err


def test_json_output_stays_json_when_meta_fits_its_predictor(bench_root: Path, tmp_path: Path, capsys) -> None:
    # "meta-training weighted-rank on ..." went to stdout ahead of the JSON on a first run
    import shutil

    home = tmp_path / "home"   # the benchmark without a cached predictor: meta fits one
    shutil.copytree(bench_root / "benchmarks", home / "benchmarks")
    assert main(["search", "run", "--method", "meta", "--task", "cora", "--budget", "5", "--seeds", "1", "--json",
                 "--out", str(tmp_path / "m.json"), "--root", str(home)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["method"] == "meta" and "fitting weighted-rank on" in err
