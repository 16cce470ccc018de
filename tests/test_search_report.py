"""Report numbers: standard errors, average ranks and the significance of rank differences."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from nasbench_meta.search import run_seeds, save
from nasbench_meta.search.report import (
    average_ranks, collect, critical_difference, default_budgets, make_report, mean_se, summary,
)
from nasbench_meta.significance import nemenyi_critical_difference, rank_test


def fake(method: str, task: str, curves: list[list[float]]) -> dict:
    return {"method": {"name": method, "config": {}}, "task": task, "seeds": list(range(len(curves))),
            "budget": {"queries": len(curves[0]) if curves else 1},
            "runs": [{"seed": i, "scores": {"regret_test": c, "regret_valid": c}} for i, c in enumerate(curves)]}


def test_mean_and_standard_error() -> None:
    mean, se = mean_se(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert mean.tolist() == [2.0, 2.0] and se[0] == pytest.approx(1.0) and se[1] == 0.0


def test_average_rank_over_tasks() -> None:
    table = {"a": {"x": fake("x", "a", [[3, 1]]), "y": fake("y", "a", [[2, 2]])},
             "b": {"x": fake("x", "b", [[1, 1]]), "y": fake("y", "b", [[2, 1]])}}
    ranks = average_ranks(table)
    assert ranks.loc[1].tolist() == [1.5, 1.5]
    assert ranks.loc[2].tolist() == [1.25, 1.75]  # task b ties at 2 queries
    frame = summary(table, [2])
    assert frame.set_index(["task", "method"]).loc[("a", "x"), "mean"] == 1.0


def test_critical_difference_matches_demsars_table() -> None:
    # Demšar (2006), table 5(a): q_0.05 = 2.343 for 3 methods, 2.728 for 5, 3.164 for 10
    for k, q in [(3, 2.343), (5, 2.728), (10, 3.164)]:
        assert nemenyi_critical_difference(k, 8) == pytest.approx(q * np.sqrt(k * (k + 1) / 48), rel=1e-3)


def test_rank_test_on_a_consistent_order() -> None:
    losses = np.array([[0.1, 0.2, 0.3], [1.0, 2.0, 3.0], [0.0, 0.5, 0.9], [5.0, 6.0, 7.0]])
    test = rank_test(losses, ["a", "b", "c"])
    assert test.average_ranks.tolist() == [1.0, 2.0, 3.0]
    assert test.friedman_statistic == pytest.approx(8.0)        # 12N/(k(k+1)) sum R^2 - 3N(k+1)
    assert test.friedman_p == pytest.approx(np.exp(-4.0))       # chi-square, 2 degrees of freedom
    assert test.differ("a", "c") and not test.differ("a", "b")  # CD = 2.343 sqrt(12/24) = 1.66
    assert test.groups() == [["a", "b"], ["b", "c"]]


def test_rank_test_ties_and_bad_input() -> None:
    tied = rank_test(np.ones((3, 4)), ["w", "x", "y", "z"])
    assert tied.friedman_p == 1.0 and tied.groups() == [["w", "x", "y", "z"]]
    assert rank_test(np.ones((3, 2)), ["x", "y"]).friedman_p is None  # Friedman needs 3 methods
    with pytest.raises(ValueError, match="finite"):
        rank_test(np.array([[1.0, np.nan, 2.0]]), ["x", "y", "z"])
    with pytest.raises(ValueError, match="methods"):
        rank_test(np.ones((2, 3)), ["x", "y"])


def test_report_writes_critical_difference_diagrams(tmp_path) -> None:
    regrets = {"x": [3, 1], "y": [3, 2], "z": [3, 3]}
    table = {task: {m: fake(m, task, [c]) for m, c in regrets.items()} for task in ("a", "b", "c")}
    test = critical_difference(table, 2)
    assert test.average_ranks.tolist() == [1.0, 2.0, 3.0] and test.num_tasks == 3
    with pytest.raises(ValueError, match="outside"):
        critical_difference(table, 3)
    for task in table.values():  # the report reads each document's reference definition
        for res in task.values():
            res["reference"] = {"definition": "best minus chosen"}
    written = make_report([r for task in table.values() for r in task.values()], tmp_path, budgets=[1, 2])
    names = sorted(p.name for p in written["cd_plots"])
    assert "critical-difference-regret_test-2.svg" in names and len(names) == 8  # 2 kinds x 2 budgets x png/svg
    text = (tmp_path / "summary.md").read_text()
    assert "after 2 queries: Friedman p = 0.0498 over 3 tasks" in text
    assert "not shown to differ: x, y; y, z" in text


def test_report_rejects_budgets_beyond_the_runs_and_mixed_benchmarks(tmp_path) -> None:
    results = [fake(m, "a", [[3, 2, 1]]) for m in ("x", "y")]
    with pytest.raises(ValueError, match="--budgets 5 outside what the results reach \\(1 to 3 queries\\)"):
        make_report(results, tmp_path, budgets=[2, 5])
    assert not list(tmp_path.iterdir())                          # nothing written for a bad request
    with pytest.raises(ValueError, match="no runs to report"):
        make_report([fake("x", "a", [])], tmp_path, budgets=[1])
    results[0]["benchmark"], results[1]["benchmark"] = {"name": "nas-bench-graph"}, {"name": "other-bench"}
    with pytest.raises(ValueError, match="several benchmarks \\(nas-bench-graph, other-bench\\)"):
        make_report(results, tmp_path, budgets=[2])


def test_a_regret_of_zero_is_drawn(tmp_path, monkeypatch) -> None:
    # a method that finds the table's best has regret 0 from then on: a log axis drew no line for it
    from nasbench_meta.search import report

    seen = {}
    monkeypatch.setattr(report, "_save", lambda fig, stem: seen.update(ax=fig.axes[0]) or [])
    runs = lambda *curves: {"metric": "accuracy", "runs": [{"scores": {"regret_test": list(c)}} for c in curves]}
    report.plot_task("cora", {"oracle": runs([0.0, 0.0, 0.0]), "rs": runs([0.05, 0.02, 0.01], [0.04, 0.03, 0.02])},
                     "regret_test", tmp_path / "cora")
    ax = seen["ax"]
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "symlog" and low <= 0.0 < 0.05 <= high
    assert any(np.array_equal(line.get_ydata(), [0.0, 0.0, 0.0]) for line in ax.get_lines())


@pytest.fixture(scope="module")
def short(bench) -> dict:
    """Results of budget 10: short of both default report budgets (20, 100)."""
    return run_seeds(bench, "cora", "rs", seeds=2, budget=10, progress=False)


def test_the_same_results_twice_are_a_duplicate_not_a_second_method(short: dict, tmp_path) -> None:
    a, b = save(short, tmp_path / "a.json"), save(short, tmp_path / "b.json")
    with pytest.raises(ValueError, match=re.escape(f"{a} and {a} both hold seed(s) [0, 1] of rs on cora")):
        collect([a, a])
    with pytest.raises(ValueError, match=re.escape(f"{a} and {b} both hold seed(s) [0, 1]")):
        collect([a, b])
    with pytest.raises(ValueError, match=re.escape("results document 1 and results document 2 both hold seed(s)")):
        collect([short, short])


def test_methods_alike_in_name_are_kept_apart_on_every_task(short: dict) -> None:
    # another configuration, version or class under the same name is another method
    # labelled by what differs (they were "rs#4984d3" and "rs#5890e5", which told a reader nothing)
    config = short["method"]["config"]
    for change, labels in (({"config": {**config, "other": 1}}, ["rs (no other)", "rs (other=1)"]),
                           ({"version": "2"}, ["rs (v1)", "rs (v2)"]),
                           ({"spec": "b/m.py:RandomSearch"}, ["rs (m.py:RandomSearch)", "rs (rs)"])):
        other = {**short, "method": {**short["method"], **change}}
        assert sorted(collect([short, other])["cora"]) == labels, change
    elsewhere = {**short, "task": "citeseer", "method": {**short["method"], "config": {"other": 1}}}
    table = collect([short, elsewhere])     # labelled alike on each task, so ranks never pair them
    assert set(table["cora"]).isdisjoint(table["citeseer"])


def test_seeds_split_across_files_are_one_method(bench, short: dict, tmp_path) -> None:
    more = run_seeds(bench, "cora", "rs", seeds=[2, 3], budget=10, progress=False)
    merged = collect([short, more])["cora"]
    assert list(merged) == ["rs"] and merged["rs"]["seeds"] == [0, 1, 2, 3] and len(merged["rs"]["runs"]) == 4
    assert short["seeds"] == [0, 1] and len(short["runs"]) == 2          # the inputs are left alone
    a, b = save(short, tmp_path / "a.json"), save(more, tmp_path / "b.json")
    c = save(run_seeds(bench, "cora", "rs", seeds=[3, 4], budget=10, progress=False), tmp_path / "c.json")
    with pytest.raises(ValueError, match=re.escape(f"{b} and {c} both hold seed(s) [3]")):  # b, not a
        collect([a, b, c])
    longer = run_seeds(bench, "cora", "rs", seeds=[2], budget=12, progress=False)
    with pytest.raises(ValueError, match="report them apart"):
        collect([short, longer])


def test_a_regret_curve_of_another_length_is_refused(short: dict) -> None:
    # score_run writes one value per budgeted query; another length crashed the tables inside numpy
    bad = copy.deepcopy(short)
    bad["runs"][1]["scores"]["regret_test"].pop()
    with pytest.raises(ValueError, match=r"seed 1's scores.regret_test has 9 values for a budget of 10 .*rescore"):
        collect([bad])


def test_default_budgets_adapt_to_the_results(short: dict, tmp_path) -> None:
    assert default_budgets({"a": {"x": fake("x", "a", [[1.0] * 150])}}) == [20, 100, 150]
    assert default_budgets({"a": {"x": fake("x", "a", [[1.0] * 30])}}) == [20, 30]
    # rs and re at budget 10, ls at 25: at 10 all three are compared (they used to be left out)
    mixed = {"a": {m: fake(m, "a", [[1.0] * n]) for m, n in (("rs", 10), ("re", 10), ("ls", 25))}}
    assert default_budgets(mixed) == [10, 20, 25]
    make_report([short], tmp_path)                                   # (20, 100) refused budget-10 results
    assert "### After 10 queries" in (tmp_path / "summary.md").read_text()
    with pytest.raises(ValueError, match="--budgets 20 outside"):   # asked for: still refused
        make_report([short], tmp_path, budgets=[20])


def test_make_report_takes_folders_as_the_cli_does(short: dict, tmp_path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(ValueError, match="results is a folder without .json results files"):
        make_report([folder], tmp_path / "report")
    save(short, folder / "rs-cora.json")
    (folder / "notes.txt").write_text("not results")
    written = make_report([folder], tmp_path / "report")
    assert tmp_path / "report" / "cora-regret_test.png" in written["task_plots"]


def test_one_method_run_with_two_versions_of_its_code_is_refused() -> None:
    def coded(task: str, seeds: list[int], code: "str | None") -> dict:
        res = fake("mine", task, [[1.0, 0.5]] * len(seeds))
        res["seeds"] = seeds
        for run, seed in zip(res["runs"], seeds):
            run["seed"] = seed
        if code:
            res["method"]["code"] = code
        return res

    # written before the code was recorded: matches any version, and is reported with it
    table = collect([coded("cora", [0, 1], None), coded("cora", [2], "aaaaaaaaaaaa"), coded("pubmed", [0], "aaaaaaaaaaaa")])
    assert list(table["cora"]) == ["mine"] and table["cora"]["mine"]["seeds"] == [0, 1, 2]
    with pytest.raises(ValueError, match="hold mine run with different code .digests aaaaaaaaaaaa and bbbbbbbbbbbb"):
        collect([coded("cora", [0], "aaaaaaaaaaaa"), coded("pubmed", [0], "bbbbbbbbbbbb")])


def test_meta_on_several_tasks_is_one_method(bench, short: dict, tmp_path) -> None:
    # prepare() sets meta's source tasks and predictor file per task: the report made one "meta"
    # column per task, each filled on one task, and left meta out of the average ranks
    from nasbench_meta.search.report import average_ranks, collect

    docs = [run_seeds(bench, task, spec, seeds=2, budget=10, cache_dir=tmp_path, progress=False)
            for task in ("cora", "citeseer") for spec in ("meta", "rs")]
    assert docs[0]["method"]["prepared"] == ["predictor_file", "source_tasks"]
    table = collect(docs)
    assert sorted(table["cora"]) == sorted(table["citeseer"]) == ["meta", "rs"]
    assert sorted(average_ranks(table, "regret_test").columns) == ["meta", "rs"]
    for doc in docs:   # results written before `prepared` was recorded: the same for meta
        doc["method"].pop("prepared", None)
    assert sorted(collect(docs)["citeseer"]) == ["meta", "rs"]


def test_a_label_holding_an_architecture_keeps_the_markdown_table_whole(short: dict) -> None:
    from nasbench_meta.search.report import collect, markdown

    other = {**short, "method": {**short["method"], "config": {**short["method"]["config"],
                                                               "start": "0,0,1,2|gat,gcn,sage,gcn"}}}
    text = markdown(collect([short, other]), [10])
    header = next(line for line in text.splitlines() if line.startswith("| task |"))
    assert header.count(" | ") == 2 and "0,0,1,2\\|gat" in header   # two method columns, | escaped


def test_summary_refuses_a_budget_the_results_do_not_reach(short: dict) -> None:
    # it returned an empty DataFrame where critical_difference raised
    with pytest.raises(ValueError, match="outside what the results reach"):
        summary(collect([short]), [11])
