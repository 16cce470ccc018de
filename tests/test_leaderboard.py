"""NAS leaderboard: submissions of real search runs are verified, stored, rendered; bad ones rejected."""
from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nasbench_meta.cli.main import main
from nasbench_meta.leaderboard import actions, render
from nasbench_meta.leaderboard.schema import (
    Problem, SubmissionRejected, collapse, load_submission, make_submission, recorded_config,
)
from nasbench_meta.leaderboard.storage import BoardStore, checkout_boards_dir, default_boards_dir
from nasbench_meta.leaderboard.verify import required_tasks
from nasbench_meta.search.experiment import run_seeds

URL = "https://example.org/nasbench-meta"


def _results(bench, method: str, seeds: list[int]) -> list[dict]:
    # Real runs: budget 100 and 10 seeds are what the board requires, and cheap on tables.
    return [run_seeds(bench, task, method, seeds=seeds, budget=100, progress=False) for task in required_tasks(bench)]


@pytest.fixture(scope="module")
def rs_results(bench) -> list[dict]:
    return _results(bench, "rs", list(range(10)))


@pytest.fixture(scope="module")
def rs2_results(bench) -> list[dict]:
    return _results(bench, "rs", list(range(10, 20)))


@pytest.fixture(scope="module")
def re_results(bench) -> list[dict]:
    return _results(bench, "re", list(range(10)))


def _submission(results: list[dict], name: str = "Random search", version: str = "1",
                config: "dict | None" = None) -> dict:
    config = recorded_config(results) if config is None else config  # what `leaderboard pack` defaults to
    return make_submission(board="nas", benchmark="nas-bench-graph", name=name, version=version,
                           authors=["nasbench-meta tests"], url=URL, config=config, results=copy.deepcopy(results))


def _snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def board(tmp_path, bench, rs_results) -> Path:
    """A boards directory with one accepted entry."""
    boards = tmp_path / "boards"
    actions.submit(_submission(rs_results), boards_dir=boards, bench=bench)
    return boards


def _chosen_test(bench, task: str, run: dict, budget: int) -> float:
    """Independent re-computation: best validation among the first `budget` distinct queries."""
    traj = run["trajectory"]
    keys = [k for k, rep in zip(traj["keys"], traj["repeated"]) if not rep][:budget]
    rows = bench.rows(keys)
    valid = bench.scores(task, split="valid", seeds="mean")[rows]
    return float(bench.scores(task, split="test", seeds="mean")[rows][int(np.argmax(valid))])


def test_valid_submission_is_accepted_stored_and_rendered(board, bench, rs_results):
    store = BoardStore(board, "nas-bench-graph", "nas")
    [entry] = store.entries()
    assert entry.id == "random-search--1"
    assert (store.dir / "entries" / "random-search--1.json").is_file()
    cora = next(r for r in rs_results if r["task"] == "cora")
    expected = np.mean([_chosen_test(bench, "cora", run, 100) for run in cora["runs"]])
    assert np.mean(entry.summary["tasks"]["cora"]["at_budget"]["100"]["test"]) == pytest.approx(expected, abs=1e-12)
    readme = (store.dir / "README.md").read_text()
    assert "| 1 | Random search | 1 | 10 |" in readme
    cora_se = np.std([_chosen_test(bench, "cora", run, 100) for run in cora["runs"]], ddof=1) / np.sqrt(10)
    assert f"{expected:.4f} ± {cora_se:.4f}" in readme
    html = (store.dir / "index.html").read_text()
    assert "<td>Random search</td>" in html and 'src="plots/anytime_regret.svg"' in html
    assert (store.dir / "plots" / "anytime_regret.svg").read_bytes().startswith(b"<?xml")


def test_second_entry_is_ranked_against_the_first(board, bench, rs2_results):
    actions.submit(_submission(rs2_results, name="Random search B"), boards_dir=board, bench=bench)
    from nasbench_meta.leaderboard.boards import nas_board

    nb = nas_board("nas-bench-graph", BoardStore(board, "nas-bench-graph", "nas").entries())
    assert [r.entry.id for r in nb.rows] != [] and len(nb.rows) == 2
    for b in (20, 50, 100):
        assert sum(r.avg_rank[b] for r in nb.rows) == pytest.approx(3.0)  # ranks 1 and 2 per task
    readme = (board / "nas-bench-graph" / "nas" / "README.md").read_text()
    assert "Random search B" in readme
    assert nb.significance == {} and "Are the rank differences significant?" not in readme  # 2 entries: no test


