"""``nasbench-meta leaderboard``: pack, validate, submit, render and check verified boards."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nasbench_meta.cli.common import add_json, add_root, json_object, print_json

BOARDS_HELP = ("boards directory (default: leaderboards/ of the source checkout nasbench-meta is installed "
               "from, as with `pip install -e .`, whatever the working directory; else <data dir>/leaderboards)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("leaderboard", help="verified leaderboards: pack, validate, submit, render, check",
                                   description="Verified leaderboards of NAS methods and predictors.")
    sub = parser.add_subparsers(dest="leaderboard_command", required=True, metavar="ACTION")

    p = sub.add_parser("pack", help="wrap results files and metadata into a submission file")
    p.add_argument("results", nargs="+", type=Path, help="results files (search: one per task; predictors: evaluation)")
    p.add_argument("--board", required=True, choices=("nas", "predictors"), help="which board")
    p.add_argument("--name", required=True, help="method name as shown on the board")
    p.add_argument("--version", required=True, help="method version (a new version for new results)")
    p.add_argument("--author", action="append", required=True, help="an author or team (repeat for several)")
    p.add_argument("--url", required=True, help="URL of code that reproduces the results")
    p.add_argument("--config", default=None,
                   help="method configuration as JSON or @file.json (default: the one recorded in the results)")
    p.add_argument("--notes", default=None, help="free text shown beside the entry")
    p.add_argument("-o", "--output", required=True, type=Path, help="submission file to write")
    p.set_defaults(func=_pack)

    for name, helptext, func in (("validate", "verify a submission against the tables (writes nothing)", _validate),
                                 ("submit", "verify a submission, add it to its board and re-render", _submit)):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("file", type=Path, help="submission file (see `leaderboard pack`)")
        add_root(p)
        p.add_argument("--boards-dir", type=Path, default=None, help=BOARDS_HELP)
        add_json(p)
        p.set_defaults(func=func)

    p = sub.add_parser("render", help="re-render boards (README.md, index.html, plots) from their entries")
    p.add_argument("--boards-dir", type=Path, default=None, help=BOARDS_HELP)
    p.add_argument("--benchmark", default=None, help="only this benchmark's boards")
    p.add_argument("--board", default=None, choices=("nas", "predictors"), help="only this kind of board")
    p.set_defaults(func=_render)

    p = sub.add_parser("check", help="re-verify every accepted entry against the tables (for CI)")
    add_root(p)
    p.add_argument("--boards-dir", type=Path, default=None, help=BOARDS_HELP)
    add_json(p)
    p.set_defaults(func=_check)


def _check_output(output: Path, inputs: list[Path]) -> None:
    """Replace an earlier submission, never a results file or anything else."""
    from nasbench_meta.leaderboard.schema import FORMAT

    if not output.exists():
        return
    if any(output.resolve() == Path(p).resolve() for p in inputs):
        raise ValueError(f"-o {output} is one of the results files being packed; write the submission elsewhere")
    try:
        is_submission = json.loads(output.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        is_submission = False
    if not is_submission:
        raise ValueError(f"{output} exists and is not a leaderboard submission; refusing to overwrite it "
                         "(choose another -o path, or move the file away)")


def _pack(args: argparse.Namespace) -> int:
    from nasbench_meta.leaderboard.schema import make_submission
    from nasbench_meta.leaderboard.storage import atomic_write

    _check_output(args.output, args.results)
    results = [_read_json(path) for path in args.results]
    _check_kinds(args.results, results, args.board)
    config = _config(args.config, results)
    benchmark = _benchmark_name(results)
    doc = make_submission(board=args.board, benchmark=benchmark, name=args.name, version=args.version,
                          authors=args.author, url=args.url, config=config, results=results, notes=args.notes)
    atomic_write(args.output, json.dumps(doc, sort_keys=True).encode() + b"\n")
    print(f"wrote {args.output} ({len(results)} results file(s), {benchmark}); "
          f"check it with `nasbench-meta leaderboard validate {args.output}`")
    return 0


def _check_kinds(paths: list[Path], results: list[Any], board: str) -> None:
    """Each file is what ``board`` takes (a submission or the other board's results packed fine and
    were refused only by validate, as "not a search results document")."""
    from nasbench_meta.predictors.evaluation import KIND
    from nasbench_meta.search.results import FORMAT

    for path, doc in zip(paths, results):
        doc = doc if isinstance(doc, dict) else {}
        if board == "nas" and doc.get("format") != FORMAT:
            raise ValueError(f"{path} is not a search results file (`nasbench-meta search run` writes them), which "
                             "--board nas packs")
        if board == "predictors" and doc.get("kind") != KIND:
            raise ValueError(f"{path} is not a predictor evaluation (evaluation-<predictor>.json of `nasbench-meta "
                             "predictors evaluate`), which --board predictors packs")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None


def _config(text: "str | None", results: list[dict[str, Any]]) -> dict[str, Any]:
    from nasbench_meta.leaderboard.schema import recorded_config

    if text is not None:
        return json_object(text)
    recorded = recorded_config(results)
    if recorded is None:
        raise ValueError("the results record no configuration; write them with `nasbench-meta search run` or "
                         "`predictors evaluate`")
    return recorded


def _benchmark_name(results: list[Any]) -> str:
    names = set()
    for r in results:
        b = r.get("benchmark") if isinstance(r, dict) else None
        names.add(b.get("name") if isinstance(b, dict) else b)
    names.discard(None)
    if len(names) != 1:
        raise ValueError(f"results files name {len(names)} benchmarks {sorted(map(str, names))}; pack one benchmark")
    return str(names.pop())


def _check_submission_file(path: Path) -> None:
    """A missing file is bad input (exit 2), not a rejected submission (exit 1)."""
    if not path.is_file():
        raise ValueError(f"no submission file {path}{' (a folder)' if path.is_dir() else ''}; write one with "
                         "`nasbench-meta leaderboard pack`")


def _check_boards_dir(boards_dir: "Path | None") -> None:
    """A --boards-dir that does not exist, or holds files but no board, is a typo or the wrong level:
    validating against it finds no duplicates, and submitting would start a board of one entry. An
    empty folder is taken as a new boards folder on purpose."""
    from nasbench_meta.leaderboard.storage import list_boards

    if boards_dir is None or list_boards(boards_dir):
        return
    if not boards_dir.is_dir():
        raise ValueError(f"--boards-dir {boards_dir} does not exist; give the folder that holds the boards (e.g. the "
                         "repository's leaderboards/), or create an empty folder to start new boards there")
    if any(boards_dir.iterdir()):
        raise ValueError(f"--boards-dir {boards_dir} holds no boards (no <benchmark>/<board>/entries/ folder); give "
                         "the folder that holds them, e.g. the repository's leaderboards/, not a board's own folder")


def _validate(args: argparse.Namespace) -> int:
    from nasbench_meta.leaderboard.actions import format_verdict, validate
    from nasbench_meta.leaderboard.schema import SubmissionRejected

    _check_boards_dir(args.boards_dir)
    _check_submission_file(args.file)
    try:
        verdict = validate(args.file, boards_dir=args.boards_dir, root=args.root)
    except SubmissionRejected as exc:  # unreadable file
        return _print_rejection(exc, args.json)
    if args.json:
        print_json({"accepted": verdict.accepted, "board": verdict.board, "benchmark": verdict.benchmark,
                    "entry_id": verdict.entry_id, "problems": [p.__dict__ for p in verdict.problems]})
    else:
        print("\n".join(format_verdict(verdict)), file=sys.stdout if verdict.accepted else sys.stderr)
    return 0 if verdict.accepted else 1


def _submit(args: argparse.Namespace) -> int:
    from nasbench_meta.leaderboard.actions import submit
    from nasbench_meta.leaderboard.schema import SubmissionRejected

    _check_boards_dir(args.boards_dir)
    _check_submission_file(args.file)
    try:
        entry, rendered = submit(args.file, boards_dir=args.boards_dir, root=args.root)
    except SubmissionRejected as exc:
        return _print_rejection(exc, args.json)
    if args.json:
        print_json({"accepted": True, "entry": str(entry), "rendered": [str(p) for p in rendered]})
    else:
        print(f"accepted: {entry}")
        for p in rendered:
            print(f"  rendered {p}")
    return 0


def _print_rejection(exc: Any, as_json: bool) -> int:
    if as_json:
        print_json({"accepted": False, "problems": [p.__dict__ for p in exc.problems]})
    else:
        found = sum(p.count for p in exc.problems)  # a collapsed line counts every place it stands for
        print(f"REJECTED: {found} problem(s); nothing was written", file=sys.stderr)
        for p in exc.problems:
            print(f"  - {p}", file=sys.stderr)
    return 1


def _render(args: argparse.Namespace) -> int:
    from nasbench_meta.leaderboard.actions import render_all

    from nasbench_meta.importers import BUILDERS, unknown_benchmark_message

    if args.benchmark is not None and args.benchmark not in BUILDERS:   # it would render an empty board of that name
        raise LookupError(unknown_benchmark_message(args.benchmark))
    paths = render_all(args.boards_dir, args.benchmark, args.board)
    if not paths:
        raise LookupError("no boards found; pass --boards-dir, or --benchmark and --board to render an empty board")
    for p in paths:
        print(p)
    return 0


def _check(args: argparse.Namespace) -> int:
    from nasbench_meta.leaderboard.actions import check_all
    from nasbench_meta.leaderboard.storage import list_boards

    if args.boards_dir is not None and not list_boards(args.boards_dir):   # a typo must not pass a CI check
        raise ValueError(f"--boards-dir {args.boards_dir} holds no boards to check (no <benchmark>/<board>/entries/)")
    report = check_all(args.boards_dir, root=args.root, progress=not args.json)
    if args.json:
        print_json(report)
    else:
        for eid, problems in sorted(report.items()):
            print(f"{'ok  ' if not problems else 'FAIL'} {eid}")
            for p in problems:
                print(f"       - {p}")
    return 0 if all(not p for p in report.values()) else 1
