"""What the ``leaderboard`` commands do: validate, submit, render, check, and the demo stage."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

from nasbench_meta.leaderboard.render import render, render_board, write_rendered
from nasbench_meta.leaderboard.schema import SubmissionRejected, load_submission
from nasbench_meta.leaderboard.storage import BoardStore, Entry, default_boards_dir, list_boards
from nasbench_meta.leaderboard.verify import Verdict, verify_submission

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark

PathLike = Union[str, "os.PathLike[str]"]


def _bench(benchmark: str, root: "PathLike | None", bench: "Benchmark | None") -> "Benchmark":
    if bench is not None:
        return bench
    from nasbench_meta.benchmark import open_benchmark

    return open_benchmark(benchmark, root=root)


def validate(source: "PathLike | dict[str, Any]", *, boards_dir: "PathLike | None" = None,
             root: "PathLike | None" = None, bench: "Benchmark | None" = None) -> Verdict:
    """Verify a submission (file or document) against the tables and its board; writes nothing."""
    doc = source if isinstance(source, dict) else load_submission(source)
    benchmark = doc.get("benchmark") if isinstance(doc.get("benchmark"), str) else "nas-bench-graph"
    board = doc.get("board") if isinstance(doc.get("board"), str) else "nas"
    store = BoardStore(default_boards_dir(boards_dir), benchmark, board)
    return verify_submission(doc, _bench(benchmark, root, bench), store)


def submit(source: "PathLike | dict[str, Any]", *, boards_dir: "PathLike | None" = None,
           root: "PathLike | None" = None, bench: "Benchmark | None" = None) -> tuple[Path, list[Path]]:
    """Verify, then add the entry and re-render its board; returns (entry path, rendered paths).

    Raises ``SubmissionRejected`` (nothing written) when verification finds any problem. The
    board is rendered in memory with the new entry before anything is written, so a render
    failure leaves the board as it was.
    """
    doc = source if isinstance(source, dict) else load_submission(source)
    bench = _bench(doc.get("benchmark") if isinstance(doc.get("benchmark"), str) else "nas-bench-graph", root, bench)
    verdict = validate(doc, boards_dir=boards_dir, bench=bench)
    if not verdict.accepted:
        raise SubmissionRejected(verdict.problems)
    store = BoardStore(default_boards_dir(boards_dir), verdict.benchmark, verdict.board)
    entry = verdict.entry(doc, bench)
    files = render_board(store.benchmark, store.board, sorted([*store.entries(), entry], key=lambda e: e.id))
    path = store.add(entry)
    try:
        return path, write_rendered(store, files)
    except BaseException:   # the pages could not show it: the entry goes too (write_rendered restored them)
        path.unlink(missing_ok=True)
        raise


def stores(boards_dir: "PathLike | None" = None, benchmark: "str | None" = None,
           board: "str | None" = None) -> list[BoardStore]:
    """The boards under a boards directory, optionally only one benchmark or kind."""
    root = default_boards_dir(boards_dir)
    pairs = list_boards(root)
    if benchmark is not None or board is not None:
        pairs = [(b, k) for b, k in pairs if benchmark in (None, b) and board in (None, k)]
        if not pairs and benchmark is not None and board is not None:
            pairs = [(benchmark, board)]  # render an empty board
    return [BoardStore(root, b, k) for b, k in pairs]


def render_all(boards_dir: "PathLike | None" = None, benchmark: "str | None" = None,
               board: "str | None" = None) -> list[Path]:
    """Re-render boards from their entry files; returns every rendered path."""
    return [p for store in stores(boards_dir, benchmark, board) for p in render(store)]


def check_all(boards_dir: "PathLike | None" = None, root: "PathLike | None" = None,
              bench: "Benchmark | None" = None, progress: bool = False) -> dict[str, list[str]]:
    """Re-verify every stored entry from its submission: entry id -> problems (empty = fine).

    Catches entries edited by hand: the stored summary must equal what verification gives now.
    """
    from tqdm.auto import tqdm

    report: dict[str, list[str]] = {}
    for store in stores(boards_dir):
        b = _bench(store.benchmark, root, bench if bench is None or bench.name == store.benchmark else None)
        entries = store.entries()
        for entry in tqdm(entries, desc=f"checking {store.benchmark}/{store.board}", unit="entry",
                          disable=not progress, leave=False):
            report[f"{store.benchmark}/{store.board}/{entry.id}"] = _entry_problems(entry, b)
        stale = stale_pages(store, entries)
        if stale:
            report[f"{store.benchmark}/{store.board}/pages"] = [
                f"{name} does not show the board's entries as they are; run `nasbench-meta leaderboard render`"
                for name in stale]
    return report


def _entry_problems(entry: Entry, bench: "Benchmark") -> list[str]:
    """Why a stored entry no longer stands: its submission re-verified now must give its record."""
    from nasbench_meta.leaderboard.schema import canonical_json

    verdict = verify_submission(entry.submission, bench, store=None)
    problems = [str(p) for p in verdict.problems]
    if verdict.accepted and canonical_json(verdict.summary) != canonical_json(entry.summary):
        problems.append("summary: the stored numbers differ from the re-scored ones")
    if verdict.accepted and verdict.entry_id != entry.id:
        problems.append(f"file name: expected {verdict.entry_id}.json")
    if verdict.accepted and verdict.content_sha256 != entry.verification.get("content_sha256"):
        problems.append("content_sha256 does not match the results")
    return problems


def stale_pages(store: BoardStore, entries: "Sequence[Entry] | None" = None) -> list[str]:
    """The board's pages (README.md, index.html) that differ from a fresh render of its entries
    (``store.entries()`` unless given), e.g. after an interrupted submit; plots are left out
    (their bytes vary with matplotlib)."""
    fresh = render_board(store.benchmark, store.board, store.entries() if entries is None else entries)
    return [name for name in ("README.md", "index.html")
            if not (store.dir / name).is_file() or (store.dir / name).read_bytes() != fresh[name]]


def demo_stage(submissions: Iterable["PathLike | dict[str, Any]"] = (), *, out_dir: PathLike,
               boards_dir: "PathLike | None" = None, bench: "Benchmark | None" = None,
               root: "PathLike | None" = None) -> list[Path]:
    """The demo's last stage: render the boards it touched into ``out_dir`` and return the paths.

    Each submission (e.g. the demo's own search or predictor results, packed) is verified
    against its board's accepted entries and, when accepted, shown beside them; nothing is
    written to the boards directory. With no submission, every board is rendered as it is.
    Prints one line per board with its leader.
    """
    out_dir = Path(out_dir)
    boards: dict[tuple[str, str], list] = {}
    for source in submissions:
        doc = source if isinstance(source, dict) else load_submission(source)
        verdict = validate(doc, boards_dir=boards_dir, root=root, bench=bench)
        key = (verdict.benchmark, verdict.board)
        if not verdict.accepted:
            # one line: the board's reasons at length made a wall of text of the demo's last stage
            codes = ", ".join(dict.fromkeys(p.code for p in verdict.problems))
            print(f"    {doc.get('method', {}).get('name')}: not shown on {key[0]}/{key[1]} ({codes}); "
                  f"{verdict.problems[0]}")
            continue
        boards.setdefault(key, []).append(verdict.entry(doc, _bench(key[0], root, bench)))
    if not boards:
        boards = {(s.benchmark, s.board): [] for s in stores(boards_dir)}
    paths: list[Path] = []
    for (benchmark, kind), extra in sorted(boards.items()):
        store = BoardStore(default_boards_dir(boards_dir), benchmark, kind)
        entries = sorted([*store.entries(), *extra], key=lambda e: e.id)
        target = BoardStore(out_dir / "leaderboards", benchmark, kind)
        written = write_rendered(target, render_board(benchmark, kind, entries))
        paths += written
        print(f"    {benchmark}/{kind}: {len(entries)} entries -> {target.dir / 'index.html'}")
    return paths


def format_verdict(verdict: Verdict) -> list[str]:
    """Lines a person reads: accepted with the headline numbers, or every reason to reject."""
    where = f"{verdict.benchmark}/{verdict.board}"
    if not verdict.accepted:
        found = sum(p.count for p in verdict.problems)  # a collapsed line counts every place it stands for
        return [f"REJECTED for {where}: {found} problem(s)"] + [f"  - {p}" for p in verdict.problems]
    lines = [f"OK: would be accepted on {where} as {verdict.entry_id}"]
    summary = verdict.summary or {}
    for task, t in summary.get("tasks", {}).items():
        test = t["at_budget"][str(max(map(int, t["at_budget"])))]["test"]
        lines.append(f"  {task:<10} {len(t['seeds'])} seeds, budget {t['budget']}, "
                     f"test of chosen arch @{max(map(int, t['at_budget']))} {sum(test) / len(test):.4f}")
    for task, h in summary.get("holdouts", {}).items():
        lines.append(f"  {task:<10} " + "  ".join(f"K={k}: Spearman {_mean_text(v['spearman'])}" for k, v in h.items()))
    return lines


def _mean_text(values: Sequence["float | None"]) -> str:
    """Mean of a K's per-seed values, "-" for a K the predictor skips (its values are null)."""
    scored = [v for v in values if v is not None]
    return f"{sum(scored) / len(scored):.3f}" if scored else "-"


__all__: Sequence[str] = ("validate", "submit", "render_all", "check_all", "demo_stage", "format_verdict")
