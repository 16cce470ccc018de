"""Search API and runner: reproducibility, budgets, no test leakage, baselines, meta warm start."""
from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pytest

from nasbench_meta.benchmark import Benchmark
from nasbench_meta.oracle import Observation, SearchOracle
from nasbench_meta.search import Method, MethodError, SearchProblem, make_method, run_search, run_seeds
from nasbench_meta.search.scoring import score_run


class GreedyMutation(Method):
    """The ten-line user method of the docs: mutate the best architecture seen."""

    name = "greedy-mutation"

    def ask(self, n):
        if not self.scores:
            return self.problem.sample(self.rng, n).tolist()
        return [self.problem.mutate(self.best(), self.rng) for _ in range(n)]


def trajectories(results):
    return [run["trajectory"] for run in results["runs"]]


@pytest.mark.parametrize("method", ["rs", "re", "ls", "bananas"])
def test_seeded_runs_are_reproducible_exactly(bench: Benchmark, method: str) -> None:
    budget = 25
    first = run_seeds(bench, "cora", method, seeds=[3, 4], budget=budget, progress=False)
    again = run_seeds(bench, "cora", method, seeds=[3, 4], budget=budget, progress=False)
    assert trajectories(first) == trajectories(again)
    assert [r["scores"] for r in first["runs"]] == [r["scores"] for r in again["runs"]]
    a, b = trajectories(first)
    assert a["keys"] != b["keys"]  # seeds differ
    for run in first["runs"]:
        assert run["num_queries"] == budget
        assert len(set(run["trajectory"]["keys"])) == budget
        assert set(run["trajectory"]["keys"]) <= set(bench.task_keys("cora").tolist())


def test_budget_counts_distinct_architectures_and_requeries_are_free(bench: Benchmark) -> None:
    class Repeater(Method):
        name = "repeater"

        def ask(self, n):
            if self.history and len(self.history) % 2:  # every other proposal re-queries the last one
                return [self.history[-1].key]
            return self.problem.sample(self.rng, 1, exclude=self.scores).tolist()

    run = run_search(Repeater(), bench, "cora", budget=10, seed=0)
    traj = run["trajectory"]
    assert run["num_queries"] == 10 and len(traj["keys"]) == 19
    assert traj["repeated"] == [i % 2 == 1 for i in range(19)]
    assert len(run["scores"]["regret_test"]) == 10


def test_isomorphic_proposals_are_the_same_architecture(bench: Benchmark) -> None:
    class Isomorphs(Method):
        name = "isomorphs"

        def ask(self, n):  # two spellings of one architecture, then anything new
            if not self.history:
                return ["0,0,0,1|gcn,gat,sage,gin"]
            if len(self.history) == 1:
                return ["0,0,0,2|gat,gcn,sage,gin"]
            return self.problem.sample(self.rng, 1, exclude=self.scores).tolist()

    run = run_search(Isomorphs(), bench, "cora", budget=3, seed=0)
    keys, repeated = run["trajectory"]["keys"], run["trajectory"]["repeated"]
    assert keys[0] == keys[1] and repeated[:2] == [False, True]


def test_broken_methods_get_clear_errors(bench: Benchmark) -> None:
    class TooMany(Method):
        def ask(self, n):
            return self.problem.sample(self.rng, n + 1).tolist()

    class Outsider(Method):
        def ask(self, n):
            return [1234567]

    class Stuck(Method):
        def ask(self, n):
            return [int(self.problem.candidates[0])]

    with pytest.raises(MethodError, match="between 1 and"):
        run_search(TooMany(), bench, "cora", budget=5, seed=0, batch_size=2)
    with pytest.raises(MethodError, match="not an architecture of cora"):
        run_search(Outsider(), bench, "cora", budget=5, seed=0)
    with pytest.raises(MethodError, match="stuck"):
        run_search(Stuck(), bench, "cora", budget=5, seed=0, max_stall=50)
    with pytest.raises(ValueError, match="exceeds"):
        run_search(GreedyMutation(), bench, "proteins", budget=5000, seed=0)
    with pytest.raises(ValueError, match="no cost metric"):
        run_search(GreedyMutation(), bench, "cora", budget=5, seed=0, cost_budget=10.0)
    with pytest.raises(TypeError, match="no option"):
        GreedyMutation(population=3)


