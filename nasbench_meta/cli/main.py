"""Entry point of ``nasbench-meta``: each area registers its own sub-command."""
from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import sysconfig
import traceback
from pathlib import Path

# Modules under nasbench_meta.cli, each exposing register(subparsers) -> None.
COMMANDS: tuple[str, ...] = ("datasets", "query", "predictors", "harness", "search", "leaderboard", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nasbench-meta",
        description="Tabular NAS benchmarks, meta-trained predictors, a training harness and leaderboards.",
        epilog="Exit status: 0 done; 1 it ran but found problems (a query the table lacks, results that do not "
               "verify, a rejected submission, training jobs that failed); 2 bad input or an error in your own "
               "method or predictor; 130 interrupted (Ctrl-C; finished work is kept); 141 the reader of the "
               "output went away (| head).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"nasbench_meta.cli.{name}").register(subparsers)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    args = None
    try:
        # inside the try: a Ctrl-C while the sub-commands import (seconds) is no traceback either
        parser = build_parser()
        args = parser.parse_args(argv)
        code = int(args.func(args) or 0)
        if sys.stdout is not None:
            sys.stdout.flush()  # here, not at exit: a reader that stopped (| head) is handled below
        return code
    except KeyboardInterrupt:
        # only commands that record progress as they go (set_defaults(resumes=True)) resume
        resumes = getattr(args, "resumes", False)
        print("interrupted; finished work is kept and a rerun resumes it" if resumes
              else "interrupted; nothing was left half-written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nasbench-meta ... | head`: the reader had enough, which is no error
        _silence_stdout()
        return 141  # what a shell reports for a command ended by SIGPIPE
    except (LookupError, ValueError, RuntimeError, OSError) as exc:
        # Expected user-facing failures: one clear line, no traceback, unless the error came out
        # of the user's own method or predictor, whose author needs to see where.
        if not _report_user_code(exc):
            print(f"nasbench-meta: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:   # any other error: the user's code's (TypeError...) is reported alike
        if _report_user_code(exc):
            return 2
        raise


def _report_user_code(exc: BaseException) -> bool:
    """The traceback and a summary line when ``exc`` came out of a user's own code; False otherwise."""
    where = _user_code_frame(exc)
    if where:
        traceback.print_exception(exc)
        print(f"nasbench-meta: error in your code ({where}): {type(exc).__name__}: {exc}", file=sys.stderr)
    return bool(where)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # None, closed, or not a file (StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _user_code_frame(exc: BaseException) -> "str | None":
    """'file:line' of the innermost frame of ``exc`` outside nasbench-meta, Python and installed
    packages (a user's own plugin), or None."""
    ours = (str(Path(__file__).resolve().parents[1]), *sysconfig.get_paths().values())
    frames = [(frame.f_code.co_filename, line) for frame, line in traceback.walk_tb(exc.__traceback__)]
    if isinstance(exc, SyntaxError) and exc.filename:   # raised while compiling the user's file
        frames.append((exc.filename, exc.lineno or 0))
    # an error raised in a worker process comes back with its traceback as text (process pools)
    frames += [(name, int(line)) for name, line in _REMOTE_FRAME.findall(str(getattr(exc.__cause__, "tb", "")))]
    found = None
    for name, line in frames:
        # a relative name is a compiled library's source (numpy/random/_generator.pyx): user files load by path
        if Path(name).is_absolute() and not str(Path(name).resolve()).startswith(ours):
            found = f"{name}:{line}"
    return found


_REMOTE_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)


if __name__ == "__main__":
    sys.exit(main())
