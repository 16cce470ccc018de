"""Where boards live and how accepted entries are stored: one JSON file per entry.

Layout under the boards directory::

    <boards>/<benchmark>/<board>/entries/<method>--<version>.json   accepted entries (the data)
    <boards>/<benchmark>/<board>/README.md, index.html, plots/     rendered from the entries

Every write goes to a temporary file in the same directory and is then renamed over the target,
so a crash or a rejected submission never leaves a half-written or changed entry behind.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from nasbench_meta.atomic import atomic_write
from nasbench_meta.leaderboard.schema import Problem, content_hash, entry_id, measured_runs
from nasbench_meta.paths import data_root, source_checkout

ENTRY_FORMAT = "nasbench-meta leaderboard entry"
ENTRY_SCHEMA_VERSION = 1


def checkout_boards_dir() -> "Path | None":
    """``leaderboards/`` of the source checkout this package runs from, if it runs from one."""
    repo = source_checkout()
    return None if repo is None else repo / "leaderboards"


def default_boards_dir(boards_dir: "str | os.PathLike[str] | None" = None) -> Path:
    """The argument, else the checkout's ``leaderboards/``, else ``<data root>/leaderboards``."""
    if boards_dir is not None:
        return Path(boards_dir).expanduser()
    return checkout_boards_dir() or data_root() / "leaderboards"


@dataclass(frozen=True)
class Entry:
    """An accepted entry: the submission and what verification computed from the tables."""

    id: str
    submission: dict[str, Any]
    verification: dict[str, Any]

    @property
    def method(self) -> dict[str, Any]:
        return self.submission["method"]

    @property
    def summary(self) -> dict[str, Any]:
        return self.verification["summary"]

    def to_json(self) -> bytes:
        doc = {"format": ENTRY_FORMAT, "schema_version": ENTRY_SCHEMA_VERSION,
               "submission": self.submission, "verification": self.verification}
        # Compact: trajectories make entries large, and entries are written once, never edited.
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode() + b"\n"


class BoardStore:
    """The entries of one board (benchmark x kind), read from and written to its directory."""

    def __init__(self, boards_dir: "str | os.PathLike[str]", benchmark: str, board: str) -> None:
        self.root = Path(boards_dir)
        self.benchmark, self.board = benchmark, board
        self.dir = self.root / benchmark / board
        self.entries_dir = self.dir / "entries"

    def __repr__(self) -> str:
        return f"BoardStore({str(self.dir)!r})"

    def entry_path(self, eid: str) -> Path:
        return self.entries_dir / f"{eid}.json"

    def entries(self) -> list[Entry]:
        """Accepted entries sorted by id, so everything built from them is in a fixed order."""
        return sorted(self._read_entries(), key=lambda e: e.id)

    def _read_entries(self) -> Iterator[Entry]:
        if not self.entries_dir.is_dir():
            return
        for path in sorted(self.entries_dir.glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise RuntimeError(f"board entry {path} is not valid JSON ({exc}); restore it from git") from None
            if doc.get("format") != ENTRY_FORMAT or doc.get("schema_version") != ENTRY_SCHEMA_VERSION:
                raise RuntimeError(f"{path} is not a board entry of schema {ENTRY_SCHEMA_VERSION}; "
                                   "upgrade nasbench-meta or restore the file from git")
            yield Entry(path.stem, doc["submission"], doc["verification"])

    def duplicate_problems(self, submission: dict[str, Any]) -> list[Problem]:
        """A submission is a duplicate if its results or its (method name, version) are on the board."""
        problems = []
        digest, runs, eid = content_hash(submission), measured_runs(submission), entry_id(submission)
        for entry in self.entries():
            if entry.verification.get("content_sha256") == digest:
                problems.append(Problem("duplicate-entry", f"the same results are already on the board as {entry.id!r}"))
            else:
                problems += self._same_runs(runs, entry)
            if entry.id == eid:
                problems.append(Problem("duplicate-entry",
                                        f"{entry.method['name']} {entry.method['version']} is already on the board; "
                                        "bump method.version for new results"))
        return problems

    @staticmethod
    def _same_runs(runs: "tuple[bytes, ...]", entry: Entry) -> list[Problem]:
        """``runs`` (``measured_runs``) are ``entry``'s own runs, or some of them."""
        theirs = measured_runs(entry.submission)   # once per entry: it serializes every run
        if theirs == runs:
            return [Problem("duplicate-entry", f"the same runs (queried architectures or predictions) are already "
                            f"on the board as {entry.id!r}; only metadata differs")]
        if runs and set(runs) <= set(theirs):
            return [Problem("duplicate-entry", f"every run is one of {entry.id!r}'s, already on the board (fewer "
                            "seeds of the same runs are not new results)")]
        return []

    def add(self, entry: Entry) -> Path:
        """Write a new entry; refuses to overwrite one (entries change only through git)."""
        path = self.entry_path(entry.id)
        if path.exists():
            raise FileExistsError(f"{path} exists; entries are never overwritten, bump method.version")
        atomic_write(path, entry.to_json())
        return path


def list_boards(boards_dir: Path) -> list[tuple[str, str]]:
    """(benchmark, board) pairs with an ``entries/`` directory, sorted."""
    return sorted((p.parent.parent.name, p.parent.name) for p in Path(boards_dir).glob("*/*/entries") if p.is_dir())