@pytest.mark.parametrize("batch_size", [0, -2])
def test_a_batch_size_below_one_is_refused_up_front(bench: Benchmark, tmp_path, batch_size: int) -> None:
    with pytest.raises(ValueError, match=f"batch size must be a positive .* got {batch_size}"):
        run_search(GreedyMutation(), bench, "cora", budget=5, seed=0, batch_size=batch_size)
    out = tmp_path / "rs-cora.json"
    with pytest.raises(ValueError, match="batch size"):
        run_seeds(bench, "cora", "rs", seeds=1, budget=5, batch_size=batch_size, out=out, progress=False)
    assert not out.exists()


def test_negative_seeds_are_refused_before_any_run(bench: Benchmark, tmp_path) -> None:
    out = tmp_path / "rs-cora.json"
    with pytest.raises(ValueError, match=r"seed must be from 0 to 2\*\*63 - 1, got -1"):
        run_seeds(bench, "cora", "rs", seeds=[3, -1], budget=5, out=out, progress=False)
    assert not out.exists()


@pytest.mark.parametrize("seeds, error, message", [
    ([0.5, 1.7], TypeError, "integer from 0 to 2"),       # would have run seeds 0 and 1
    ([2, 2], ValueError, "more than once"),
    (0, ValueError, "positive count"),
    (None, TypeError, "list of integer seeds"),
])
def test_seeds_that_are_not_distinct_integers_are_refused(bench: Benchmark, seeds, error, message) -> None:
    with pytest.raises(error, match=message):
        run_seeds(bench, "cora", "rs", seeds=seeds, budget=5, progress=False)


def test_a_numpy_count_of_seeds_works_like_an_int(bench: Benchmark) -> None:
    runs = run_seeds(bench, "cora", "rs", seeds=np.int64(2), budget=5, progress=False)["runs"]
    assert [r["seed"] for r in runs] == [0, 1]


def test_run_search_needs_a_seed_and_takes_a_name_class_or_instance(bench: Benchmark) -> None:
    with pytest.raises(TypeError, match="seed is None"):          # nothing runs unseeded
        run_search(GreedyMutation(), bench, "cora", budget=5, seed=None)
    by_name = run_search("rs", bench, "cora", budget=5, seed=3)
    by_class = run_search(make_method("rs").__class__, bench, "cora", budget=5, seed=3)
    assert by_name["trajectory"] == by_class["trajectory"] == run_search(make_method("rs"), bench, "cora",
                                                                         budget=5, seed=3)["trajectory"]
    with pytest.raises(TypeError, match="not an instance"):
        run_seeds(bench, "cora", GreedyMutation(), seeds=1, budget=5, progress=False)


@pytest.mark.parametrize("returned", [None, 30141, "0,0,1,2|gat,gcn,sage,gcn"])
def test_an_ask_that_returns_no_list_is_the_methods_error(bench: Benchmark, returned) -> None:
    class Single(Method):   # no name: messages use the class name
        def ask(self, n):
            return returned

    with pytest.raises(MethodError, match=r"Single.ask\(1\) must return a list of 1 to 1 proposals"):
        run_search(Single(), bench, "cora", budget=5, seed=0)


def _reachable(root, seen=None):
    """Every object reachable through instance dicts and containers (not through code)."""
    seen = {} if seen is None else seen
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, type(np), type(len), type(_reachable))):
            continue
        seen[id(obj)] = obj
        if isinstance(obj, Mapping):
            stack += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack += list(obj)
        elif hasattr(obj, "__dict__"):
            stack += list(vars(obj).values())
    return seen.values()


