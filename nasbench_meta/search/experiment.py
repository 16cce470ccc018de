"""Run a method over many seeds (in parallel) and write resumable results files.

Seeds run in this process (``workers=1``), in local processes
(``concurrent.futures.ProcessPoolExecutor``), or on Dask (``scheduler="tcp://host:port"``
for a running cluster, ``scheduler="local"`` for a local one). Each finished seed is
written to the results file at once, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import re
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from nasbench_meta.paths import data_root
from nasbench_meta.plugins import class_spec, code_digest
from nasbench_meta.search import results as results_io
from nasbench_meta.search.api import Method, portable_config, portable_spec
from nasbench_meta.search.registry import make_method, method_class
from nasbench_meta.search.runner import check_batch_size, check_budget, exits_as_errors, run_search
from nasbench_meta.seeds import check_seed, check_seed_list
from nasbench_meta.workers import exit_with_parent, ignore_ctrl_c_on

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark


def seed_list(seeds: "int | Sequence[int]", first: int = 0) -> list[int]:
    """``20`` -> seeds first..first+19; a sequence is used as given (distinct integer seeds)."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        first = check_seed(first, "first seed")
        return [check_seed(s) for s in range(first, first + int(seeds))]
    return check_seed_list(seeds)


def method_spec(method: "str | type[Method]") -> str:
    if isinstance(method, str):
        return method
    return class_spec(method)


def run_seeds(bench: "Benchmark", task: str, method: "str | type[Method]", *, seeds: "int | Sequence[int]",
              budget: int, config: "dict[str, Any] | None" = None, batch_size: int = 1,
              cost_budget: "float | None" = None, workers: int = 1, scheduler: "str | None" = None,
              out: "str | os.PathLike[str] | None" = None, cache_dir: "str | os.PathLike[str] | None" = None,
              progress: bool = True, executor: "cf.Executor | None" = None) -> dict[str, Any]:
    """Search ``task`` with ``method`` once per seed; returns the results document.

    ``method`` is a built-in name ("rs", "re", "ls", "bananas", "meta"), a spec
    ("pkg.module:Class", "file.py:Class") or a Method subclass. With ``out``, seeds already
    in that file (same method, configuration, task and budget) are kept, not rerun.
    ``executor`` (an open ``concurrent.futures.Executor``) overrides workers/scheduler.
    """
    if isinstance(method, Method):
        raise TypeError(f"run_seeds makes one {type(method).__name__} per seed: pass its name or class "
                        "and its options as config={...}, not an instance (run_search runs an instance once)")
    bench.task_info(task)
    check_budget(bench, task, budget, cost_budget)
    check_batch_size(batch_size)
    seeds = seed_list(seeds)
    spec = method_spec(method)
    cls = method if isinstance(method, type) else method_class(spec)
    cache_dir = Path(cache_dir) if cache_dir else data_root() / "cache" / "search"
    make_method(cls, config).metadata(spec)  # unknown options and values fail here, before any (slow) preparation
    with exits_as_errors(f"{cls.__name__}.prepare"):
        prepared = cls.prepare(bench.hiding(task), task, dict(config or {}), cache_dir=cache_dir)
    config = {**(config or {}), **prepared}
    metadata = make_method(cls, config).metadata(spec)
    if prepared:   # options prepare set for this task (not the user's): reports keep them out of its identity
        metadata["prepared"] = sorted(prepared)
    results = results_io.new_results(bench, task, metadata, budget=budget,
                                     batch_size=batch_size, cost_budget=cost_budget)
    stored_code = None
    if out is not None and Path(out).exists():
        results, stored_code = _resume(results, Path(out), cls.local_files)
    todo = [s for s in seeds if s not in results["seeds"]]
    fresh_code = metadata.get("code")
    if todo and stored_code and fresh_code and stored_code != fresh_code:
        raise ValueError(f"{out} holds seeds of {results['method']['name']} run with other code: its file "
                         f"({spec.rpartition(':')[0]}) changed since. Write the new seeds elsewhere (another --out "
                         "of `search run`, another --out-dir of `search grid`), or delete this file, so that no "
                         "results mix the two versions")
    job = {"spec": spec, "cls": cls if isinstance(method, type) else None, "config": config, "task": task,
           "budget": budget, "batch_size": batch_size, "cost_budget": cost_budget,
           "code": results["method"].get("code")}
    bar = tqdm(total=len(todo), desc=f"{metadata['name']} on {task}", unit="seed",
               disable=not progress or not todo, leave=False)
    with bar:
        for run in _map(bench, job, todo, workers, scheduler, executor):
            results_io.add_run(results, run)
            if out is not None:
                results_io.save(results, out)  # every finished seed is kept
            bar.update()
    return results


