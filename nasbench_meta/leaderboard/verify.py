"""Verify a submission against the tables and the board; summarise what the board will show.

Verification wraps the results formats' own checks (``nasbench_meta.search.results.verify`` /
``rescore`` and ``nasbench_meta.predictors.evaluation``'s), gives every problem a stable code,
and adds the board's own requirements (tasks, seeds, budgets, duplicates). The summary it
returns holds per-seed numbers re-computed from the tables, never the submitter's claims.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

import nasbench_meta
from nasbench_meta.leaderboard.boards import NAS_BUDGETS
from nasbench_meta.leaderboard.schema import (
    Problem, collapse, config_problems, content_hash, entry_id, envelope_problems,
)
from nasbench_meta.leaderboard.storage import BoardStore, Entry

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark

MIN_SEARCH_SEEDS = 10
MIN_SEARCH_BUDGET = max(NAS_BUDGETS)

# The results formats report problems as sentences; these patterns give each a stable code.
_CODES: tuple[tuple[str, str], ...] = (
    (r"schema_version", "unknown-schema-version"),
    (r"support keys differ", "support-mismatch"),
    (r"no stored predictions|stored predictions for", "missing-predictions"),
    (r"stored .*re-scored", "claimed-mismatch"),
    (r"is not an architecture of|not (a )?canonical key|outside the space|not in the space|not in .*'s table", "key-outside-space"),
    (r"budget is|exceeds? (the )?budget|over budget", "budget-exceeded"),
    (r"reveals .* validation score|revealed", "revealed-mismatch"),
    (r"disagree|reference \w+ is|differs?|claimed|recorded", "claimed-mismatch"),
    (r"seeds? ", "bad-seeds"),
    (r"benchmark", "wrong-benchmark"),
)


def code_problem(message: str, default: str = "invalid-results") -> Problem:
    """A Problem from a results format's message, classified by what it says."""
    for pattern, code in _CODES:
        if re.search(pattern, message):
            return Problem(code, message)
    return Problem(default, message)


@dataclass
class Verdict:
    """The outcome of verifying one submission: problems (empty = accepted) and the summary."""

    board: str
    benchmark: str
    entry_id: str
    problems: list[Problem] = field(default_factory=list)
    summary: "dict[str, Any] | None" = None
    content_sha256: str = ""

    @property
    def accepted(self) -> bool:
        return not self.problems

    def entry(self, submission: dict[str, Any], bench: "Benchmark") -> Entry:
        if not self.accepted:
            raise ValueError("a rejected submission has no entry")
        return Entry(self.entry_id, submission, {
            "content_sha256": self.content_sha256,
            "verified_by": f"nasbench-meta {nasbench_meta.__version__}",
            "benchmark_source": _source(bench),
            "summary": self.summary,
        })


def _source(bench: "Benchmark") -> dict[str, Any]:
    import json

    source = bench.attrs.get("source")
    source = json.loads(source) if isinstance(source, str) else (source or {})
    return {"package": source.get("package"), "version": source.get("version")}


def required_tasks(bench: "Benchmark") -> tuple[str, ...]:
    """Tasks whose table covers the whole space: the ones every entry must report."""
    n = len(bench.keys)
    return tuple(t for t in bench.tasks if int(bench.task_info(t).get("num_architectures", 0)) == n)


def verify_submission(doc: dict[str, Any], bench: "Benchmark", store: "BoardStore | None" = None) -> Verdict:
    """Every reason to reject ``doc``; when there is none, the summary the board shows."""
    problems = envelope_problems(doc)
    if problems:
        return Verdict(str(doc.get("board")), str(doc.get("benchmark")), "", problems)
    verdict = Verdict(doc["board"], doc["benchmark"], entry_id(doc), content_sha256=content_hash(doc))
    if doc["benchmark"] != bench.name:
        verdict.problems.append(Problem("wrong-benchmark", f"submission is for {doc['benchmark']!r}, "
                                        f"verified against {bench.name!r}; pass --benchmark {doc['benchmark']}"))
        return verdict
    if store is not None:
        # Re-scored all the same: a resubmission under a bumped version needs every other problem now.
        verdict.problems += store.duplicate_problems(doc)
    verdict.problems += config_problems(doc) + _repo_url_problems(doc)
    check: Callable[[list[dict[str, Any]], "Benchmark"], tuple[list[Problem], "dict | None"]]
    check = _verify_nas if doc["board"] == "nas" else _verify_predictors
    try:
        problems, summary = check(doc["results"], bench)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        # A results document of the right format but the wrong shape: reject, do not crash.
        problems, summary = [Problem("invalid-results", f"results could not be read ({type(exc).__name__}: {exc})")], None
    verdict.problems = collapse(verdict.problems + problems)
    verdict.summary = summary if not verdict.problems else None
    return verdict


