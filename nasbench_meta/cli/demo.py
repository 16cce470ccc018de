"""``nasbench-meta demo``: the main job on built-in defaults."""
from __future__ import annotations

import argparse
from pathlib import Path

from nasbench_meta.cli.common import add_root
from nasbench_meta.demo import DemoConfig, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the main job end to end on built-in defaults")
    add_root(parser)
    parser.add_argument("--holdout", default="cora", help="task held out from meta-training (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    parser.add_argument("--out-dir", type=Path, default=Path("demo-output"), help="where plots and tables go")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    run_demo(DemoConfig(root=args.root, holdout=args.holdout, seed=args.seed, out_dir=args.out_dir))
    return 0
