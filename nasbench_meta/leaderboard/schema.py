"""The submission envelope: results files of a search or predictor evaluation plus metadata.

A submission is one JSON document::

    {
      "format": "nasbench-meta leaderboard submission",
      "schema_version": 1,
      "board": "nas" | "predictors",
      "benchmark": "nas-bench-graph",
      "method": {"name": "...", "version": "...", "authors": ["..."],
                 "url": "https://... (code that reproduces the results; repo:<path> for
                         the toolkit's own baselines)",
                 "config": {... the method's configuration ...}},
      "notes": "optional free text",
      "results": [ ...results documents, embedded as written by the toolkit... ]
    }

``results`` holds the documents of ``nasbench_meta.search.results`` (one per task) for the NAS
board and of ``nasbench_meta.predictors.evaluation`` for the predictor board. This module checks
the envelope only; ``verify`` checks the results against the tables.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench_meta.paths import source_checkout

FORMAT = "nasbench-meta leaderboard submission"
SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = (1,)
BOARDS = ("nas", "predictors")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+()-]{0,79}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$")
# An http(s) URL, or "repo:<path>" for code inside the nasbench-meta repository itself
# (the toolkit's own baselines, which have no other home).
_URL = re.compile(r"^(https?://[^\s/$.?#][^\s]*|repo:[\w./-]+)$")


@dataclass(frozen=True)
class Problem:
    """One reason to reject a submission: a stable code and a message that says what to do."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class SubmissionRejected(ValueError):
    """A submission failed validation; ``problems`` lists every reason found."""

    def __init__(self, problems: "list[Problem]") -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def load_submission(path: "str | os.PathLike[str]") -> dict[str, Any]:
    """Read a submission file; malformed JSON is a rejection, not a traceback."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SubmissionRejected([Problem("not-found", f"no such file: {path}")]) from None
    except UnicodeDecodeError as exc:
        raise SubmissionRejected([Problem("malformed-json", f"{path} is not UTF-8 text ({exc})")]) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionRejected([Problem(
            "malformed-json", f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]) from None
    if not isinstance(doc, dict):
        raise SubmissionRejected([Problem("malformed-json", f"{path} must hold a JSON object, got {type(doc).__name__}")])
    return doc


def envelope_problems(doc: dict[str, Any]) -> list[Problem]:
    """Everything wrong with the envelope (format, version, board, metadata); empty when fine."""
    if doc.get("format") != FORMAT:
        return [Problem("wrong-format", f"'format' must be {FORMAT!r}, got {doc.get('format')!r}; "
                        "build submissions with `nasbench-meta leaderboard pack`")]
    version = doc.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        return [Problem("unknown-schema-version",
                        f"schema_version {version!r} is not one this toolkit reads "
                        f"({', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}); upgrade nasbench-meta or re-pack")]
    problems = []
    if doc.get("board") not in BOARDS:
        problems.append(Problem("unknown-board", f"'board' must be one of {list(BOARDS)}, got {doc.get('board')!r}"))
    if not isinstance(doc.get("benchmark"), str) or not doc["benchmark"]:
        problems.append(Problem("missing-field", "'benchmark' must name the benchmark, e.g. 'nas-bench-graph'"))
    problems += _method_problems(doc.get("method"))
    if "notes" in doc and not isinstance(doc["notes"], str):
        problems.append(Problem("missing-field", "'notes' must be a string when given"))
    results = doc.get("results")
    if not isinstance(results, list) or not results or not all(isinstance(r, dict) for r in results):
        problems.append(Problem("missing-field", "'results' must be a non-empty list of results documents"))
    unknown = set(doc) - {"format", "schema_version", "board", "benchmark", "method", "notes", "results"}
    if unknown:
        problems.append(Problem("unknown-field", f"unknown top-level field(s) {sorted(unknown)}"))
    return problems


def _method_problems(method: Any) -> list[Problem]:
    if not isinstance(method, dict):
        return [Problem("missing-field", "'method' must be an object with name, version, authors, url, config")]
    problems = []
    name, version = method.get("name"), method.get("version")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(Problem("missing-field", f"method.name {name!r} must be 1-80 letters, digits, spaces or ._+()-"))
    if not isinstance(version, str) or not _VERSION.match(version):
        problems.append(Problem("missing-field", f"method.version {version!r} must be 1-40 letters, digits or ._+-"))
    authors = method.get("authors")
    if not isinstance(authors, list) or not authors or not all(isinstance(a, str) and a.strip() for a in authors):
        problems.append(Problem("missing-field", "method.authors must be a non-empty list of names (people or team)"))
    url = method.get("url")
    if not isinstance(url, str) or not _URL.match(url):
        problems.append(Problem("missing-field", f"method.url {url!r} must be an http(s) URL of code that reproduces the results (or repo:<path> for code in the nasbench-meta repository)"))
    elif url.startswith("repo:") and not _in_repository(url[len("repo:"):]):
        problems.append(Problem("bad-url", f"method.url {url!r} names no file of the nasbench-meta repository "
                                           "(repo: links are for the toolkit's own baselines, checked from a "
                                           "source checkout): give an http(s) URL of the code instead"))
    if not isinstance(method.get("config"), dict):
        problems.append(Problem("missing-field", "method.config must be a JSON object with the method's configuration"))
    unknown = set(method) - {"name", "version", "authors", "url", "config"}
    if unknown:
        problems.append(Problem("unknown-field", f"unknown method field(s) {sorted(unknown)}"))
    return problems


def _in_repository(path: str) -> bool:
    """Is ``path`` a file of the repository (from a checkout) or of the installed package?"""
    parts = Path(path).parts
    if not parts or ".." in parts or Path(path).is_absolute():
        return False
    repo = source_checkout()
    if repo is not None:
        return (repo / path).is_file()
    package_parent = Path(__file__).resolve().parents[2]   # an installed package: its own files only
    return parts[0] == "nasbench_meta" and (package_parent / path).is_file()


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value whatever the key order or spacing of the file."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def content_hash(doc: dict[str, Any]) -> str:
    """sha256 of the results alone: the same runs resubmitted under another name are duplicates."""
    return hashlib.sha256(canonical_json(doc["results"])).hexdigest()


def measurement_hash(doc: dict[str, Any]) -> str:
    """sha256 of what the results measured: per run, the queried keys (NAS) or the support keys and
    predictions (predictors). Timings, notes or relabelled fields do not make old runs new."""
    measured = sorted((_measured_runs(r) for r in doc["results"]), key=repr)
    return hashlib.sha256(canonical_json(measured)).hexdigest()


def _measured_runs(result: Any) -> Any:
    if not isinstance(result, dict) or not isinstance(result.get("runs"), list):
        return result  # malformed: hashed whole (verification rejects it anyway)
    runs = []
    for run in result["runs"]:
        if not isinstance(run, dict):
            runs.append(run)
            continue
        trajectory = run.get("trajectory")
        keys = trajectory.get("keys") if isinstance(trajectory, dict) else trajectory
        runs.append([run.get("holdout", result.get("task")), run.get("shots"), run.get("seed"), keys,
                     run.get("support_keys"), run.get("query_ranks")])
    return sorted(runs, key=repr)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def entry_id(doc: dict[str, Any]) -> str:
    """File stem of an accepted entry: method name and version, lower-case."""
    return f"{slug(doc['method']['name'])}--{slug(doc['method']['version'])}"


def make_submission(*, board: str, benchmark: str, name: str, version: str, authors: "list[str]",
                    url: str, config: dict[str, Any], results: "list[dict[str, Any]]",
                    notes: "str | None" = None) -> dict[str, Any]:
    """Build an envelope and check it; raises ``SubmissionRejected`` listing what is wrong."""
    doc: dict[str, Any] = {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, "board": board, "benchmark": benchmark,
        "method": {"name": name, "version": version, "authors": list(authors), "url": url, "config": config},
        "results": list(results),
    }
    if notes:
        doc["notes"] = notes
    problems = envelope_problems(doc)
    if problems:
        raise SubmissionRejected(problems)
    return doc
