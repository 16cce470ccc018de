"""The versioned search-results file: build, save, load, verify and re-score.

A results file holds one method on one task: method metadata (name, version, spec,
configuration), benchmark, task, budget, seeds, and per seed the full trajectory (every
queried key in order with the revealed validation score, the repeated flag and the
simulated cost) plus the scores. Scores are derived data: ``rescore`` recomputes them
from the trajectories and the table alone, and ``verify`` lists every way a file
disagrees with the table (for leaderboard submissions).
"""
from __future__ import annotations

import copy
import json
import math
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

import nasbench_meta
from nasbench_meta.atomic import atomic_file
from nasbench_meta.search.scoring import SEEDS, distinct_keys, reference, score_run

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark

FORMAT = "nasbench-meta search results"
SCHEMA_VERSION = 1
TOLERANCE = 1e-9  # revealed values are stored as exact float repr; allow only rounding noise


def new_results(bench: "Benchmark", task: str, method_meta: dict[str, Any], *, budget: int,
                batch_size: int, cost_budget: "float | None") -> dict[str, Any]:
    """An empty results document for ``runs`` to be added to."""
    cost_metric = bench.task_info(task).get("cost_metric") or None
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "method": method_meta,
        "benchmark": {"name": bench.name, "space": bench.space.name, "num_architectures": int(len(bench.keys))},
        "task": task,
        "metric": bench.task_info(task).get("metric"),
        "split": "valid",        # what the search was shown; test is used for scoring only
        "seed_aggregation": SEEDS,
        "budget": {"queries": int(budget), "cost": cost_budget, "cost_metric": cost_metric,
                   "batch_size": int(batch_size)},
        "reference": reference(bench, task),
        "seeds": [],
        "runs": [],
        "created_by": {"nasbench_meta": nasbench_meta.__version__, "python": platform.python_version()},
    }


def add_run(results: dict[str, Any], run: dict[str, Any]) -> None:
    """Insert a seed's run, keeping runs sorted by seed (replaces a run of the same seed)."""
    runs = {r["seed"]: r for r in results["runs"]}
    runs[run["seed"]] = run
    results["runs"] = [runs[s] for s in sorted(runs)]
    results["seeds"] = sorted(runs)


def save(results: dict[str, Any], path: "str | os.PathLike[str]") -> Path:
    """Write atomically: an interrupted write never leaves a half-written file."""
    path = Path(path)
    with atomic_file(path, "w") as f:
        json.dump(results, f, separators=(",", ":"))
    return path


def load(path: "str | os.PathLike[str]") -> dict[str, Any]:
    """Read a results file, with clear errors for anything that is not one (or is malformed)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a results file; give the path of a .json results file")
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file (not UTF-8); is it a search results file?") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); is it a search results file?") from None
    if not isinstance(results, dict) or results.get("format") != FORMAT:
        raise ValueError(f"{path} is not a nasbench-meta search results file")
    problem = schema_problem(results)
    if problem:
        raise ValueError(f"{path}: {problem}")
    problem = structure_problem(results)
    if problem:
        raise ValueError(f"{path}: {problem}; it is not an intact search results file (`nasbench-meta "
                         "search run` writes them)")
    return results


def schema_problem(results: dict[str, Any]) -> "str | None":
    """Why ``results`` is not of the schema version this toolkit reads, or None."""
    version = results.get("schema_version")
    if _is_int(version) and version == SCHEMA_VERSION:
        return None
    # repr: a string "1" must not read as the integer it resembles
    return (f"schema_version is {version!r}; it must be the integer {SCHEMA_VERSION} (the version this "
            "nasbench-meta reads)")


# -- structure: field presence and JSON types, checked before any field is used -----------------
_Check = Callable[[Any, str], "str | None"]  # (value, where) -> the first problem, or None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # Python's json reads NaN and Infinity, which are not JSON numbers
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _value(test: Callable[[Any], bool], what: str) -> _Check:
    return lambda v, where: None if test(v) else f"{where} must be {what}, got {_json_type(v)}"


def _list(item: _Check, what: str) -> _Check:
    def check(value: Any, where: str) -> "str | None":
        if not isinstance(value, list):
            return f"{where} must be a list of {what}, got {_json_type(value)}"
        return next(filter(None, (item(v, f"{where}[{i}]") for i, v in enumerate(value))), None)
    return check


def _values(test: Callable[[Any], bool], each: str, what: str) -> _Check:
    """A list of scalars; fast on long trajectories (positions are only named on failure)."""
    def check(value: Any, where: str) -> "str | None":
        if not isinstance(value, list):
            return f"{where} must be a list of {what}, got {_json_type(value)}"
        if all(map(test, value)):
            return None
        i = next(i for i, v in enumerate(value) if not test(v))
        return f"{where}[{i}] must be {each}, got {_json_type(value[i])}"
    return check


def _object(fields: dict[str, _Check]) -> _Check:
    def check(value: Any, where: str) -> "str | None":
        if not isinstance(value, dict):
            return (f"{where} must be an object with {', '.join(map(repr, fields))}, "
                    f"got {_json_type(value)}")
        for name, sub in fields.items():
            inner = f"{where}.{name}" if where else name
            problem = f"missing field {inner!r}" if name not in value else sub(value[name], inner)
            if problem:
                return problem
        return None
    return check


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    """A finite JSON number: NaN compares false both ways, so it would slip through later checks."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_INT, _NUMBER = _value(_is_int, "an integer"), _value(_is_number, "a number")
_STRING = _value(lambda v: isinstance(v, str), "a string")
_INTS, _NUMBERS = _values(_is_int, "an integer", "integers"), _values(_is_number, "a number", "numbers")
_TRAJECTORY = _object({"keys": _INTS, "valid": _NUMBERS, "cost": _NUMBERS,
                       "repeated": _values(lambda v: isinstance(v, bool), "true or false", "booleans")})