def _repo_url_problems(doc: dict[str, Any]) -> list[Problem]:
    """``repo:`` links name code inside the toolkit: only its own baselines may give one."""
    if not str(doc["method"].get("url", "")).startswith("repo:"):
        return []
    if doc["board"] == "nas":   # a built-in method's spec is its name; a user's is "file.py:Class"
        own = all(":" not in str((r.get("method") or {}).get("spec", "")) for r in doc["results"] if isinstance(r, dict))
    else:
        from nasbench_meta.predictors.registry import is_built_in

        own = all(is_built_in(str((r.get("predictor") or {}).get("name"))) for r in doc["results"] if isinstance(r, dict))
    return [] if own else [Problem("bad-url", f"method.url {doc['method']['url']!r} is a repo: link, which is for the "
                                              "toolkit's own baselines; give an http(s) URL of your code")]


# -- NAS --------------------------------------------------------------------------------------
def _verify_nas(results: list[dict[str, Any]], bench: "Benchmark") -> tuple[list[Problem], "dict | None"]:
    from nasbench_meta.search import results as search_results

    problems: list[Problem] = []
    by_task: dict[str, dict[str, Any]] = {}
    for i, res in enumerate(results):
        task = res.get("task")
        where = f"results[{i}] ({task})"
        if res.get("format") != search_results.FORMAT:
            problems.append(Problem("wrong-format", f"{where} is not a search results document "
                                    f"(format {res.get('format')!r}); the NAS board takes `nasbench-meta search` output"))
            continue
        schema = search_results.schema_problem(res)
        if schema:
            problems.append(Problem("unknown-schema-version", f"{where}: {schema}"))
            continue
        if task in by_task:
            problems.append(Problem("duplicate-task", f"{where}: two results files for {task}; submit one per task"))
            continue
        problems += [code_problem(f"{where}: {m}") for m in search_results.verify(res, bench)]
        problems += _nas_board_rules(res, where)
        by_task[task] = res
    missing = [t for t in required_tasks(bench) if t not in by_task]
    if missing:
        problems.append(Problem("missing-task", f"no results for {', '.join(missing)}; the NAS board needs all of "
                                f"{', '.join(required_tasks(bench))}"))
    names = sorted({str(r.get("method", {}).get("name")) for r in by_task.values()})
    classes = sorted({_method_class(r) for r in by_task.values()})   # a renamed mix keeps its specs
    # a user's file, per task (results written before it was recorded have none: they match any)
    codes = sorted({r["method"]["code"] for r in by_task.values() if r.get("method", {}).get("code")})
    if len(names) > 1 or len(classes) > 1:
        found = names if len(names) > 1 else classes
        problems.append(Problem("mixed-methods", f"results come from different methods {found}; submit one method"))
    elif len(codes) > 1:
        problems.append(Problem("mixed-methods", f"results come from different versions of the method's code "
                                                 f"(digests {codes}); rerun every task with one version"))
    if problems:
        return problems, None
    return [], _nas_summary(by_task, bench)


def _nas_board_rules(res: dict[str, Any], where: str) -> list[Problem]:
    from nasbench_meta.search.scoring import SEEDS

    problems = []
    # the revealed values are checked against the validation table; the labels must say so too
    for label, expected in (("split", "valid"), ("seed_aggregation", SEEDS)):
        if res.get(label) != expected:
            problems.append(Problem("wrong-protocol", f"{where}: {label} is {res.get(label)!r}; searches are "
                                    f"shown {expected!r} values (what `nasbench-meta search` records)"))
    seeds = set(res.get("seeds", []))
    if len(seeds) < MIN_SEARCH_SEEDS:
        problems.append(Problem("too-few-seeds", f"{where}: {len(seeds)} seed(s); the NAS board needs at least "
                                f"{MIN_SEARCH_SEEDS} (`search run --seeds {MIN_SEARCH_SEEDS}`)"))
    budget = res.get("budget", {}).get("queries")
    if not isinstance(budget, int) or budget < MIN_SEARCH_BUDGET:
        problems.append(Problem("budget-too-small", f"{where}: budget of {budget} queries; the NAS board reports "
                                f"{', '.join(map(str, NAS_BUDGETS))} queries, so it needs at least {MIN_SEARCH_BUDGET}"))
    return problems


