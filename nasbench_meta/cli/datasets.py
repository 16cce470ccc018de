"""``nasbench-meta datasets build | list | info``."""
from __future__ import annotations

import argparse

from nasbench_meta.benchmark import open_benchmark
from nasbench_meta.cli.common import add_json, add_root, print_json
from nasbench_meta.datasets import describe, ensure_built, list_benchmarks


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("datasets", help="build and inspect benchmark files")
    commands = parser.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")

    build = commands.add_parser("build", help="import a benchmark into HDF5")
    build.add_argument("name", help="benchmark name, e.g. nas-bench-graph")
    build.add_argument("--force", action="store_true", help="rebuild even if a valid file exists")
    add_root(build)
    build.set_defaults(func=_build)

    listing = commands.add_parser("list", help="known benchmarks and whether they are built (or damaged)")
    add_root(listing)
    add_json(listing)
    listing.set_defaults(func=_list)

    info = commands.add_parser("info", help="tasks, sizes and best architecture per task")
    info.add_argument("name")
    add_root(info)
    add_json(info)
    info.set_defaults(func=_info)


def _build(args: argparse.Namespace) -> int:
    path, built = ensure_built(args.name, args.root, force=args.force)
    print(f"{'built' if built else 'already built (use --force to rebuild)'}: {path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = list_benchmarks(args.root)
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        state = f"built, {row['size_mb']} MB" if row["built"] else "damaged" if row["problem"] else "not built"
        print(f"{row['name']:<18} {state:<18} {row['path']}\n  {row['description']}")
        if row["problem"]:
            print(f"  {row['problem']}")
    return 0


def _info(args: argparse.Namespace) -> int:
    with open_benchmark(args.name, args.root) as bench:
        info = describe(bench)
    if args.json:
        print_json(info)
        return 0
    source = info["source"] or {}
    print(f"{info['benchmark']}: {info['architectures']} architectures ({info['space']} space), "
          f"values are {info['seed_aggregation']}")
    print(f"source: {source.get('package')} {source.get('version')}; schema {info['schema_version']}; "
          f"built {info['created_utc']}; file {info['path']}")
    print(f"{'task':<10} {'metric':<9} {'archs':>6}  {'best valid':>10} {'its test':>8} {'best test':>9}  best architecture (by validation)")
    for task, t in info["tasks"].items():
        b = t["best_by_validation"]
        print(f"{task:<10} {t['metric']:<9} {t['architectures']:>6}  {b['valid']:>10.4f} {b['test']:>8.4f} "
              f"{t['best_test']:>9.4f}  {b['arch']} (key {b['key']})")
    return 0