_RUN = _object({"seed": _INT, "trajectory": _TRAJECTORY, "num_queries": _INT,
                "scores": _object({"regret_valid": _NUMBERS, "regret_test": _NUMBERS, "valid": _NUMBER,
                                   "test": _NUMBER})})
_RESULTS = _object({
    "method": _object({"name": _STRING, "config": _value(lambda v: isinstance(v, dict), "an object")}),
    "benchmark": _object({"name": _STRING}),
    "task": _STRING,
    "budget": _object({"queries": _value(lambda v: _is_int(v) and v >= 1, "a positive integer"),
                       "batch_size": _value(lambda v: _is_int(v) and v >= 1, "a positive integer"),
                       "cost": _value(lambda v: v is None or _is_number(v), "a number or null"),
                       "cost_metric": _value(lambda v: v is None or isinstance(v, str), "a string or null")}),
    "reference": _object({"best_valid": _NUMBER, "best_test": _NUMBER}),
    "seeds": _INTS,
    "runs": _list(_RUN, "run objects"),
})


def structure_problem(results: Any) -> "str | None":
    """The first missing or wrongly typed field of a results document (e.g. "runs[2].trajectory
    must be an object with 'keys', ..."), or None when every field the toolkit reads is usable."""
    if not isinstance(results, dict):
        return f"the document must be a JSON object, got {_json_type(results)}"
    problem = _RESULTS(results, "")
    if problem:
        return problem
    for i, run in enumerate(results["runs"]):
        traj = run["trajectory"]
        if not traj["keys"]:
            return f"runs[{i}].trajectory is empty; every run queries at least one architecture"
        if len({len(traj[name]) for name in ("keys", "valid", "repeated", "cost")}) > 1:
            return f"runs[{i}].trajectory keys, valid, repeated and cost differ in length"
    return _seeds_problem(results)


def _seeds_problem(results: dict[str, Any]) -> "str | None":
    """Each run a distinct seed, and ``seeds`` listing exactly the runs' seeds: a run copied under
    its own seed would be counted twice in every mean."""
    first: dict[int, int] = {}
    for i, run in enumerate(results["runs"]):
        if run["seed"] in first:
            return f"runs[{i}] repeats seed {run['seed']} (runs[{first[run['seed']]}] has it too)"
        first[run["seed"]] = i
    if sorted(results["seeds"]) != sorted(first):
        return f"seeds lists {results['seeds']}, but the runs hold seeds {list(first)}"
    return None


