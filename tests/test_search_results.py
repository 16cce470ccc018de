"""Results files: round trip, re-scoring from trajectories alone, and tamper detection."""
from __future__ import annotations

import copy
import json
import re

import pytest

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.search import load, rescore, run_seeds, save, verify


@pytest.fixture(scope="module")
def clean(bench: Benchmark) -> dict:
    return run_seeds(bench, "cora", "re", seeds=2, budget=30, progress=False)


def test_results_document_records_what_reproduces_it(clean: dict, tmp_path) -> None:
    assert clean["schema_version"] == 1
    assert clean["method"]["name"] == "re" and clean["method"]["config"]["population_size"] == 20
    assert clean["benchmark"]["name"] == "nas-bench-graph" and clean["task"] == "cora"
    assert clean["budget"]["queries"] == 30 and clean["budget"]["cost_metric"] is None
    assert clean["seeds"] == [0, 1] and clean["split"] == "valid"
    assert "regret_test" in clean["reference"]["definition"]
    path = save(clean, tmp_path / "r.json")
    assert load(path) == clean  # JSON round trip is exact (floats included)


def test_rescore_recomputes_scores_from_trajectories(bench: Benchmark, clean: dict) -> None:
    wiped = copy.deepcopy(clean)
    for run in wiped["runs"]:
        run["scores"] = {"regret_test": [0.0] * 30}
    rescored = rescore(wiped, bench)
    assert [r["scores"] for r in rescored["runs"]] == [r["scores"] for r in clean["runs"]]
    assert verify(clean, bench) == []


def _tampered(clean: dict, change) -> dict:
    doc = copy.deepcopy(clean)
    change(doc, doc["runs"][0]["trajectory"])
    return doc


def test_verify_catches_a_revealed_value_that_disagrees_with_the_table(bench: Benchmark, clean: dict) -> None:
    doc = _tampered(clean, lambda d, t: t["valid"].__setitem__(3, t["valid"][3] + 0.01))
    assert any("reveals" in p and "seed 0" in p for p in verify(doc, bench))


def test_verify_catches_keys_outside_the_space_or_task(bench: Benchmark, clean: dict) -> None:
    doc = _tampered(clean, lambda d, t: t["keys"].__setitem__(0, 99999999))
    assert any("not an architecture of cora" in p for p in verify(doc, bench))
    proteins = run_seeds(bench, "proteins", "rs", seeds=1, budget=5, progress=False)
    outside = int(next(k for k in bench.keys if k not in set(bench.task_keys("proteins").tolist())))
    proteins["runs"][0]["trajectory"]["keys"][2] = outside
    assert any("not an architecture of proteins" in p for p in verify(proteins, bench))


def test_verify_catches_an_exceeded_budget(bench: Benchmark, clean: dict) -> None:
    valid = bench.scores("cora", split="valid", seeds="mean")
    extra = [int(k) for k in bench.task_keys("cora")[:40] if int(k) not in clean["runs"][0]["trajectory"]["keys"]][:5]

    def add_queries(doc, traj):
        traj["keys"] += extra
        traj["valid"] += [float(valid[bench.row(k)]) for k in extra]
        traj["repeated"] += [False] * len(extra)
        traj["cost"] += [0.0] * len(extra)

    problems = verify(_tampered(clean, add_queries), bench)
    assert any("35 distinct architectures queried, budget is 30" in p for p in problems)


def test_verify_catches_flags_scores_and_header(bench: Benchmark, clean: dict) -> None:
    doc = _tampered(clean, lambda d, t: t["repeated"].__setitem__(0, True))
    assert any("repeated=True, should be False" in p for p in verify(doc, bench))
    doc = _tampered(clean, lambda d, t: d["runs"][1]["scores"]["regret_test"].__setitem__(-1, 0.0))
    assert any("seed 1" in p and "regret_test" in p for p in verify(doc, bench))
    doc = _tampered(clean, lambda d, t: d["runs"][0]["scores"].__setitem__("test", 0.99))
    assert any("scores.test" in p for p in verify(doc, bench))
    doc = _tampered(clean, lambda d, t: d.__setitem__("task", "mnist"))
    assert any("unknown task" in p for p in verify(doc, bench))
    doc = _tampered(clean, lambda d, t: d["reference"].__setitem__("best_test", 0.5))
    assert any("best_test" in p for p in verify(doc, bench))


