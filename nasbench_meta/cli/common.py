"""Options and printing shared by the sub-commands."""
from __future__ import annotations

import argparse
import json
from typing import Any


def add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=None,
                        help="data directory (default: $NASBENCH_META_HOME or ~/.local/share/nasbench-meta)")


def add_benchmark(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="nas-bench-graph", help="benchmark name (default: %(default)s)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=_to_builtin))


def _to_builtin(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")