def rescore(results: dict[str, Any], bench: "Benchmark") -> dict[str, Any]:
    """A copy of ``results`` with the reference and every run's scores recomputed from the
    trajectories and the table alone (recorded scores are ignored).

    A ValueError for results that do not fit ``bench`` (benchmark, task, cost metric), for
    results without runs, and for trajectories the table contradicts (``verify`` lists them all).
    """
    problems = _table_problems(results, bench)
    if problems:
        raise ValueError(f"cannot rescore these results: {'; '.join(problems)}")
    if not results["runs"]:
        raise ValueError("the results hold no runs: nothing to rescore")
    task, budget = results["task"], int(results["budget"]["queries"])
    valid = np.asarray(bench.scores(task, split="valid", seeds=SEEDS))
    problems = [p for run in results["runs"] for p in _trajectory_problems(run, bench, task, budget, valid)]
    if problems:
        raise ValueError(f"cannot rescore these results: the table contradicts their trajectories, which "
                         f"rescoring cannot fix: "
                         f"{'; '.join(problems[:5])}{' ...' if len(problems) > 5 else ''}")
    out = copy.deepcopy(results)
    out["reference"] = reference(bench, task)
    for run in out["runs"]:
        traj = run["trajectory"]
        run["scores"] = score_run(bench, task, traj["keys"], traj["repeated"], budget, out["reference"])
    return out


def verify(results: dict[str, Any], bench: "Benchmark") -> list[str]:
    """Every problem found in ``results`` against ``bench``; an empty list means it checks out.

    Checks the header, that each trajectory holds only keys of the task, that revealed
    values match the table's validation scores, that repeated flags and costs are
    consistent, that no run exceeds its budget, and that recorded scores equal ``rescore``.
    """
    problems = _check_header(results, bench)
    if problems:
        return problems
    task, budget = results["task"], int(results["budget"]["queries"])
    valid = np.asarray(bench.scores(task, split="valid", seeds=SEEDS))
    ref = reference(bench, task)
    for key in ("best_valid", "best_test"):
        if not _close(results["reference"].get(key), ref[key]):
            problems.append(f"reference {key} is {results['reference'].get(key)}, the table says {ref[key]}")
    cost_metric = results["budget"].get("cost_metric")
    cost = np.asarray(bench.metric(task, cost_metric)) if cost_metric else None
    for run in results["runs"]:
        found = _check_run(run, bench, task, budget, valid, ref)
        problems += found or (_check_cost(run, bench, cost, results["budget"].get("cost"))
                              + _ended_early(run, budget, results["budget"].get("cost")))
    return problems


def _ended_early(run: dict[str, Any], budget: int, cost_budget: "float | None") -> list[str]:
    """A run goes on until ``budget`` distinct queries or a spent cost budget: one cut shorter
    could have been cut where its test regret was lowest, and scoring would pad it as if full."""
    done = len(distinct_keys(run["trajectory"]["keys"], run["trajectory"]["repeated"]))
    spent = cost_budget is not None and (   # the runner adds costs up one by one: allow its rounding
        sum(run["trajectory"].get("cost", [])) >= cost_budget - 1e-9 * max(1.0, abs(cost_budget)))
    if done >= budget or spent:
        return []
    return [f"seed {run.get('seed')}: ended after {done} distinct queries, before its budget of {budget} "
            "(a search runs until its budget is spent)"]


def _check_cost(run: dict[str, Any], bench: "Benchmark", cost: "np.ndarray | None",
                cost_budget: "float | None") -> list[str]:
    """Charged costs match the table (0 for re-queries); the run stopped once the budget was spent."""
    traj = run.get("trajectory") or {}
    charged = traj.get("cost", [])
    if cost is None:
        return [] if all(c == 0 for c in charged) else [f"seed {run.get('seed')}: costs charged on a task "
                                                        "without a cost metric"]
    problems = []
    for i, (key, flag, c) in enumerate(zip(traj["keys"], traj["repeated"], charged)):
        truth = 0.0 if flag else float(cost[bench.row(key)])
        if not _close(c, truth):
            problems.append(f"seed {run.get('seed')}: query {i} (key {key}) charged {c}, the table says {truth}")
    if cost_budget is not None and sum(charged[:-1]) >= cost_budget:
        problems.append(f"seed {run.get('seed')}: kept querying after spending the cost budget {cost_budget}")
    return problems