def test_board_says_which_rank_gaps_are_significant() -> None:
    # The repository's board: five verified baselines on the 8 required tasks.
    from nasbench_meta.leaderboard.boards import nas_board

    store = BoardStore(Path(__file__).resolve().parents[1] / "leaderboards", "nas-bench-graph", "nas")
    nb = nas_board("nas-bench-graph", store.entries())
    assert sorted(nb.significance) == [20, 50, 100]
    for budget, test in nb.significance.items():
        assert test.num_tasks == 8 and test.average_ranks.tolist() == [r.avg_rank[budget] for r in nb.rows]
    meta, rs = nb.rows[0].entry.method["name"], "Random search"
    early, late = nb.significance[20], nb.significance[100]
    assert early.friedman_p < 0.05 and early.differ(f"{meta} 1", f"{rs} 1")   # warm start vs random at 20
    assert late.friedman_p > 0.05 and late.groups() == [late.methods]            # no gap shown at 100
    readme = (store.dir / "README.md").read_text()
    assert "Are the rank differences significant?" in readme and "plots/critical_difference.svg" in readme


def _bad(results: list[dict], task: str = "cora") -> tuple[list[dict], dict]:
    out = copy.deepcopy(results)
    return out, next(r for r in out if r["task"] == task)


def _exceed_budget(bench, results):
    out, cora = _bad(results)
    over = run_seeds(bench, "cora", "rs", seeds=[0], budget=101, progress=False)["runs"][0]
    cora["runs"][0] = {**over, "seed": cora["runs"][0]["seed"]}  # 101 distinct queries in a file declaring 100
    return out


def _mutations(bench):
    def claimed(r):
        out, cora = _bad(r)
        cora["runs"][3]["scores"]["test"] += 0.01
        return out

    def outside(r):
        out, cora = _bad(r)
        cora["runs"][0]["trajectory"]["keys"][5] = 99999999
        return out

    def revealed(r):
        out, cora = _bad(r)
        cora["runs"][0]["trajectory"]["valid"][2] += 0.05
        return out

    def few_seeds(r):
        out, cora = _bad(r)
        cora["runs"], cora["seeds"] = cora["runs"][:9], cora["seeds"][:9]
        return out

    def missing(r):
        return [x for x in copy.deepcopy(r) if x["task"] != "arxiv"]

    def results_version(r):
        out, cora = _bad(r)
        cora["schema_version"] = 99
        return out

    return {
        "claimed-mismatch": claimed,
        "key-outside-space": outside,
        "revealed-mismatch": revealed,
        "budget-exceeded": lambda r: _exceed_budget(bench, r),
        "too-few-seeds": few_seeds,
        "missing-task": missing,
        "unknown-schema-version": results_version,
    }


@pytest.mark.parametrize("code", ["claimed-mismatch", "key-outside-space", "revealed-mismatch", "budget-exceeded",
                                  "too-few-seeds", "missing-task", "unknown-schema-version"])
def test_bad_results_are_rejected_with_reason_and_board_unchanged(code, board, bench, rs2_results):
    before = _snapshot(board)
    doc = _submission(_mutations(bench)[code](rs2_results), name="Bad method")
    verdict = actions.validate(doc, boards_dir=board, bench=bench)
    assert not verdict.accepted
    assert code in {p.code for p in verdict.problems}, verdict.problems
    with pytest.raises(SubmissionRejected) as exc:
        actions.submit(doc, boards_dir=board, bench=bench)
    assert code in {p.code for p in exc.value.problems}
    assert _snapshot(board) == before


