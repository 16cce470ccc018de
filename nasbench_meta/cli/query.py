"""``nasbench-meta query``: look architectures up in a benchmark (analysis access)."""
from __future__ import annotations

import argparse
import math

from nasbench_meta.benchmark import Benchmark, open_benchmark
from nasbench_meta.cli.common import add_benchmark, add_root, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query", help="look up an architecture's table results",
        description='Architectures are "links|ops" strings such as "0,0,1,2|gat,gcn,sage,gcn" '
                    "(any isomorphic form) or integer table keys.")
    add_benchmark(parser)
    parser.add_argument("--task", required=True, help="task name, e.g. cora (`datasets info` lists them)")
    parser.add_argument("--arch", required=True, action="append",
                        help="repeat for several; exit status 1 if one was not evaluated on the task")
    add_root(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per --arch")
    parser.set_defaults(func=_query)


def _record(bench: Benchmark, task: str, arch: str) -> dict:
    key = bench.space.key(bench.space.parse(arch))
    row = bench.row(key)
    values = {m: bench.metric(task, m)[row].item() for m in bench.metrics}
    return {"input": arch, "key": key, "arch": bench.space.format(key), "task": task,
            "seeds": "mean", **{m: (None if isinstance(v, float) and math.isnan(v) else v)
                                for m, v in values.items()}}


def _query(args: argparse.Namespace) -> int:
    with open_benchmark(args.benchmark, args.root) as bench:
        bench.task_info(args.task)  # unknown task: error listing the valid ones
        records = [_record(bench, args.task, a) for a in args.arch]
        metric = bench.task_info(args.task)["metric"]
        coverage = f"{args.task} covers {len(bench.task_keys(args.task)):,} of {len(bench.keys):,} architectures"
    missing = [r for r in records if r["num_seeds"] == 0]
    if args.json:
        print_json(records)   # one object per --arch, always a list: scripts need not branch on the count
    else:
        for r in records:
            if r["num_seeds"] == 0:
                print(f"{r['arch']} (key {r['key']}): not evaluated on {args.task} ({coverage})")
                continue
            print(f"{r['arch']} (key {r['key']}) on {args.task}, mean over {r['num_seeds']} seeds:")
            print(f"  validation {metric}: {r['valid_score']:.4f}\n  test {metric}:       {r['test_score']:.4f}\n"
                  f"  latency: {r['latency_s'] * 1e3:.2f} ms   parameters: {r['params_m']:.6f} M")
    return 1 if missing else 0