def test_the_method_never_sees_test_values(bench: Benchmark) -> None:
    test = np.asarray(bench.scores("cora", split="test", seeds="mean"))
    valid = np.asarray(bench.scores("cora", split="valid", seeds="mean"))

    class Snoop(GreedyMutation):
        """Walks everything it was handed, looking for test scores."""

        def tell(self, observations):
            super().tell(observations)
            self.found = list(_reachable(self))

    method = Snoop()
    run_search(method, bench, "cora", budget=15, seed=0)
    kinds = {type(o).__name__ for o in method.found}
    assert not kinds & {"Benchmark", "SearchOracle", "File", "Dataset"}, kinds
    arrays = [o for o in method.found if isinstance(o, np.ndarray) and o.dtype.kind == "f"]
    assert not any(a.shape == test.shape for a in arrays)
    floats = {o for o in method.found if isinstance(o, float)}
    revealed = {obs.valid_score for obs in method.history}
    assert floats <= revealed | {0.0}  # 0.0: the simulated cost (none on this task)
    assert all(isinstance(o, Observation) for o in method.history)
    rows = bench.rows([o.key for o in method.history])
    assert [o.valid_score for o in method.history] == valid[rows].tolist()

    oracle = bench.oracle("cora")  # the oracle itself holds validation scores only
    held = list(_reachable(oracle))
    arrays = [o for o in held if isinstance(o, np.ndarray) and o.dtype.kind == "f"]
    assert not any(np.array_equal(a, test[~np.isnan(test)]) for a in arrays)
    scores = {o for o in held if isinstance(o, float)} - {0.0}  # 0.0: the cost so far
    assert scores == set(valid[~np.isnan(valid)].tolist()) - {0.0}  # every score, none but validation
    assert not hasattr(SearchOracle, "test") and "test" not in str(vars(oracle).keys())


class _PeeksInPrepare(GreedyMutation):
    """Starts from what prepare learnt of a task (``defaults["peek"]``): the target or a source."""

    defaults = {"peek": "cora", "start_key": None}

    @classmethod
    def prepare(cls, bench, task, config, *, cache_dir):
        return {"start_key": bench.best(config.get("peek", "cora"), split="test", seeds="mean")[0]}

    def ask(self, n):
        return [self.config["start_key"]] if not self.scores else super().ask(n)


def test_a_methods_preparation_cannot_read_the_target_task(bench: Benchmark, tmp_path) -> None:
    # prepare() was handed the whole benchmark: a method could start its search of cora from cora's
    # best test architecture (test regret 0) and still verify and reach a board.
    from nasbench_meta.benchmark import HiddenTaskError

    with pytest.raises(HiddenTaskError, match="cora's results are hidden here"):
        run_seeds(bench, "cora", _PeeksInPrepare, seeds=1, budget=5, cache_dir=tmp_path, progress=False)
    source = run_seeds(bench, "cora", _PeeksInPrepare, config={"peek": "citeseer"}, seeds=1, budget=5,
                       cache_dir=tmp_path, progress=False)   # the other tasks stay readable
    assert source["runs"][0]["trajectory"]["keys"][0] == bench.best("citeseer", split="test", seeds="mean")[0]
    view = bench.hiding("cora")
    assert view.task_info("cora")["num_architectures"] == len(view.task_keys("cora")) == 26206   # not results
    for read in (lambda: view.scores("cora", split="valid", seeds="mean"), lambda: view.metric("cora", "latency_s"),
                 lambda: view.table("cora", seeds="mean"), lambda: view.oracle("cora")):
        with pytest.raises(HiddenTaskError):
            read()
    assert bench.scores("cora", split="test", seeds="mean") is not None   # the benchmark itself is unchanged


def test_problem_neighbours_stay_inside_the_task(bench: Benchmark) -> None:
    covered = set(bench.task_keys("proteins").tolist())
    for method in ("re", "ls"):
        results = run_seeds(bench, "proteins", method, seeds=1, budget=40, progress=False)
        assert set(results["runs"][0]["trajectory"]["keys"]) <= covered
    problem = SearchProblem(bench.space, "proteins", bench.task_keys("proteins"), 10, "roc_auc")
    key = int(problem.candidates[100])
    assert set(problem.neighbours(key).tolist()) <= covered
    assert len(problem.neighbours(key)) < len(bench.space.neighbours(key))


def test_incumbent_is_the_first_best_by_validation(bench: Benchmark) -> None:
    valid = bench.scores("cora", split="valid", seeds="mean")
    test = bench.scores("cora", split="test", seeds="mean")
    tied = [row for row in np.flatnonzero(valid == valid[0]) if test[row] != test[0]]  # same valid, other test
    first, second = int(bench.keys[0]), int(bench.keys[tied[0]])
    worse = int(bench.keys[np.nanargmin(valid)])
    for order in ([first, second], [second, first]):
        scores = score_run(bench, "cora", [worse, *order], [False] * 3, budget=4)
        assert scores["incumbent"] == order[0]  # a tie does not replace the incumbent
        assert scores["test"] == test[bench.row(order[0])]
        assert scores["regret_test"][1:] == [scores["regret_test"][1]] * 3  # padded to the budget


