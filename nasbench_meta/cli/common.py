"""Options and printing shared by the sub-commands."""
from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path
from typing import Any


def add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=None,
                        help="data directory, not empty (default: $NASBENCH_META_HOME, else $XDG_DATA_HOME/nasbench-meta when absolute, "
                             "else ~/.local/share/nasbench-meta)")


def add_benchmark(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="nas-bench-graph", help="benchmark name (default: %(default)s)")


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (the option's name is in argparse's message)."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed_int(text: str) -> int:
    """argparse type: a seed, 0 .. 2**63 - 1 (what numpy, torch and the int64 runs file all take)."""
    value = _whole_number(text)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"a seed must be from 0 to 2**63 - 1, got {value}")
    return value


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def print_json(payload: Any) -> None:
    """One strict JSON document on stdout: NaN and infinities (an undefined std or correlation) as null."""
    print(json.dumps(_finite(payload), indent=2, sort_keys=True, default=_to_builtin, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0):
        value = value.item() if hasattr(value, "item") else value
        return value if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _finite(value.tolist())
    return value


def _to_builtin(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_object(text: str, option: str = "--config") -> dict[str, Any]:
    """A JSON object given inline or as ``@file.json``; a clear error otherwise."""
    try:
        raw = Path(text[1:]).expanduser().read_text() if text.startswith("@") else text
    except OSError as exc:
        raise ValueError(f"{option} {text}: cannot read {text[1:]} ({exc.strerror or exc})") from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{option} is not valid JSON ({exc}); e.g. {option} '{{\"max_depth\": 4}}'") from None
    if not isinstance(value, dict):
        raise ValueError(f"{option} must be a JSON object such as '{{\"max_depth\": 4}}'")
    return value


def writable_output(path: "str | Path", option: str, *, folder: bool = False, example: str = "results.json") -> Path:
    """Check, before any work, that an output file (or ``folder``) can be written, creating nothing:
    a file must not be a directory nor a folder a file, and the nearest existing directory on the
    way must take new files (the writer makes the missing folders). Returns the path."""
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is a file; give a folder to write the outputs into")
    if not folder and path.is_dir():
        raise ValueError(f"{option} must be a file path, not a directory: {path} is a directory "
                         f"(e.g. {option} {path / example})")
    where = (path if folder else path.parent).absolute()
    nearest = next(p for p in (where, *where.parents) if p.exists())
    try:
        if not nearest.is_dir():
            raise NotADirectoryError(20, f"{nearest} is a file")
        tempfile.TemporaryFile(dir=nearest).close()   # the one test that holds for every system and user
    except OSError as exc:
        raise ValueError(f"cannot write {option} {path}: {exc.strerror or exc}; choose a writable location") from None
    return path


def model_for(path: str, task: str, config: "str | None", use: str) -> Any:
    """``--model``: the predictor file from ``predictors train`` that did not learn from ``task``; its
    options are fixed in the file, so ``--config`` is refused. ``use`` words what the command does."""
    from nasbench_meta.predictors import load_predictor
    from nasbench_meta.predictors.api import learnt_from

    if config:
        raise ValueError(f"--config does not apply to --model: {path} keeps the options it was trained with; "
                         "train another with `nasbench-meta predictors train --config ...`")
    predictor = load_predictor(path)
    if learnt_from(predictor.meta, predictor.fit_info, task):
        raise ValueError(f"{path} was trained on {task}; {use} it would leak the target. Train one with "
                         f"`nasbench-meta predictors train --holdout {task}`")
    return predictor