def _resume(fresh: dict[str, Any], path: Path, local_files: Sequence[str] = ()) -> "tuple[dict[str, Any], str | None]":
    """The results stored at ``path`` when they are of the same method, benchmark, task and budget,
    and the code digest they were run with (None before it was recorded): the caller compares it
    only when seeds are left to run."""
    old = results_io.load(path)
    method = old["method"]
    # files written before local files and specs were recorded by name hold their full paths
    method["config"] = portable_config(method.get("config") or {}, local_files)
    method["spec"] = portable_spec(str(method.get("spec", "")))
    stored_code = method.pop("code", None)
    if "prepared" in fresh["method"]:   # files written before it was recorded: their config is what counts
        method.setdefault("prepared", fresh["method"]["prepared"])
    for field in ("method", "benchmark", "task", "budget"):
        ours = {k: v for k, v in fresh["method"].items() if k != "code"} if field == "method" else fresh[field]
        if old[field] != ours:
            raise ValueError(f"{path} holds results with a different {field} ({old[field]} vs {ours}); "
                             "choose another output file or delete it to start over")
    code = stored_code or fresh["method"].get("code")   # an older file records the code from its next seed
    if code:
        method["code"] = code
    return old, stored_code


def _map(bench: "Benchmark", job: dict[str, Any], seeds: list[int], workers: int,
         scheduler: "str | None", executor: "cf.Executor | None") -> Iterator[dict[str, Any]]:
    if not seeds:
        return
    if executor is None and workers <= 1 and scheduler is None:
        for seed in seeds:
            yield _run_seed(bench, job, seed)
        return
    if job["cls"] is not None and job["cls"].__module__ == "__main__":
        raise ValueError("a Method class defined in __main__ cannot run in worker processes; put it in a "
                         "module or file and pass 'module:Class' or 'file.py:Class', or use workers=1")
    with (_borrowed(executor) if executor is not None else open_executor(workers, scheduler)) as pool:
        futures = [pool.submit(_run_seed_in_worker, str(bench.path), bench.name, job, s) for s in seeds]
        yield from _finished_then_first_error(futures)


def _finished_then_first_error(futures: "list[cf.Future]") -> Iterator[dict[str, Any]]:
    """Results as they finish; after a failure, seeds not started are cancelled and those already
    running still finish and are kept, then the first error is raised."""
    error: "BaseException | None" = None
    for future in cf.as_completed(futures):
        if future.cancelled():
            continue
        if future.exception() is None:
            yield future.result()
        elif error is None:
            error = future.exception()
            for other in futures:
                other.cancel()
    if error is not None:
        raise error


@contextmanager
def _borrowed(executor: cf.Executor) -> Iterator[cf.Executor]:
    yield executor  # the caller owns it and shuts it down


@contextmanager
def open_executor(workers: int, scheduler: "str | None" = None) -> Iterator["cf.Executor | None"]:
    """Local processes, a Dask cluster ('tcp://...' or 'local'), or None for in-process runs."""
    if scheduler is None and workers <= 1:
        yield None
        return
    if scheduler is None:
        # spawn, not fork: forking after torch/xgboost started their threads can deadlock.
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context,
                                    initializer=exit_with_parent) as pool:
            yield pool
        return
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                          silence_logs=logging.CRITICAL) as cluster, \
                Client(cluster) as client:
            ignore_ctrl_c_on(client)
            yield client.get_executor()
    else:
        with Client(scheduler) as client:
            yield client.get_executor()