def test_duplicates_are_rejected(board, bench, rs_results, rs2_results, tmp_path):
    before = _snapshot(board)
    same = actions.validate(_submission(rs_results), boards_dir=board, bench=bench)
    renamed = actions.validate(_submission(rs_results, name="Another name"), boards_dir=board, bench=bench)
    same_version = actions.validate(_submission(rs2_results), boards_dir=board, bench=bench)
    # the same runs with only metadata changed (timings, a relabelled split) are the same runs
    relabelled = copy.deepcopy(rs_results)
    relabelled[0]["split"] = "test"
    relabelled[1]["runs"][0]["timing"]["wall_s"] += 1.0
    retimed = actions.validate(_submission(relabelled, name="Fresh", version="9"), boards_dir=board, bench=bench)
    # renumbered seed labels (100-109 for 0-9) or seed labels swapped between runs: the same runs too
    renumbered, permuted = copy.deepcopy(rs_results), copy.deepcopy(rs_results)
    for r in renumbered:
        r["seeds"] = [s + 100 for s in r["seeds"]]
        for run in r["runs"]:
            run["seed"] += 100
    for r in permuted:
        for run, seed in zip(r["runs"], r["seeds"][1:] + r["seeds"][:1]):
            run["seed"] = seed
    renumbered = actions.validate(_submission(renumbered, name="Renumbered"), boards_dir=board, bench=bench)
    permuted = actions.validate(_submission(permuted, name="Permuted"), boards_dir=board, bench=bench)
    for verdict, text in ((same, "same results"), (renamed, "same results"), (same_version, "bump method.version"),
                          (retimed, "same runs"), (renumbered, "same runs"), (permuted, "same runs")):
        assert [p.code for p in verdict.problems if p.code == "duplicate-entry"], verdict.problems
        assert any(text in p.message for p in verdict.problems)
    assert actions.validate(_submission(rs2_results, version="2"), boards_dir=board, bench=bench).accepted
    on_empty_board = actions.validate(_submission(relabelled, name="Fresh", version="9"), boards_dir=tmp_path, bench=bench)
    assert "wrong-protocol" in {p.code for p in on_empty_board.problems}
    # being a duplicate hides nothing else: the broken run is reported beside it
    broken = copy.deepcopy(rs2_results)
    broken[0]["runs"][0]["trajectory"] = None
    both = actions.validate(_submission(broken), boards_dir=board, bench=bench)
    assert [p.code for p in both.problems] == ["duplicate-entry", "invalid-results"], both.problems
    assert "runs[0].trajectory must be an object" in both.problems[1].message
    assert _snapshot(board) == before


def test_claimed_config_must_be_the_recorded_one(tmp_path, bench, re_results, capsys):
    # the board shows method.config, so it is checked against what the runs recorded
    recorded = re_results[0]["method"]["config"]
    assert sorted(recorded) == ["max_duplicates", "population_size", "sample_size"]
    doc = _submission(re_results, name="Regularized evolution")
    assert doc["method"]["config"] == recorded and actions.validate(doc, boards_dir=tmp_path, bench=bench).accepted
    claimed = {"population": 50, "population_size": recorded["population_size"], "sample_size": 6}
    verdict = actions.validate({**doc, "method": {**doc["method"], "config": claimed}}, boards_dir=tmp_path, bench=bench)
    [problem] = verdict.problems
    assert problem.code == "config-mismatch" and "population_size" not in problem.message  # only what differs
    for text in ("population: claimed 50, recorded absent", "sample_size: claimed 6, recorded 5",
                 "max_duplicates: claimed absent, recorded 50"):
        assert text in problem.message
    with pytest.raises(SubmissionRejected, match="config-mismatch"):
        _submission(re_results, config=claimed)
    # `pack --config` that disagrees writes nothing; without --config it takes the recorded one
    files = []
    for res in re_results:
        files.append(tmp_path / f"re-{res['task']}.json")
        files[-1].write_text(json.dumps(res))
    sub = tmp_path / "sub.json"
    pack = ["leaderboard", "pack", "--board", "nas", "--name", "My method", "--version", "1", "--author", "Me",
            "--url", "https://github.com/me/my-method", "-o", str(sub), *map(str, files)]
    assert main([*pack, "--config", '{"population": 50}']) == 2 and not sub.exists()
    assert "config-mismatch" in capsys.readouterr().err
    assert main(pack) == 0 and load_submission(sub)["method"]["config"] == recorded