def _check_header(results: dict[str, Any], bench: "Benchmark") -> list[str]:
    if not isinstance(results, dict) or results.get("format") != FORMAT:
        return ["not a nasbench-meta search results document (format field)"]
    problem = schema_problem(results) or structure_problem(results)
    if problem:
        return [problem]
    split = [] if results.get("split") == "valid" else [
        f"split is {results.get('split')!r}; a search is shown validation scores only ('valid')"]
    return split + _table_problems(results, bench)


def _table_problems(results: dict[str, Any], bench: "Benchmark") -> list[str]:
    """Whether the benchmark, task and cost metric the results name are ``bench``'s."""
    problems = []
    if results["benchmark"].get("name") != bench.name:
        problems.append(f"results are for benchmark {results['benchmark'].get('name')!r}, not {bench.name!r}")
    if results["task"] not in bench.tasks:
        problems.append(f"unknown task {results['task']!r}; {bench.name} has {', '.join(bench.tasks)}")
    elif results["budget"].get("cost_metric"):
        name = results["budget"]["cost_metric"]
        try:  # here, so that verify reports it rather than raise from bench.metric
            bench.metric(results["task"], name)
        except KeyError:
            problems.append(f"budget.cost_metric {name!r} is not a metric of {results['task']} in {bench.name}")
    return problems


def _close(got: Any, truth: float) -> bool:
    """``got`` is a finite number within TOLERANCE of ``truth``."""
    return _is_number(got) and abs(got - truth) <= TOLERANCE


def _check_run(run: dict[str, Any], bench: "Benchmark", task: str, budget: int,
               valid: np.ndarray, ref: dict[str, Any]) -> list[str]:
    problems = _trajectory_problems(run, bench, task, budget, valid)
    if problems:
        return problems
    traj = run["trajectory"]
    expected = score_run(bench, task, traj["keys"], traj["repeated"], budget, ref)
    return _scores_problems(run, expected, f"seed {run.get('seed')}")


def _trajectory_problems(run: dict[str, Any], bench: "Benchmark", task: str, budget: int,
                         valid: np.ndarray) -> list[str]:
    """What the table contradicts in a run's trajectory: keys outside the task, revealed values
    that are not the table's, wrong repeated flags, more distinct queries than the budget."""
    where = f"seed {run.get('seed')}"
    traj = run.get("trajectory") or {}
    keys, values, repeated = traj.get("keys", []), traj.get("valid", []), traj.get("repeated", [])
    if not (len(keys) == len(values) == len(repeated)) or not keys:
        return [f"{where}: trajectory keys/valid/repeated are empty or differ in length"]
    problems, seen, covered = [], set(), set(bench.task_keys(task).tolist())
    for i, (key, value, flag) in enumerate(zip(keys, values, repeated)):
        if not isinstance(key, int) or key not in covered:
            problems.append(f"{where}: query {i} key {key!r} is not an architecture of {task}")
            continue
        truth = float(valid[bench.row(key)])
        if not _close(value, truth):
            problems.append(f"{where}: query {i} (key {key}) reveals {value!r}, the table's validation score is {truth!r}")
        if bool(flag) != (key in seen):
            problems.append(f"{where}: query {i} (key {key}) has repeated={flag}, should be {key in seen}")
        seen.add(key)
    if len(seen) > budget:
        problems.append(f"{where}: {len(seen)} distinct architectures queried, budget is {budget}")
    if run.get("num_queries") != len(seen):
        problems.append(f"{where}: num_queries is {run.get('num_queries')}, the trajectory has {len(seen)}")
    return problems


def _scores_problems(run: dict[str, Any], expected: dict[str, Any], where: str) -> list[str]:
    problems = []
    recorded = run.get("scores") or {}
    for name, value in expected.items():
        got = recorded.get(name)
        if isinstance(value, list):
            ok = isinstance(got, list) and len(got) == len(value) and np.allclose(got, value, atol=TOLERANCE, rtol=0)
        elif isinstance(value, float):
            ok = _close(got, value)
        else:
            ok = got == value
        if not ok:
            problems.append(f"{where}: recorded scores.{name} disagree with the table (rescore gives "
                            f"{value if not isinstance(value, list) else f'{value[-1]} at the end'})")
    return problems
