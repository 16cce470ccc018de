"""Benchmark NAS methods against the tables: ask/tell API, runner, baselines, results, reports.

    from nasbench_meta.search import Method, run_seeds
    results = run_seeds(bench, "cora", "re", seeds=20, budget=100, out="results/re-cora.json")

Methods see validation scores only (through the oracle); test scores enter at scoring,
after the search. See ``scoring.py`` for the regret definitions.
"""
from nasbench_meta.search.api import Method, Observation, SearchProblem
from nasbench_meta.search.experiment import run_grid, run_seeds
from nasbench_meta.search.registry import BUILTIN_METHODS, make_method, method_class
from nasbench_meta.search.results import load, rescore, save, verify
from nasbench_meta.search.runner import MethodError, run_search

__all__ = ["BUILTIN_METHODS", "Method", "MethodError", "Observation", "SearchProblem", "load", "make_method",
           "method_class", "rescore", "run_grid", "run_search", "run_seeds", "save", "verify"]
