"""Drive a method against a task's oracle under a budget, recording every query."""
from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from nasbench_meta.oracle import check_query_budget
from nasbench_meta.plugins import is_ours
from nasbench_meta.search.api import Method, SearchProblem
from nasbench_meta.search.registry import make_method
from nasbench_meta.search.scoring import score_run
from nasbench_meta.seeds import check_seed, global_random_streams
from nasbench_meta.spaces import UnknownArchitectureError

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark


class MethodError(RuntimeError):
    """A method broke the ask/tell contract (bad proposal, endless re-proposals...)."""


@dataclass
class Trajectory:
    """Every query of one run, in order: what the method was shown."""

    keys: list[int] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    repeated: list[bool] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list]:
        return {"keys": self.keys, "valid": self.valid, "repeated": self.repeated, "cost": self.cost}


def cost_metric(bench: "Benchmark", task: str) -> "str | None":
    """The task's simulated-cost metric, or None (NAS-Bench-Graph's light tables declare none)."""
    return bench.task_info(task).get("cost_metric") or None


def make_problem(bench: "Benchmark", task: str, budget: int, candidates: np.ndarray) -> SearchProblem:
    """What a method is told about the search: the space, the task, the keys it may propose, the budget."""
    return SearchProblem(space=bench.space, task=task, candidates=candidates, budget=budget,
                         metric=str(bench.task_info(task).get("metric", "score")),
                         covers_space=len(candidates) == len(bench.keys))


def check_budget(bench: "Benchmark", task: str, budget: int, cost_budget: "float | None") -> None:
    """Clear errors for budgets a task cannot honour."""
    if budget is None:   # which the oracle takes for "no limit"
        raise ValueError("a search needs a budget: a positive number of queries")
    check_query_budget(budget)   # 5.0 too: the oracle would refuse it only after preparation
    covered = len(bench.task_keys(task))
    if budget > covered:
        raise ValueError(f"budget {budget} exceeds the {covered} architectures {task} covers; lower --budget")
    if cost_budget is not None and cost_metric(bench, task) is None:
        raise ValueError(f"{task} declares no cost metric (NAS-Bench-Graph's light tables hold no training "
                         "times), so a cost budget cannot be simulated: use a query budget only")


def check_batch_size(batch_size: int) -> None:
    """A clear error for a batch size that asks for no proposals."""
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch size must be a positive number of proposals per round, got {batch_size}; "
                         "use --batch-size 1 (the default) or more")


def run_search(method: "Method | type[Method] | str", bench: "Benchmark", task: str, *, budget: int, seed: int,
               batch_size: int = 1, cost_budget: "float | None" = None,
               max_stall: int = 10_000) -> dict[str, Any]:
    """One seeded run of ``method`` on ``task``; returns the run record (trajectory + scores).

    The method sees a :class:`SearchProblem` and Observations only. The run ends when
    ``budget`` distinct architectures were queried, or the simulated cost reached
    ``cost_budget`` (tasks with a cost metric only). Re-queries are free and flagged.
    ``max_stall`` proposals in a row without a new architecture abort the run. ``method`` is an
    instance, or a Method subclass or built-in name / spec run with its default options (a method
    that needs ``prepare``, such as "meta", runs through ``run_seeds``).
    """
    start = time.perf_counter()  # wall time covers everything the runner does, scoring included
    method = _instance(method)
    seed = check_seed(seed)
    check_budget(bench, task, budget, cost_budget)
    check_batch_size(batch_size)
    oracle = bench.oracle(task, budget=budget)
    problem = make_problem(bench, task, budget, oracle.candidates)
    # a user's method drawing from np.random / random still repeats itself for a seed (built-in
    # methods draw from their generator only, and saving numpy's global state costs 40 us a run)
    with global_random_streams(seed) if not is_ours(type(method)) else nullcontext():
        try:
            with exits_as_errors(_label(method)):
                traj, method_s = _drive(method, oracle, problem, seed, budget, batch_size, cost_budget, max_stall)
        except Exception as exc:
            if hasattr(exc, "add_note"):   # Python 3.11+: shown under the traceback
                exc.add_note(f"(in seed {seed} of {_label(method)} on {task}, after {oracle.num_queries} queries)")
            raise
    scores = score_run(bench, task, traj.keys, traj.repeated, budget)
    return {"seed": int(seed), "trajectory": traj.to_dict(), "num_queries": oracle.num_queries,
            "total_cost": oracle.total_cost, "scores": scores,
            "timing": {"wall_s": time.perf_counter() - start, "method_s": method_s}}