def _nas_summary(by_task: dict[str, dict[str, Any]], bench: "Benchmark") -> dict[str, Any]:
    from nasbench_meta.search import results as search_results

    tasks = {}
    for task in [t for t in bench.tasks if t in by_task]:
        rescored = search_results.rescore(by_task[task], bench)
        best = float(rescored["reference"]["best_test"])
        median = float(np.nanmedian(bench.scores(task, split="test", seeds="mean")))
        scale = best - median
        regrets = np.array([run["scores"]["regret_test"] for run in rescored["runs"]], dtype=float)
        at_budget = {}
        for b in NAS_BUDGETS:
            r = regrets[:, b - 1]
            at_budget[str(b)] = {"test": (best - r).tolist(), "regret": r.tolist(),
                                 "normalised_regret": (r / scale).tolist()}
        tasks[task] = {
            "seeds": [int(run["seed"]) for run in rescored["runs"]],
            "budget": int(rescored["budget"]["queries"]),
            "best_test": best, "median_test": median,
            "at_budget": at_budget,
            "final": {"incumbents": [int(run["scores"]["incumbent"]) for run in rescored["runs"]],
                      "test": [float(run["scores"]["test"]) for run in rescored["runs"]]},
            # mean normalised test regret after t = 1..budget distinct queries (anytime plot)
            "curve": np.round(regrets.mean(axis=0) / scale, 6).tolist(),
        }
    return {"required_tasks": list(required_tasks(bench)), "budgets": list(NAS_BUDGETS), "tasks": tasks}


# -- predictors -------------------------------------------------------------------------------
MIN_PREDICTOR_SEEDS = 3
PREDICTOR_SPLIT = "valid"  # predictors are fitted on and given validation scores; the board ranks on them


def _verify_predictors(results: list[dict[str, Any]], bench: "Benchmark") -> tuple[list[Problem], "dict | None"]:
    from nasbench_meta.predictors import evaluation

    if len(results) != 1:
        return [Problem("invalid-results", f"{len(results)} results documents; the predictor board takes one "
                        "leave-one-task-out evaluation file (`nasbench-meta predictors evaluate` output)")], None
    payload = results[0]
    if payload.get("kind") != evaluation.KIND:
        return [Problem("wrong-format", f"results[0] is not a predictor evaluation (kind {payload.get('kind')!r})")], None
    if payload.get("schema_version") != evaluation.SCHEMA_VERSION:
        return [Problem("unknown-schema-version", f"predictor evaluation schema_version {payload.get('schema_version')!r}; "
                        f"this toolkit reads {evaluation.SCHEMA_VERSION}")], None
    if payload.get("benchmark", {}).get("name") != bench.name:
        return [Problem("wrong-benchmark", f"evaluation is on {payload.get('benchmark', {}).get('name')!r}, "
                        f"not {bench.name!r}")], None
    problems = _predictor_board_rules(payload, bench)
    if problems:
        return problems, None
    problems += [code_problem(m) for m in evaluation.rescore(payload, bench)]
    if problems:
        return problems, None
    return [], _predictor_summary(payload, bench)


def _predictor_board_rules(payload: dict[str, Any], bench: "Benchmark") -> list[Problem]:
    from nasbench_meta.leaderboard.boards import PREDICTOR_SHOTS

    problems = []
    required = required_tasks(bench)
    missing = [t for t in required if t not in payload.get("holdouts", [])]
    if missing:
        problems.append(Problem("missing-task", f"no held-out evaluation of {', '.join(missing)}; the predictor board "
                                f"needs every one of {', '.join(required)} held out (--holdout all)"))
    shots = [k for k in PREDICTOR_SHOTS if k not in payload.get("shots", [])]
    if shots:
        problems.append(Problem("missing-shots", f"no runs at K = {', '.join(map(str, shots))}; the board reports K = "
                                f"{', '.join(map(str, PREDICTOR_SHOTS))}"))
    seeds = sorted(set(payload.get("seeds", [])))
    if len(seeds) < MIN_PREDICTOR_SEEDS:
        problems.append(Problem("too-few-seeds", f"{len(seeds)} seed(s); the predictor board needs at least "
                                f"{MIN_PREDICTOR_SEEDS} support draws per K"))
    runs: dict[tuple, dict] = {}
    for run in payload.get("runs", []):
        where = (run["holdout"], int(run["shots"]), int(run["seed"]))
        if where in runs:
            problems.append(Problem("invalid-results", f"two runs for holdout {where[0]} K={where[1]} seed={where[2]}"))
        runs[where] = run
        covered = bench.task_keys(run["holdout"])
        for field_name in ("support_keys", "top_keys"):
            keys = np.asarray(run.get(field_name, []), dtype=np.int64)
            outside = keys[~np.isin(keys, covered)]
            if len(outside):
                problems.append(Problem("key-outside-space", f"holdout {where[0]} K={where[1]} seed={where[2]}: "
                                        f"{field_name} {outside[:5].tolist()} are not architectures of {where[0]}"))
    absent = [w for w in ((t, k, s) for t in required for k in PREDICTOR_SHOTS for s in seeds) if w not in runs]
    if absent and not problems:
        problems.append(Problem("missing-runs", f"{len(absent)} (holdout, K, seed) runs are missing, e.g. {absent[:3]}"))
    return problems + _skipped_problems(payload, runs) + _protocol_problems(payload, bench)


