"""The command line starts without the heavy libraries: building the parser and printing any
``--help`` must not import torch, PyG, xgboost, scikit-learn or Dask (they are imported by the
commands that train or predict, when those run)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "torch_geometric", "xgboost", "sklearn", "distributed")

_SCRIPT = """
import argparse, contextlib, io, json, sys
from nasbench_meta.cli.main import build_parser, main

def groups(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []

helps = []
for argv in [[]] + [[name] for name in groups(build_parser())]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(argv + ["--help"])
        except SystemExit as exc:
            code = exc.code
    helps.append([argv, code, "usage: nasbench-meta" in out.getvalue()])
print(json.dumps({"helps": helps, "loaded": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def test_help_does_not_import_heavy_libraries():
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    helps = {" ".join(argv) or "(top)": (code, ok) for argv, code, ok in result["helps"]}
    assert {"(top)", "datasets", "query", "predictors", "harness", "search", "leaderboard", "demo"} <= set(helps)
    assert all(code == 0 and ok for code, ok in helps.values()), helps
    assert result["loaded"] == [], f"--help imported {result['loaded']}"


def test_datasets_list_does_not_import_heavy_libraries(tmp_path):
    script = ("import contextlib, io, json, sys\n"
              "from nasbench_meta.cli.main import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              f"    code = main(['datasets', 'list', '--root', {str(tmp_path)!r}])\n"
              f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    code, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert code == 0 and loaded == [], loaded


def test_harness_package_still_exports_every_public_name():
    import nasbench_meta.harness as harness

    assert sorted(harness._EXPORTS) == sorted(harness.__all__)   # loaded on first use, none forgotten
    assert all(getattr(harness, name) is not None for name in harness.__all__)


def test_ctrl_c_while_the_commands_import_is_one_line(monkeypatch, capsys):
    # Ctrl-C during the (slow) imports of build_parser printed a 40-line importlib traceback.
    from nasbench_meta.cli import main as cli_main

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "build_parser", interrupted)
    assert cli_main.main(["datasets", "list"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted; nothing was left half-written"


@pytest.mark.parametrize("argv, resumes", [
    (["datasets", "build", "nas-bench-graph"], False),   # builds write atomically, from scratch
    (["search", "run", "--method", "rs", "--task", "cora", "--out", "r.json", "--budget", "5", "--seeds", "2"], True),
    (["harness", "batch", "--sample", "2"], True),
    (["predictors", "evaluate", "--predictor", "xgb", "--holdout", "cora", "--seeds", "1"], True),
])
def test_ctrl_c_says_a_rerun_resumes_only_for_commands_that_resume(monkeypatch, capsys, argv, resumes):
    # every interrupted command promised "a rerun resumes it", datasets build too, which starts over
    from nasbench_meta.cli import main as cli_main
    real_parser = cli_main.build_parser

    def interrupted(args) -> int:
        raise KeyboardInterrupt

    def parser_whose_command_is_interrupted():
        parser = real_parser()
        parse = parser.parse_args
        parser.parse_args = lambda argv: argparse.Namespace(**{**vars(parse(argv)), "func": interrupted})
        return parser

    monkeypatch.setattr(cli_main, "build_parser", parser_whose_command_is_interrupted)
    assert cli_main.main(argv) == 130
    assert ("a rerun resumes it" in capsys.readouterr().err) == resumes


def test_output_piped_into_a_reader_that_stops_is_no_error(tmp_path):
    # `nasbench-meta datasets list | head -1` printed "error: [Errno 32] Broken pipe"
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}   # as in a plain shell
    proc = subprocess.run([sys.executable, "-m", "nasbench_meta.cli.main", "datasets", "list", "--root",
                           str(tmp_path)], stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    os.close(write)
    assert proc.returncode == 141 and "Broken pipe" not in proc.stderr, proc.stderr
