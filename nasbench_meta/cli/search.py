"""``nasbench-meta search``: run NAS methods against the tables, verify and report results."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nasbench_meta.benchmark import open_benchmark
from nasbench_meta.cli.common import add_benchmark, add_json, add_root, json_object, positive_int, print_json, writable_output
from nasbench_meta.paths import data_root
from nasbench_meta.plugins import SPEC_HELP

METHOD_HELP = f"a built-in method (rs, re, ls, bananas, meta) or your own Method subclass as {SPEC_HELP}"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search", help="benchmark NAS methods: run, grid, verify, rescore, report",
                                   description="Methods see validation scores only; results are scored on "
                                               "test afterwards (regret against the table's best).")
    sub = parser.add_subparsers(dest="search_command", required=True, metavar="ACTION")

    run = sub.add_parser("run", help="one method on one task over many seeds")
    run.add_argument("--method", required=True, help=METHOD_HELP)
    run.add_argument("--task", required=True, help="task to search, e.g. cora")
    run.add_argument("--out", required=True, help="results JSON (resumed if it exists with the same settings and, for a method of "
                          "your own, an unchanged source file)")
    _add_run_options(run)
    run.set_defaults(func=_run, resumes=True)

    grid = sub.add_parser("grid", help="several methods x several tasks, one results file each")
    grid.add_argument("--methods", required=True, help="comma-separated; " + METHOD_HELP)
    grid.add_argument("--tasks", required=True, help="comma-separated, 'all', or 'complete' (tasks covering "
                                                     "the whole space)")
    grid.add_argument("--out-dir", required=True, help="writes <method>-<task>.json there (resumable, as --out of `search run`)")
    _add_run_options(grid)
    grid.set_defaults(func=_grid, resumes=True)

    verify = sub.add_parser("verify", help="check results files against the table (exit 1 on problems)")
    verify.add_argument("files", nargs="+", help="results files to check against the table")
    add_root(verify)
    add_json(verify)
    verify.set_defaults(func=_verify)

    rescore = sub.add_parser("rescore", help="recompute every score of a results file from its trajectories",
                             description="Recomputes the reference and every run's scores from the trajectories "
                                         "and the table. Results the table contradicts (another task's table, "
                                         "edited revealed values, more queries than the budget) are refused "
                                         "and nothing is written.")
    rescore.add_argument("file", help="the results file to re-score")
    rescore.add_argument("--out", required=True, help="where to write the re-scored results")
    rescore.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_root(rescore)
    rescore.set_defaults(func=_rescore)

    report = sub.add_parser("report", help="regret plots (PNG, SVG), average ranks, critical-difference "
                                           "diagrams and a markdown table")
    report.add_argument("files", nargs="+", help="results files (or folders holding them)")
    report.add_argument("--out-dir", required=True, help="folder for the plots, summary.md and tables")
    report.add_argument("--budgets", default=None,
                        help="comma-separated budgets shown in the tables (default: 20 and 100 where the "
                             "results reach them, and every budget a results file ends at)")
    report.set_defaults(func=_report)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser)
    parser.add_argument("--budget", type=int, required=True, help="distinct architectures each run may query")
    parser.add_argument("--seeds", type=int, required=True, help="number of seeds (first-seed .. first-seed+N-1)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run are --first-seed .. --first-seed + --seeds - 1 (default: %(default)s)")
    parser.add_argument("--config", default=None,
                        help="method options as JSON, e.g. '{\"population_size\": 10}' (grid: keyed by method)")
    parser.add_argument("--batch-size", type=int, default=1, help="proposals asked per round (default: 1)")
    parser.add_argument("--cost-budget", type=float, default=None,
                        help="simulated cost budget (only tasks that declare a cost metric; "
                             "NAS-Bench-Graph's light tables have none)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="seeds in parallel in local processes (default: %(default)s)")
    parser.add_argument("--scheduler", default=None,
                        help="run seeds on Dask: 'tcp://host:port' of a running scheduler, or 'local'")
    add_root(parser)
    add_json(parser)


def _config(text: "str | None") -> dict:
    return json_object(text) if text else {}


def _run_kwargs(args: argparse.Namespace) -> dict:
    if args.seeds < 1:
        raise ValueError(f"--seeds must be a positive number of seeds, got {args.seeds}")
    return {"seeds": list(range(args.first_seed, args.first_seed + args.seeds)), "budget": args.budget,
            "batch_size": args.batch_size, "cost_budget": args.cost_budget, "workers": args.workers,
            "scheduler": args.scheduler, "cache_dir": data_root(args.root) / "cache" / "search"}


def _out_file(out: str) -> None:
    writable_output(out, "--out")


def _names(text: str, option: str, example: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"{option} is empty; give a comma-separated list, e.g. {option} {example}")
    return names


def _run(args: argparse.Namespace) -> int:
    from nasbench_meta.search import run_seeds

    _out_file(args.out)
    with open_benchmark(args.benchmark, args.root) as bench:
        results = run_seeds(bench, args.task, args.method, config=_config(args.config), out=args.out,
                            **_run_kwargs(args))
    _print_summary([results], args.json)
    if not args.json:
        print(f"wrote {args.out}")
    return 0


def _grid(args: argparse.Namespace) -> int:
    from nasbench_meta.predictors.base import complete_tasks
    from nasbench_meta.search import load, run_grid

    methods = _names(args.methods, "--methods", "rs,re")
    configs = _config(args.config)
    writable_output(args.out_dir, "--out-dir", folder=True)
    with open_benchmark(args.benchmark, args.root) as bench:
        if args.tasks == "all":
            tasks = list(bench.tasks)
        elif args.tasks == "complete":
            tasks = complete_tasks(bench)
        else:
            tasks = _names(args.tasks, "--tasks", "cora,photo (or 'all', 'complete')")
        paths = run_grid(bench, methods, tasks, out_dir=args.out_dir, configs=configs, **_run_kwargs(args))
    _print_summary([load(p) for p in paths], args.json)
    if not args.json:
        print(f"wrote {len(paths)} results file(s) in {args.out_dir}")
    return 0


def _print_summary(documents: list, as_json: bool) -> None:
    rows = []
    for res in documents:
        test = np.array([r["scores"]["regret_test"][-1] for r in res["runs"]])
        valid = np.array([r["scores"]["regret_valid"][-1] for r in res["runs"]])
        se = test.std(ddof=1) / np.sqrt(len(test)) if len(test) > 1 else 0.0
        rows.append({"method": res["method"]["name"], "task": res["task"], "budget": res["budget"]["queries"],
                     "seeds": len(test), "regret_test_mean": float(test.mean()), "regret_test_se": float(se),
                     "regret_valid_mean": float(valid.mean()),
                     "test_score_mean": float(np.mean([r["scores"]["test"] for r in res["runs"]]))})
    if as_json:
        print_json(rows)
        return
    print(f"{'method':<12} {'task':<10} {'budget':>6} {'seeds':>5}  {'test regret (mean +- SE)':>26}  "
          f"{'valid regret':>12}  {'test score':>10}")
    for r in rows:
        print(f"{r['method']:<12} {r['task']:<10} {r['budget']:>6} {r['seeds']:>5}  "
              f"{r['regret_test_mean']:>15.4f} +- {r['regret_test_se']:.4f}  {r['regret_valid_mean']:>12.4f}  "
              f"{r['test_score_mean']:>10.4f}")


def _verify_file(file: str, root: "str | None") -> tuple[list[str], bool]:
    """(problems, whether the file could be read and checked) of one results file."""
    from nasbench_meta.search import load, verify

    try:
        res = load(file)
        bench = open_benchmark(res["benchmark"]["name"], root)
    except (ValueError, OSError, LookupError) as exc:  # this file only: the others are still checked
        return [str(exc)], False
    with bench:
        return verify(res, bench), True


def _verify(args: argparse.Namespace) -> int:
    report, unreadable = {}, set()
    for file in args.files:
        report[file], readable = _verify_file(file, args.root)
        if not readable:
            unreadable.add(file)
    if args.json:
        print_json(report)
    else:
        for file, problems in report.items():
            status = "cannot be read" if file in unreadable else f"{len(problems)} problem(s)"
            print(f"{file}: {status if problems else 'OK'}")
            for p in problems[:50]:
                print(f"  - {p}")
            if len(problems) > 50:
                print(f"  ... and {len(problems) - 50} more")
    return 1 if any(report.values()) else 0


def _rescore(args: argparse.Namespace) -> int:
    from nasbench_meta.search import load, rescore, save, verify

    _out_file(args.out)
    if Path(args.out).exists() and not args.force:
        raise ValueError(f"{args.out} already exists; pass --force to overwrite it, or choose another --out")
    res = load(args.file)
    listing = f"nothing written (`nasbench-meta search verify {args.file}` lists every problem)"
    with open_benchmark(res["benchmark"]["name"], args.root) as bench:
        try:
            rescored = rescore(res, bench)
        except ValueError as exc:
            raise ValueError(f"{args.file}: {exc}; {listing}") from None
        problems = verify(rescored, bench)  # what new scores cannot fix: trajectories the table contradicts
        if problems:
            raise ValueError(f"{args.file} has {len(problems)} problem(s) that rescoring cannot fix, e.g. "
                             f"{problems[0]}; {listing}")
        save(rescored, args.out)
    print(f"wrote {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from nasbench_meta.search.report import make_report

    try:
        budgets = None if args.budgets is None else [int(b) for b in args.budgets.split(",") if b.strip()]
    except ValueError:
        raise ValueError(f"--budgets must be comma-separated integers, got {args.budgets!r}") from None
    written = make_report(args.files, args.out_dir, budgets=budgets)  # folders are expanded there
    for kind, paths in written.items():
        for p in paths:
            print(f"wrote {p}")
    return 0