def _skipped_problems(payload: dict[str, Any], runs: dict[tuple, dict]) -> list[Problem]:
    """A run is skipped only for a K below the smallest the predictor adapts from, and then every run
    of that K is: a hand-marked "skipped" hid a run's scores from the board (and its rank tests)."""
    from nasbench_meta.predictors.registry import is_built_in, predictor_class

    skipped = {where[1] for where, run in runs.items() if "metrics" not in run}
    scored = {where[1] for where, run in runs.items() if "metrics" in run}
    if not scored:
        return [Problem("invalid-results", "every run is skipped: the board ranks predictors on scored runs")]
    name, least = payload.get("predictor", {}).get("name"), payload.get("predictor", {}).get("min_support")
    if isinstance(name, str) and is_built_in(name):   # known here: a file cannot claim another value
        if least not in (None, predictor_class(name).min_support):
            return [Problem("invalid-results", f"predictor.min_support is {least!r}; {name} adapts from K = "
                            f"{predictor_class(name).min_support}")]
        least = predictor_class(name).min_support
    elif least is None:   # a user's class, evaluated before it was recorded: what the runs show
        least = min(scored)
    elif isinstance(least, bool) or not isinstance(least, int) or least < 0:
        return [Problem("invalid-results", f"predictor.min_support must be a whole number >= 0, got {least!r}")]
    early = sorted(skipped & ({k for k in skipped if k >= least} | scored))
    late = sorted(k for k in scored if k < least)
    problems = []
    if early:
        problems.append(Problem("invalid-results", f"runs at K = {', '.join(map(str, early))} are skipped although the "
                                f"predictor adapts from K = {least}: runs are skipped only below it"))
    if late:
        problems.append(Problem("invalid-results", f"runs at K = {', '.join(map(str, late))} are scored below the "
                                f"predictor's smallest K ({least})"))
    return problems


def _protocol_problems(payload: dict[str, Any], bench: "Benchmark") -> list[Problem]:
    """The recorded protocol is the board's: fitted and adapted on validation scores, each held-out task's
    predictor fitted on every other complete task (``evaluate`` records these; an edited file is refused)."""
    from nasbench_meta.predictors.api import source_tasks_for

    protocol = payload.get("protocol", {})
    problems = [Problem("wrong-protocol", f"protocol.{field} is {protocol.get(field)!r}; the board takes predictors "
                        "fitted and adapted on validation scores ('valid')")
                for field in ("fit_split", "support_split") if protocol.get(field) != PREDICTOR_SPLIT]
    sources = payload.get("source_tasks", {})
    for task in payload.get("holdouts", []):
        if task in bench.tasks and sources.get(task) != source_tasks_for(bench, task):
            problems.append(Problem("wrong-protocol", f"source_tasks of {task} are {sources.get(task)}; the board "
                                    f"takes every other complete task: {source_tasks_for(bench, task)}"))
    return problems


def _predictor_summary(payload: dict[str, Any], bench: "Benchmark") -> dict[str, Any]:
    from nasbench_meta.leaderboard.boards import PREDICTOR_METRICS, PREDICTOR_SHOTS

    required = required_tasks(bench)
    seeds = sorted(set(int(s) for s in payload["seeds"]))
    runs = {(r["holdout"], int(r["shots"]), int(r["seed"])): r for r in payload["runs"]}
    holdouts: dict[str, Any] = {}
    for task in [t for t in payload["holdouts"] if t in bench.tasks]:
        holdouts[task] = {}
        for k in PREDICTOR_SHOTS:
            cell = {}
            for metric, _ in PREDICTOR_METRICS:
                # Skipped runs (K below what the predictor needs) are null: shown as "-" on the board.
                cell[metric] = [runs[(task, k, s)].get("metrics", {}).get(PREDICTOR_SPLIT, {}).get(metric)
                                if (task, k, s) in runs else None for s in seeds]
            holdouts[task][str(k)] = cell
    return {"required_tasks": list(required), "split": PREDICTOR_SPLIT, "shots": list(PREDICTOR_SHOTS),
            "seeds": seeds, "seeds_per_holdout": {t: len(seeds) for t in holdouts},
            "protocol": payload.get("protocol", {}), "holdouts": holdouts}


def _method_class(results: dict) -> str:
    """Which method ran: a built-in's name or the class of a spec (``file.py:Class``,
    ``pkg.module:Class``), so the same class run from another directory still matches."""
    spec = str(results.get("method", {}).get("spec", ""))
    return spec.rsplit(":", 1)[-1]