def test_regret_curves_follow_the_definition(bench: Benchmark) -> None:
    run = run_search(GreedyMutation(), bench, "citeseer", budget=30, seed=1)
    keys = run["trajectory"]["keys"]
    valid = bench.scores("citeseer", split="valid", seeds="mean")
    test = bench.scores("citeseer", split="test", seeds="mean")
    best_valid, best_test = np.nanmax(valid), np.nanmax(test)
    distinct = list(dict.fromkeys(keys))
    for t in (1, 10, 30):
        rows = bench.rows(distinct[:t])
        incumbent = rows[int(np.argmax(valid[rows]))]
        assert run["scores"]["regret_valid"][t - 1] == pytest.approx(best_valid - valid[incumbent])
        assert run["scores"]["regret_test"][t - 1] == pytest.approx(best_test - test[incumbent])
    assert np.all(np.diff(run["scores"]["regret_valid"]) <= 0)
    assert run["scores"]["test"] == pytest.approx(best_test - run["scores"]["regret_test"][-1])


def test_results_resume_and_refuse_other_settings(bench: Benchmark, tmp_path) -> None:
    out = tmp_path / "re-cora.json"
    first = run_seeds(bench, "cora", "re", seeds=2, budget=20, out=out, progress=False)
    more = run_seeds(bench, "cora", "re", seeds=4, budget=20, out=out, progress=False)
    assert more["seeds"] == [0, 1, 2, 3]
    assert more["runs"][:2] == first["runs"]  # kept, not rerun (timings identical)
    with pytest.raises(ValueError, match="different"):
        run_seeds(bench, "cora", "re", seeds=2, budget=30, out=out, progress=False)


def test_seeds_run_in_parallel_processes_like_in_process(bench: Benchmark) -> None:
    local = run_seeds(bench, "pubmed", "re", seeds=3, budget=20, progress=False)
    pooled = run_seeds(bench, "pubmed", "re", seeds=3, budget=20, workers=2, progress=False)
    assert trajectories(local) == trajectories(pooled)


def test_meta_warm_start_never_trains_on_the_target_and_caches(bench: Benchmark, tmp_path) -> None:
    config = {"predictor": "mean-rank"}
    results = run_seeds(bench, "cora", "meta", seeds=2, budget=20, config=config, cache_dir=tmp_path,
                        progress=False)
    used = results["method"]["config"]
    assert "cora" not in used["source_tasks"] and len(used["source_tasks"]) == 7
    cached = list(tmp_path.glob("*.npz"))
    assert len(cached) == 1 and "for-cora" in cached[0].name
    stamp = cached[0].stat().st_mtime_ns
    again = run_seeds(bench, "cora", "meta", seeds=2, budget=20, config=config, cache_dir=tmp_path,
                      progress=False)
    assert cached[0].stat().st_mtime_ns == stamp  # not retrained
    assert trajectories(again) == trajectories(results)
    a, b = trajectories(results)
    assert a["keys"] != b["keys"]  # the run's generator picks among the predictor's top architectures
    assert used["predictor_file"] == cached[0].name  # no machine's directories in the results
    with pytest.raises(ValueError, match="target task"):
        run_seeds(bench, "cora", "meta", seeds=1, budget=5, progress=False, cache_dir=tmp_path,
                  config={"predictor": "mean-rank", "source_tasks": ["cora", "citeseer"]})


