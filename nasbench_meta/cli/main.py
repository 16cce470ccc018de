"""Entry point of ``nasbench-meta``: each area registers its own sub-command."""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules under nasbench_meta.cli, each exposing register(subparsers) -> None.
COMMANDS: tuple[str, ...] = ("datasets", "query", "predictors", "harness", "search", "leaderboard", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nasbench-meta",
        description="Tabular NAS benchmarks, meta-trained predictors, a training harness and leaderboards.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"nasbench_meta.cli.{name}").register(subparsers)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; finished work is kept and a rerun resumes it", file=sys.stderr)
        return 130
    except (LookupError, ValueError, RuntimeError, OSError) as exc:
        # Expected user-facing failures: one clear line, no traceback.
        print(f"nasbench-meta: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