def test_collapse_keeps_distinct_problems_apart():
    same = [Problem("missing-predictions", f"cora K={k} seed=0: no stored predictions") for k in (0, 10, 20, 50)]
    other = [Problem("invalid-results", f"results could not be read (KeyError: '{k}')") for k in "xy"]
    assert collapse(same + other) == [
        Problem("missing-predictions", "no stored predictions (4 times: cora K=0 seed=0; cora K=10 seed=0; "
                "cora K=20 seed=0; ...)", 4), *other]  # a colon inside the message is no location


def test_bad_envelopes_are_rejected(tmp_path, board, bench, rs2_results):
    before = _snapshot(board)
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"format": "nasbench-meta leaderboard submission", ')
    with pytest.raises(SubmissionRejected) as exc:
        load_submission(garbage)
    assert exc.value.problems[0].code == "malformed-json" and "line 1" in exc.value.problems[0].message

    doc = _submission(rs2_results, name="Other")
    future = {**doc, "schema_version": 2}
    no_url = {**doc, "method": {**doc["method"], "url": "not a url"}}
    wrong_bench = {**doc, "benchmark": "nas-bench-201"}
    # repo: links are for the toolkit's own code: the file must exist in the repository
    not_ours = {**doc, "method": {**doc["method"], "url": "repo:does/not/exist.py"}}
    escapes = {**doc, "method": {**doc["method"], "url": "repo:../outside.py"}}
    absolute = {**doc, "method": {**doc["method"], "url": f"repo:{Path(__file__).resolve()}"}}
    for bad, code in ((future, "unknown-schema-version"), (no_url, "invalid-field"), (wrong_bench, "wrong-benchmark"),
                      (not_ours, "bad-url"), (escapes, "bad-url"), (absolute, "bad-url")):
        verdict = actions.validate(bad, boards_dir=board, bench=bench)
        assert code in {p.code for p in verdict.problems}, verdict.problems
    # a field that is absent is missing; one that is there but malformed is invalid, and says why
    method = {k: v for k, v in doc["method"].items() if k != "url"}
    for changes, code, text in (({"url": "https://..."}, "invalid-field", "http(s) URL"),
                                ({"version": 2}, "invalid-field", "must be a string"),
                                ({"config": "population=50"}, "invalid-field", "JSON object"),
                                ({}, "missing-field", "method.url is missing")):
        verdict = actions.validate({**doc, "method": {**method, "url": URL, **changes} if changes else method},
                                   boards_dir=board, bench=bench)
        assert [p.code for p in verdict.problems] == [code] and text in verdict.problems[0].message, verdict.problems
    ours = {**doc, "method": {**doc["method"], "url": "repo:nasbench_meta/demo.py"}}
    assert "bad-url" not in {p.code for p in actions.validate(ours, boards_dir=board, bench=bench).problems}
    assert _snapshot(board) == before