def test_meta_results_resume_from_another_machines_cache(bench: Benchmark, tmp_path) -> None:
    config, out = {"predictor": "mean-rank"}, tmp_path / "meta-cora.json"
    first = run_seeds(bench, "cora", "meta", seeds=[0], budget=10, config=config, out=out,
                      cache_dir=tmp_path / "home-a", progress=False)
    both = run_seeds(bench, "cora", "meta", seeds=[0, 1], budget=10, config=config, out=out,
                     cache_dir=tmp_path / "home-b", progress=False)
    assert both["seeds"] == [0, 1] and both["runs"][0] == first["runs"][0]
    old = json.loads(out.read_text())  # as written before predictor files were recorded by name
    old["method"]["config"]["predictor_file"] = f"/elsewhere/{old['method']['config']['predictor_file']}"
    out.write_text(json.dumps(old))
    again = run_seeds(bench, "cora", "meta", seeds=[0, 1, 2], budget=10, config=config, out=out,
                      cache_dir=tmp_path / "home-b", progress=False)
    assert again["seeds"] == [0, 1, 2] and again["runs"][:2] == both["runs"]


def test_meta_records_what_a_given_predictor_file_was_fitted_on(bench: Benchmark, tmp_path) -> None:
    from nasbench_meta.predictors import get_predictor

    files = {}
    for name, sources in (("a", ["citeseer", "pubmed"]), ("b", ["cs", "physics"])):
        (tmp_path / name).mkdir()
        files[name] = get_predictor("mean-rank").fit(bench, sources, split="valid", seed=0).save(tmp_path / name / "p.npz")
    out = tmp_path / "given.json"
    first = run_seeds(bench, "cora", "meta", seeds=[0], budget=10, config={"predictor_file": str(files["a"])},
                      out=out, progress=False)
    assert first["method"]["config"]["source_tasks"] == ["citeseer", "pubmed"]
    assert first["method"]["config"]["predictor"] == "mean-rank"
    with pytest.raises(ValueError, match="different method"):  # same file name, another predictor
        run_seeds(bench, "cora", "meta", seeds=[0, 1], budget=10, config={"predictor_file": str(files["b"])},
                  out=out, progress=False)


def test_local_search_moves_to_the_first_better_neighbour(bench: Benchmark) -> None:
    run = run_search(make_method("ls"), bench, "cora", budget=80, seed=3)
    keys = run["trajectory"]["keys"]
    valid = dict(zip(bench.keys.tolist(), bench.scores("cora", split="valid", seeds="mean").tolist()))
    init = keys[:10]
    centre = max(init, key=valid.get)
    moves = 0
    for key in keys[10:]:
        around = set(bench.space.neighbours(centre).tolist())
        if key in around:
            if valid[key] > valid[centre]:
                centre, moves = key, moves + 1
        else:  # a restart happens only at a local optimum: every neighbour known, none better
            known = set(keys[:keys.index(key)])
            assert around <= known and all(valid[k] <= valid[centre] for k in around)
            centre = key
    assert moves > 0
    with pytest.raises(ValueError, match="move must be"):
        run_search(make_method("ls", {"move": "steepest"}), bench, "cora", budget=5, seed=0)


def test_the_documented_method_runs_its_whole_budget(bench: Benchmark) -> None:
    import textwrap

    import nasbench_meta.search.api as api

    doc = api.__doc__
    namespace = {"Method": Method}
    exec(textwrap.dedent(doc[doc.index("class GreedyMutation"):]), namespace)   # the docs' own example
    run = run_search(namespace["GreedyMutation"](), bench, "cora", budget=100, seed=0)
    assert run["num_queries"] == 100 and len(set(run["trajectory"]["keys"])) == 100


def test_a_fractional_budget_is_refused_before_any_preparation(bench: Benchmark) -> None:
    with pytest.raises(ValueError, match="budget must be a positive number of queries"):
        run_seeds(bench, "cora", "rs", seeds=1, budget=5.0, progress=False)


def test_an_unknown_option_is_the_same_error_for_a_name_and_a_class(bench: Benchmark) -> None:
    for method in ("re", make_method("re").__class__):
        with pytest.raises(ValueError, match=r"no option\(s\) \['populaton_size'\]"):
            run_seeds(bench, "cora", method, seeds=1, budget=5, config={"populaton_size": 3}, progress=False)


class _GlobalRandom(Method):
    """Draws from numpy's and Python's global streams instead of its generator (a common slip)."""

    name = "global-random"

    def ask(self, n):
        import random
        pick = np.random.choice(self.problem.candidates, n).tolist()
        return pick if random.random() < 2 else []