def _run_seed(bench: "Benchmark", job: dict[str, Any], seed: int) -> dict[str, Any]:
    cls = job["cls"]
    method = cls(**job["config"]) if cls is not None else make_method(job["spec"], job["config"])
    code = code_digest(type(method))   # a worker process loads the method's file anew
    if job.get("code") and code and code != job["code"]:
        raise ValueError(f"{job['spec'].rpartition(':')[0]} changed while the search ran (digest {job['code']} when it "
                         f"started, {code} now); the seeds finished before are kept: run the new version into "
                         "another --out")
    return run_search(method, bench, job["task"], budget=job["budget"], seed=seed,
                      batch_size=job["batch_size"], cost_budget=job["cost_budget"])


def _run_seed_in_worker(path: str, name: str, job: dict[str, Any], seed: int) -> dict[str, Any]:
    return _run_seed(_open(path, name), job, seed)


@lru_cache(maxsize=2)
def _open(path: str, name: str) -> "Benchmark":
    from nasbench_meta.benchmark import Benchmark

    return Benchmark(path, name)


def run_grid(bench: "Benchmark", methods: Sequence[str], tasks: Sequence[str], *, seeds: "int | Sequence[int]",
             budget: int, out_dir: "str | os.PathLike[str]", configs: "dict[str, dict] | None" = None,
             batch_size: int = 1, cost_budget: "float | None" = None, workers: int = 1,
             scheduler: "str | None" = None, cache_dir: "str | os.PathLike[str] | None" = None,
             progress: bool = True) -> list[Path]:
    """Every method on every task; one resumable file ``out_dir/<method>-<task>.json`` each.

    Every method, configuration, task and budget is checked before the first run starts."""
    configs = configs or {}
    names, older = _grid_names(bench, methods, tasks, configs, budget=budget, batch_size=batch_size,
                               cost_budget=cost_budget)
    out_dir = Path(out_dir)
    paths = []
    for task in tasks:
        for spec in methods:
            path = _grid_file(out_dir, names[spec], older[spec], task)
            run_seeds(bench, task, spec, seeds=seeds, budget=budget, config=configs.get(spec),
                      batch_size=batch_size, cost_budget=cost_budget, workers=workers, scheduler=scheduler,
                      out=path, cache_dir=cache_dir, progress=progress)
            paths.append(path)
    return paths


def _grid_file(out_dir: Path, stem: str, older: str, task: str) -> Path:
    """``out_dir/<stem>-<task>.json``, or the file an older version named ``<older>-<task>.json``
    (after the raw name) when that one exists inside ``out_dir``, so that its seeds resume."""
    path = out_dir / f"{stem}-{task}.json"
    legacy = out_dir / f"{older}-{task}.json"
    inside = legacy.resolve().is_relative_to(out_dir.resolve())
    return legacy if not path.exists() and legacy != path and inside and legacy.is_file() else path


def file_stem(name: str) -> str:
    """A method's name as the start of a results file name: ``NoName`` stays, while a path
    (``../escape``) or a colon (``my.py:Mine``) cannot lead outside ``out_dir`` or into a subfolder."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "method"


def _grid_names(bench: "Benchmark", methods: Sequence[str], tasks: Sequence[str], configs: dict[str, dict], *,
                budget: int, batch_size: int, cost_budget: "float | None") -> "tuple[dict[str, str], dict[str, str]]":
    """Resolve every method (spec -> file name stem, and the raw name older versions named files
    after) and check every task's budget, before any run."""
    if not methods or not tasks:
        raise ValueError(f"a grid needs at least one method and one task, got methods {list(methods)} and "
                         f"tasks {list(tasks)}")
    stray = sorted(set(configs) - set(methods))
    if stray:
        raise ValueError(f"the grid config (--config) has entries for {stray}, which are not among the methods "
                         f'{list(methods)}; it is keyed by method, e.g. {{"re": {{"population_size": 10}}}}')
    made = {spec: make_method(spec, configs.get(spec)) for spec in methods}
    names = {spec: file_stem(method.metadata(spec)["name"]) for spec, method in made.items()}
    twice = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
    if twice:
        raise ValueError(f"methods {list(methods)} name {twice[0]!r} twice (one results file each); "
                         "list each method once")
    for task in tasks:
        bench.task_info(task)
        check_budget(bench, task, budget, cost_budget)
    check_batch_size(batch_size)
    return names, {spec: method.name or spec for spec, method in made.items()}