@contextmanager
def exits_as_errors(who: str) -> Iterator[None]:
    """``sys.exit()`` in a method's code as a MethodError (with its traceback): otherwise ``exit(0)``
    ends the command "successfully", having printed and written nothing."""
    try:
        yield
    except SystemExit as exc:
        raise MethodError(f"{who} called sys.exit({exc.code!r}); a method reports a problem by raising an "
                          "exception").with_traceback(exc.__traceback__) from None


def _drive(method: Method, oracle: Any, problem: SearchProblem, seed: int, budget: int, batch_size: int,
           cost_budget: "float | None", max_stall: int) -> "tuple[Trajectory, float]":
    """The ask/tell loop: the trajectory, and the seconds spent inside the method."""
    clock, stall = time.perf_counter, 0
    method_s, tick = 0.0, clock()
    method.setup(problem, np.random.default_rng(seed))
    ask, tell = method.ask, method.tell
    while True:
        done = oracle.num_queries
        if done >= budget or (cost_budget is not None and oracle.total_cost >= cost_budget):
            break
        want = min(batch_size, budget - done)
        proposals = ask(want)
        method_s += clock() - tick  # the method's tell and ask since the last tick
        observations = _query(oracle, method, proposals, want)
        stall = 0 if oracle.num_queries > done else stall + len(observations)
        if stall > max_stall:
            raise MethodError(f"{_label(method)} proposed {stall} already-queried architectures in a row "
                              f"after {done} distinct queries; it is stuck")
        tick = clock()
        tell(observations)
    method_s += clock() - tick
    return _trajectory(oracle.history), method_s   # the oracle is fresh: its history is this run


def _instance(method: "Method | type[Method] | str") -> Method:
    if isinstance(method, Method):
        return method
    if isinstance(method, type) and issubclass(method, Method):
        return method()
    if isinstance(method, str):
        return make_method(method)
    raise TypeError(f"method must be a Method instance, a Method subclass or a method name, got {method!r}")


def _label(method: Method) -> str:
    return method.name or type(method).__name__


def _trajectory(revealed: list) -> Trajectory:
    if not revealed:
        return Trajectory()
    keys, valid, cost, repeated = (list(column) for column in zip(*revealed))
    return Trajectory(keys=keys, valid=valid, repeated=repeated, cost=cost)


def _query(oracle: Any, method: Method, proposals: Any, want: int) -> list:
    if type(proposals) is not list:
        proposals = _as_list(method, proposals, want)
    if not 0 < len(proposals) <= want:
        raise MethodError(f"{_label(method)}.ask({want}) returned {len(proposals)} proposals; "
                          f"return between 1 and {want}")
    before = len(oracle.history)
    try:
        return oracle.query_batch(proposals)
    except (UnknownArchitectureError, KeyError, TypeError, ValueError) as exc:
        bad = proposals[len(oracle.history) - before]  # the batch is revealed up to the bad one
        raise MethodError(f"{_label(method)} proposed {bad!r}, which is not an architecture of "
                          f"{oracle.task}: {exc}") from None


def _as_list(method: Method, proposals: Any, want: int) -> list:
    """A method's proposals as a list; a single proposal or None is a broken contract."""
    if proposals is None or isinstance(proposals, (str, bytes, int, np.integer)) or not hasattr(proposals, "__iter__"):
        raise MethodError(f"{_label(method)}.ask({want}) must return a list of 1 to {want} proposals "
                          f"(keys, architecture strings or Architecture objects), got {proposals!r}")
    return list(proposals)