def test_a_method_drawing_from_the_global_streams_still_repeats_itself(bench) -> None:
    import random

    np.random.seed(123)
    random.seed(123)
    before = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(123)
    runs = [run_search(_GlobalRandom(), bench, "cora", budget=15, seed=s)["trajectory"]["keys"] for s in (4, 4, 5)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert (np.random.random(), random.random()) == before   # the caller's streams are left as they were


def test_the_oracle_refuses_a_bool_for_a_key(bench) -> None:
    with pytest.raises(ValueError, match="True is not an architecture"):   # True would be key 1
        bench.oracle("cora").query(True)


class _FailsLater(Method):
    name = "fails-later"

    def ask(self, n):
        if len(self.scores) == 3:
            raise KeyError("my bug")
        return self.problem.sample(self.rng, n, exclude=self.scores).tolist()


@pytest.mark.skipif(not hasattr(Exception, "add_note"), reason="exception notes need Python 3.11")
def test_an_error_in_a_method_says_which_seed_it_came_from(bench) -> None:
    with pytest.raises(KeyError, match="my bug") as error:
        run_search(_FailsLater(), bench, "cora", budget=10, seed=7)
    assert error.value.__notes__ == ["(in seed 7 of fails-later on cora, after 3 queries)"]


class _TupleOptions(GreedyMutation):
    defaults = {"ops": ("gat", "gcn"), "rate": np.float64(0.5), "count": np.int64(3)}


def test_options_a_results_file_holds_as_lists_still_resume(bench: Benchmark, tmp_path) -> None:
    # A tuple option was recorded as a list, so every rerun compared [..] with (..) and refused
    # to resume the file ("holds results with a different method").
    out = tmp_path / "t.json"
    run_seeds(bench, "cora", _TupleOptions, seeds=1, budget=5, out=out, progress=False)
    more = run_seeds(bench, "cora", _TupleOptions, seeds=2, budget=5, out=out, progress=False)
    assert more["seeds"] == [0, 1] and more["method"]["config"] == {"ops": ["gat", "gcn"], "rate": 0.5, "count": 3}


def test_an_option_json_cannot_hold_is_refused_before_any_seed_runs(bench: Benchmark, tmp_path) -> None:
    # {"fn": len} ran every seed, then failed to save with a TypeError traceback from json
    class FunctionOption(GreedyMutation):
        defaults = {"fn": len}

        def ask(self, n):
            raise AssertionError("no seed should run")

    with pytest.raises(ValueError, match="options must be JSON data .* option value <built-in function len>"):
        run_seeds(bench, "cora", FunctionOption, seeds=1, budget=5, out=tmp_path / "f.json", progress=False)
    assert not (tmp_path / "f.json").exists()


def test_sys_exit_in_prepare_is_the_methods_error(bench: Benchmark, tmp_path) -> None:
    # sys.exit(0) in prepare ended `search run` with exit 0, writing nothing
    class ExitsInPrepare(GreedyMutation):
        @classmethod
        def prepare(cls, bench, task, config, *, cache_dir):
            raise SystemExit(0)

    with pytest.raises(MethodError, match=r"ExitsInPrepare.prepare called sys.exit\(0\)"):
        run_seeds(bench, "cora", ExitsInPrepare, seeds=1, budget=5, cache_dir=tmp_path, progress=False)


class _NanOption(GreedyMutation):
    defaults = {"rate": float("nan")}


def test_a_nan_option_is_refused_since_it_would_never_resume(bench: Benchmark, tmp_path) -> None:
    # NaN never equals itself: a results file holding it refused every resume as "a different method"
    with pytest.raises(ValueError, match="options must be JSON data .*Out of range float values"):
        run_seeds(bench, "cora", _NanOption, seeds=1, budget=5, out=tmp_path / "n.json", progress=False)


def test_a_view_of_a_view_hides_both_tasks(bench: Benchmark) -> None:
    from nasbench_meta.benchmark import HiddenTaskError

    view = bench.hiding("cora").hiding("citeseer")
    for task in ("cora", "citeseer"):
        with pytest.raises(HiddenTaskError):
            view.scores(task, split="valid", seeds="mean")
    assert len(view.scores("pubmed", split="valid", seeds="mean")) == len(bench.keys)
