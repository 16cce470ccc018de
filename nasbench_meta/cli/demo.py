"""``nasbench-meta demo``: the main job on built-in defaults."""
from __future__ import annotations

import argparse
from pathlib import Path

from nasbench_meta.cli.common import add_root, seed_int
from nasbench_meta.demo import DemoConfig, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = DemoConfig()
    parser = subparsers.add_parser(
        "demo", help="run the main job end to end on built-in defaults",
        description="Builds the benchmark if missing, fits a predictor without the held-out task, "
                    "trains its predicted-best architecture for real, compares NAS methods and renders "
                    "the leaderboards. Every default below is printed with the results.")
    add_root(parser)
    parser.add_argument("--holdout", default=defaults.holdout, help="task held out from the predictor's fit (default: %(default)s)")
    parser.add_argument("--seed", type=seed_int, default=defaults.seed, help="seed of the predictor's fit and of the support draw (default: %(default)s)")
    parser.add_argument("--predictor", default=defaults.predictor, help="predictor fitted on every other task, one that predicts from K = 0 (default: %(default)s)")
    parser.add_argument("--shots", type=int, default=defaults.shots,
                        help="measured held-out architectures for the few-shot prediction (default: %(default)s)")
    parser.add_argument("--train-seeds", type=seed_int, nargs="+", default=list(defaults.train_seeds),
                        help="seeds of the real training runs (default: %(default)s)")
    parser.add_argument("--data-root", default=None,
                        help="Planetoid root holding <Name>/raw (default: $NASBENCH_META_DATA or <data dir>/planetoid, where PyG "
                             "downloads missing data when there is network)")
    parser.add_argument("--out-dir", type=Path, default=defaults.out_dir, help="where plots and tables go (default: %(default)s)")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    run_demo(DemoConfig(root=args.root, holdout=args.holdout, seed=args.seed, out_dir=args.out_dir,
                        data_root=args.data_root, predictor=args.predictor, shots=args.shots,
                        train_seeds=tuple(args.train_seeds)))
    return 0