def test_load_rejects_other_files(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load(bad)
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a nasbench-meta search results file"):
        load(bad)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.json")
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match=r"bad\.json is not a text file"):
        load(bad)
    with pytest.raises(ValueError, match="is a directory"):
        load(tmp_path)


MALFORMED = {  # change -> the field the error must name
    "runs is an object": (lambda d: d.__setitem__("runs", {"0": d["runs"][0]}), r"runs must be a list"),
    "batch size 0": (lambda d: d["budget"].__setitem__("batch_size", 0),   # was accepted
                     r"budget\.batch_size must be a positive integer"),
    "a run is null": (lambda d: d["runs"].append(None), r"runs\[2\] must be an object"),
    "trajectory is a list": (lambda d: d["runs"][1].__setitem__("trajectory", []),
                             r"runs\[1\]\.trajectory must be an object with 'keys'"),
    "keys is an int": (lambda d: d["runs"][0]["trajectory"].__setitem__("keys", 5),
                       r"runs\[0\]\.trajectory\.keys must be a list"),
    "a key is a string": (lambda d: d["runs"][0]["trajectory"]["keys"].__setitem__(4, "abc"),
                          r"runs\[0\]\.trajectory\.keys\[4\] must be an integer"),
    "budget is null": (lambda d: d.__setitem__("budget", None), r"budget must be an object"),
    "queries is missing": (lambda d: d["budget"].pop("queries"), r"missing field 'budget\.queries'"),
    "scores are a list": (lambda d: d["runs"][1].__setitem__("scores", []), r"runs\[1\]\.scores must be"),
    "lengths differ": (lambda d: d["runs"][0]["trajectory"]["valid"].pop(), r"runs\[0\]\.trajectory .*differ"),
    # Python's json reads NaN, and NaN compares false both ways: "differs by more than..." never fired
    "a revealed value is NaN": (lambda d: d["runs"][0]["trajectory"]["valid"].__setitem__(2, float("nan")),
                                r"runs\[0\]\.trajectory\.valid\[2\] must be a number, got nan"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_load_names_the_file_and_first_malformed_field(bench: Benchmark, clean: dict, tmp_path, case) -> None:
    change, field = MALFORMED[case]
    doc = copy.deepcopy(clean)
    change(doc)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"results\.json: " + field):
        load(path)
    problems = verify(doc, bench)  # documents handed over without load (leaderboards) are checked too
    assert len(problems) == 1 and re.search(field, problems[0])


@pytest.mark.parametrize("where", ["revealed", "reference", "cost budget"])
def test_verify_catches_nan_values(bench: Benchmark, clean: dict, where: str) -> None:
    # NaN compares false with everything, so "differs by more than the tolerance" never fired
    bad = copy.deepcopy(clean)
    if where == "revealed":
        bad["runs"][0]["trajectory"]["valid"][0] = float("nan")
    elif where == "reference":
        bad["reference"]["best_test"] = float("nan")
    else:  # "spent >= budget" is false for NaN: the overspending check was off
        bad["budget"]["cost"] = float("nan")
    assert verify(bad, bench), where


def test_schema_version_must_be_the_integer(bench: Benchmark, clean: dict, tmp_path) -> None:
    doc = copy.deepcopy(clean)
    doc["schema_version"] = "1"  # read as "has schema_version 1; this nasbench-meta reads version 1"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    message = "schema_version is '1'; it must be the integer 1"
    with pytest.raises(ValueError, match=re.escape(message)):
        load(path)
    assert len(verify(doc, bench)) == 1 and message in verify(doc, bench)[0]


def test_an_unknown_cost_metric_is_reported_not_raised(bench: Benchmark, clean: dict) -> None:
    doc = copy.deepcopy(clean)
    doc["budget"]["cost_metric"] = "nope"
    assert verify(doc, bench) == ["budget.cost_metric 'nope' is not a metric of cora in nas-bench-graph"]
    with pytest.raises(ValueError, match="cannot rescore these results: budget.cost_metric 'nope'"):
        rescore(doc, bench)


def test_rescore_says_when_there_is_nothing_to_rescore(bench: Benchmark, clean: dict) -> None:
    empty = {**copy.deepcopy(clean), "runs": [], "seeds": []}
    with pytest.raises(ValueError, match="no runs: nothing to rescore"):
        rescore(empty, bench)
    outside = _tampered(clean, lambda d, t: t["keys"].__setitem__(0, 99999999))
    with pytest.raises(ValueError, match="the table contradicts their trajectories") as error:
        rescore(outside, bench)
    assert "verify()" not in str(error.value)  # fits a CLI user as well as the Python API


def test_a_deterministic_method_verifies(bench: Benchmark, tmp_path) -> None:
    # a method that ignores its generator repeats itself across seeds; that is no fault of the file
    results = run_seeds(bench, "cora", "meta", seeds=3, budget=8, cache_dir=tmp_path, progress=False,
                        config={"predictor": "mean-rank", "initial": 1, "initial_pool": 1})
    assert len({tuple(r["trajectory"]["keys"]) for r in results["runs"]}) == 1
    assert verify(results, bench) == []


@pytest.mark.parametrize("change, message", [
    (lambda d, t: d.__setitem__("task", "citeseer"), "reveals .* the table's validation score"),
    (lambda d, t: t["valid"].__setitem__(2, t["valid"][2] + 0.5), "query 2 .* reveals"),
    (lambda d, t: d["budget"].__setitem__("queries", 10), "distinct architectures queried, budget is 10"),
], ids=["another task's table", "an edited revealed value", "a budget below the trajectory"])
def test_rescore_refuses_trajectories_the_table_contradicts(bench: Benchmark, clean: dict, change, message) -> None:
    # rescoring such files gave them fresh, plausible scores
    with pytest.raises(ValueError, match=f"the table contradicts their trajectories.*{message}"):
        rescore(_tampered(clean, change), bench)


def test_a_seed_repeated_within_one_file_is_refused_on_load(clean: dict, tmp_path) -> None:
    doc = copy.deepcopy(clean)
    doc["runs"].append(copy.deepcopy(doc["runs"][0]))
    doc["seeds"].append(0)
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"runs\[2\] repeats seed 0 \(runs\[0\] has it too\)"):
        load(path)   # a report would have counted that run twice
    doc = copy.deepcopy(clean)
    doc["seeds"] = [0, 1, 2]
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"seeds lists \[0, 1, 2\], but the runs hold seeds \[0, 1\]"):
        load(path)


def test_verify_refuses_results_that_claim_another_split(bench: Benchmark, clean: dict) -> None:
    doc = {**copy.deepcopy(clean), "split": "test"}
    assert verify(doc, bench) == ["split is 'test'; a search is shown validation scores only ('valid')"]


def test_verify_catches_a_run_cut_short_of_its_budget(bench: Benchmark, clean: dict) -> None:
    # A run cut where its test regret was lowest, its num_queries fixed and its scores recomputed
    # (rescore pads a short run's curves), verified as if it had spent its whole budget.
    def cut(doc, traj):
        for name in ("keys", "valid", "repeated", "cost"):
            del traj[name][20:]
        doc["runs"][0]["num_queries"] = len({k for k in traj["keys"]})

    doc = rescore(_tampered(clean, cut), bench)
    assert verify(doc, bench) == ["seed 0: ended after 20 distinct queries, before its budget of 30 "
                                  "(a search runs until its budget is spent)"]