def test_crash_while_rendering_changes_nothing(monkeypatch, board, bench, rs2_results):
    before = _snapshot(board)

    def broken(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(actions, "render_board", broken)
    with pytest.raises(RuntimeError, match="render failed"):
        actions.submit(_submission(rs2_results, name="Other"), boards_dir=board, bench=bench)
    assert _snapshot(board) == before


def test_crash_while_writing_the_pages_changes_nothing(board, bench, rs2_results):
    # The entry and README.md / index.html were written before a page failed to write (here the
    # plots folder is a file), leaving the board changed though submit reported an error.
    plots = board / "nas-bench-graph" / "nas" / "plots"
    shutil.rmtree(plots)
    plots.write_text("in the way")
    before = _snapshot(board)
    with pytest.raises(OSError):
        actions.submit(_submission(rs2_results, name="Other"), boards_dir=board, bench=bench)
    assert _snapshot(board) == before


def test_rendering_is_deterministic(board, tmp_path):
    store = BoardStore(board, "nas-bench-graph", "nas")
    first = _snapshot(store.dir)
    actions.render_all(board)
    assert _snapshot(store.dir) == first
    copy_dir = tmp_path / "copy"
    shutil.copytree(board, copy_dir)
    for p in (copy_dir / "nas-bench-graph" / "nas").rglob("*"):
        if p.is_file() and p.parent.name != "entries":
            p.unlink()
    actions.render_all(copy_dir)
    assert _snapshot(copy_dir / "nas-bench-graph" / "nas") == first


def test_check_detects_an_edited_entry(board, bench):
    assert actions.check_all(board, bench=bench) == {"nas-bench-graph/nas/random-search--1": []}
    path = board / "nas-bench-graph" / "nas" / "entries" / "random-search--1.json"
    doc = json.loads(path.read_text())
    doc["verification"]["summary"]["tasks"]["cora"]["at_budget"]["100"]["test"][0] += 0.05
    path.write_text(json.dumps(doc))
    problems = actions.check_all(board, bench=bench)["nas-bench-graph/nas/random-search--1"]
    assert problems and "differ" in problems[0]


def test_check_detects_pages_an_interrupted_submit_left_behind(board, bench):
    # a kill between writing an entry and rendering leaves the pages showing the old board
    pages = board / "nas-bench-graph" / "nas"
    (pages / "README.md").write_text("# an older board\n")
    (pages / "index.html").unlink()
    report = actions.check_all(board, bench=bench)
    assert report["nas-bench-graph/nas/random-search--1"] == []
    assert [p.split()[0] for p in report["nas-bench-graph/nas/pages"]] == ["README.md", "index.html"]
    assert "leaderboard render" in report["nas-bench-graph/nas/pages"][0]
    actions.render_all(board)
    assert "nas-bench-graph/nas/pages" not in actions.check_all(board, bench=bench)


def test_cli_pack_validate_submit_render(tmp_path, bench_root, rs2_results, capsys):
    files = []
    for res in rs2_results:
        files.append(tmp_path / f"{res['task']}.json")
        files[-1].write_text(json.dumps(res))
    sub, boards = tmp_path / "sub.json", tmp_path / "boards"
    assert main(["leaderboard", "pack", "--board", "nas", "--name", "RS cli", "--version", "0.1", "--author", "me",
                 "--url", URL, "-o", str(sub), *map(str, files)]) == 0
    common = ["--root", str(bench_root), "--boards-dir", str(boards)]
    assert main(["leaderboard", "submit", str(sub), *common]) == 2   # a typo must not start a board of its own
    assert "does not exist" in capsys.readouterr().err and not boards.exists()
    boards.mkdir()   # an empty folder: new boards, on purpose
    assert main(["leaderboard", "validate", str(sub), *common]) == 0
    assert "OK: would be accepted on nas-bench-graph/nas as rs-cli--0-1" in capsys.readouterr().out
    assert main(["leaderboard", "submit", str(sub), *common]) == 0
    assert main(["leaderboard", "submit", str(sub), *common]) == 1
    assert "duplicate-entry" in capsys.readouterr().err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    assert main(["leaderboard", "validate", str(garbage), *common]) == 1
    assert "malformed-json" in capsys.readouterr().err
    assert main(["leaderboard", "render", "--boards-dir", str(boards)]) == 0
    assert main(["leaderboard", "check", *common]) == 0
    # -o replaces an earlier submission, never a results file
    pack = ["leaderboard", "pack", "--board", "nas", "--name", "RS cli", "--version", "0.2", "--author", "me", "--url", URL]
    assert main([*pack, "-o", str(sub), *map(str, files)]) == 0
    kept = files[0].read_bytes()
    assert main([*pack, "-o", str(files[0]), *map(str, files[1:])]) == 2
    assert main([*pack, "-o", str(files[0]), *map(str, files)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err and files[0].read_bytes() == kept
    # what a board does not take is refused by pack, not packed for validate to refuse
    assert main([*pack, "-o", str(tmp_path / "again.json"), str(sub)]) == 2
    assert "sub.json is not a search results file" in capsys.readouterr().err
    assert main(["leaderboard", "pack", "--board", "predictors", "--name", "P", "--version", "1", "--author", "me",
                 "--url", URL, "-o", str(tmp_path / "p.json"), str(files[0])]) == 2
    assert "is not a predictor evaluation" in capsys.readouterr().err


def test_default_boards_dir_is_the_checkout_folder(monkeypatch, tmp_path):
    repo_boards = Path(__file__).resolve().parents[1] / "leaderboards"
    assert checkout_boards_dir() == repo_boards
    assert default_boards_dir(tmp_path) == tmp_path
    monkeypatch.setattr("nasbench_meta.leaderboard.storage.checkout_boards_dir", lambda: None)
    monkeypatch.setenv("NASBENCH_META_HOME", str(tmp_path / "home"))
    assert default_boards_dir() == tmp_path / "home" / "leaderboards"


def test_demo_stage_renders_touched_boards_without_writing_them(tmp_path, board, bench, rs2_results, capsys):
    before = _snapshot(board)
    paths = actions.demo_stage([_submission(rs2_results, name="Demo run")], out_dir=tmp_path / "demo",
                               boards_dir=board, bench=bench)
    assert tmp_path / "demo" / "leaderboards" / "nas-bench-graph" / "nas" / "index.html" in paths
    assert "Demo run" in (tmp_path / "demo" / "leaderboards" / "nas-bench-graph" / "nas" / "README.md").read_text()
    assert "nas-bench-graph/nas: 2 entries" in capsys.readouterr().out
    assert _snapshot(board) == before
    short = copy.deepcopy(rs2_results)[:2]   # two tasks of eight: rejected, said in one line with its codes
    actions.demo_stage([_submission(short, name="Short")], out_dir=tmp_path / "demo2", boards_dir=board, bench=bench)
    line = next(x for x in capsys.readouterr().out.splitlines() if "not shown on" in x)
    assert "Short: not shown on nas-bench-graph/nas (missing-task)" in line


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install -y chromium)")
def test_html_page_loads_in_headless_chromium(board, tmp_path):
    page = board / "nas-bench-graph" / "nas" / "index.html"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<table" in dom and "Random search" in dom and "Avg rank @100" in dom
    assert "Aggregate over the 8 required tasks" in dom
    shot = tmp_path / "board.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_every_entry_checked_in_still_verifies(bench):
    # what the leaderboards README promises a pull request: CI re-scores every stored entry
    boards = checkout_boards_dir()
    if boards is None:
        pytest.skip("needs a source checkout (its leaderboards/ folder)")
    report = actions.check_all(boards, bench=bench)
    assert len(report) >= 11 and not {entry: problems for entry, problems in report.items() if problems}


def test_a_renamed_mix_of_methods_is_rejected(board, bench, rs2_results, re_results):
    # each task's results from another method, all renamed alike: the specs still tell them apart
    mixed = copy.deepcopy([r if i % 2 else e for i, (r, e) in enumerate(zip(rs2_results, re_results))])
    for res in mixed:
        res["method"]["name"] = "mine"
    verdict = actions.validate(_submission(mixed, name="Mine"), boards_dir=board, bench=bench)
    assert not verdict.accepted and "mixed-methods" in {p.code for p in verdict.problems}, verdict.problems


def test_a_board_shows_per_task_configurations_compactly():
    # meta's configuration differs per target (its source tasks): the cell names what varies
    per_task = [{"predictor": "weighted-rank", "source_tasks": sources, "predictor_file": f"{t}.npz"}
                for t, sources in (("cora", ["citeseer"]), ("citeseer", ["cora"]))]
    shown = render.shown_config({"per_results_file": per_task})
    assert shown == {"predictor": "weighted-rank", "varies per results file": ["predictor_file", "source_tasks"]}
    assert render.shown_config({"predictor": "x"}) == {"predictor": "x"}


def test_checked_in_boards_name_no_machines_directories():
    boards = checkout_boards_dir()
    if boards is None:
        pytest.skip("needs a source checkout (its leaderboards/ folder)")
    for page in [*boards.glob("*/*/README.md"), *boards.glob("*/*/index.html")]:
        text = page.read_text(encoding="utf-8")
        assert "/tmp/" not in text and "/home/" not in text, page


def test_results_from_two_versions_of_a_users_code_are_rejected(board, bench, rs2_results):
    # one task rerun after the method's file changed: the same name and spec, another method
    results = copy.deepcopy(rs2_results)
    for i, res in enumerate(results):
        res["method"]["code"] = "aaaaaaaaaaaa" if i else "bbbbbbbbbbbb"
    verdict = actions.validate(_submission(results, name="Mine"), boards_dir=board, bench=bench)
    assert not verdict.accepted
    assert any(p.code == "mixed-methods" and "versions of the method's code" in p.message for p in verdict.problems)
    for i, res in enumerate(results):   # a file written before the code was recorded matches any version
        res["method"].pop("code") if i == 0 else res["method"].update(code="aaaaaaaaaaaa")
    verdict = actions.validate(_submission(results, name="Mine"), boards_dir=board, bench=bench)
    assert "mixed-methods" not in {p.code for p in verdict.problems}, verdict.problems


def test_a_boards_dir_at_the_wrong_level_is_refused(tmp_path, bench_root, capsys):
    board = tmp_path / "boards" / "nas-bench-graph" / "nas"
    (board / "entries").mkdir(parents=True)
    (board / "README.md").write_text("a board")
    assert main(["leaderboard", "validate", str(tmp_path / "any.json"), "--boards-dir", str(board),
                 "--root", str(bench_root)]) == 2
    assert "holds no boards" in capsys.readouterr().err


def test_a_repo_link_is_for_the_toolkits_own_baselines(board, bench, rs2_results):
    repo_url = "repo:leaderboards/baselines.sh"
    builtin = {**_submission(rs2_results, name="RS again"), }
    builtin["method"]["url"] = repo_url
    verdict = actions.validate(builtin, boards_dir=board, bench=bench)
    assert "bad-url" not in {p.code for p in verdict.problems}, verdict.problems   # rs is built in
    mine = copy.deepcopy(builtin)
    for res in mine["results"]:
        res["method"]["spec"] = "my_method.py:MyMethod"
    verdict = actions.validate(mine, boards_dir=board, bench=bench)
    assert any(p.code == "bad-url" and "toolkit's own baselines" in p.message for p in verdict.problems)


def test_text_from_a_submission_is_escaped_in_the_markdown_page():
    from nasbench_meta.leaderboard.render import _md_cell

    assert _md_cell("O'Brien & <Co> | x") == "O'Brien &amp; &lt;Co&gt; \\| x"


def test_check_of_a_folder_without_boards_fails(tmp_path, capsys):
    assert main(["leaderboard", "check", "--boards-dir", str(tmp_path / "typo")]) == 2   # a CI typo must not pass
    assert "holds no boards to check" in capsys.readouterr().err


def test_render_of_an_unknown_benchmark_is_refused(tmp_path, capsys):
    assert main(["leaderboard", "render", "--boards-dir", str(tmp_path), "--benchmark", "nope", "--board", "nas"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err and not (tmp_path / "nope").exists()


def test_the_seeds_column_shows_every_count_when_tasks_differ(tmp_path, bench, rs_results):
    # The NAS board's "Seeds" column showed the smallest count only: 10 for an entry run with 11
    # seeds on every task but one.
    results = copy.deepcopy(rs_results)
    for r in results:
        if r["task"] != "cora":
            more = run_seeds(bench, r["task"], "rs", seeds=[10], budget=100, progress=False)
            r["runs"] += more["runs"]
            r["seeds"] += more["seeds"]
    boards = tmp_path / "boards"
    actions.submit(_submission(results), boards_dir=boards, bench=bench)
    assert "| 1 | Random search | 1 | 10/11 |" in (boards / "nas-bench-graph" / "nas" / "README.md").read_text()


@pytest.mark.parametrize("action", ["validate", "submit"])
def test_a_missing_submission_file_is_bad_input(tmp_path, capsys, action):
    # It was exit 1, a rejected submission, where the README says bad input is exit 2.
    from nasbench_meta.cli.main import main

    assert main(["leaderboard", action, str(tmp_path / "nope.json"), "--boards-dir", str(tmp_path)]) == 2
    assert "no submission file" in capsys.readouterr().err
