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
                 "config": {... the method's configuration: the one its results files record ...}},
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
    """One reason to reject a submission: a stable code and a message that says what to do;
    ``count`` > 1 when the same problem was found at several places (see ``collapse``)."""

    code: str
    message: str
    count: int = 1

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def collapse(problems: "list[Problem]", examples: int = 3) -> "list[Problem]":
    """One problem per distinct (code, message without its location), in first-seen order.

    An evaluation packed with ``--no-predictions`` lacks predictions in every run: one line with
    the count and the first few places says it, where 120 identical lines would bury the rest.
    """
    groups: dict[tuple[str, str], list[tuple[str, Problem]]] = {}
    for p in problems:
        where, what = _split_where(p.message)
        groups.setdefault((p.code, what), []).append((where, p))
    out = []
    for (code, what), found in groups.items():
        if len(found) == 1:
            out.append(found[0][1])
            continue
        count = sum(p.count for _, p in found)
        places = [w for w, _ in found if w]
        shown = "; ".join(places[:examples]) + ("; ..." if len(places) > examples else "")
        out.append(Problem(code, f"{what} ({count} times" + (f": {shown})" if places else ")"), count))
    return out


def _split_where(message: str) -> tuple[str, str]:
    """'cora K=0 seed=0: no stored predictions' -> ('cora K=0 seed=0', 'no stored predictions').

    The location is the longest prefix ending at ': ' whose brackets and quotes are balanced, so a
    colon inside the message's own text, e.g. '(KeyError: 'x')', is not taken for one.
    """
    cut = message.rfind(": ")
    while cut > 0:
        where = message[:cut]
        if all(where.count(a) == where.count(b) for a, b in ("()", "[]", "{}")) and where.count("'") % 2 == 0:
            return where, message[cut + 2:]
        cut = message.rfind(": ", 0, cut)
    return "", message


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
    benchmark = doc.get("benchmark")
    if not isinstance(benchmark, str) or not benchmark:
        problems.append(_field_problem("'benchmark'", benchmark, "the name of the benchmark, e.g. 'nas-bench-graph'"))
    problems += _method_problems(doc.get("method"))
    if "notes" in doc and not isinstance(doc["notes"], str):
        problems.append(_field_problem("'notes'", doc["notes"], "a string when given"))
    results = doc.get("results")
    if not isinstance(results, list) or not results or not all(isinstance(r, dict) for r in results):
        problems.append(_field_problem("'results'", results, "a non-empty list of results documents"))
    unknown = set(doc) - {"format", "schema_version", "board", "benchmark", "method", "notes", "results"}
    if unknown:
        problems.append(Problem("unknown-field", f"unknown top-level field(s) {sorted(unknown)}"))
    return problems


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _field_problem(label: str, value: Any, must: str) -> Problem:
    """``missing-field`` when a field is absent (or null), ``invalid-field`` when its value is malformed."""
    if value is None:
        return Problem("missing-field", f"{label} is missing; it must be {must}")
    shown = repr(value) if isinstance(value, str) else f"{_json_type(value)} {json.dumps(value, default=str)[:60]}"
    return Problem("invalid-field", f"{label} must be {must}, got {shown}")


def _string_problem(label: str, value: Any, pattern: "re.Pattern[str]", rule: str) -> "Problem | None":
    """A metadata string: absent, not a string (e.g. version 2 for "2") or not matching ``rule``."""
    if isinstance(value, str) and pattern.match(value):
        return None
    return _field_problem(label, value, f"a string of {rule}" if not isinstance(value, str) else rule)


def _method_problems(method: Any) -> list[Problem]:
    if not isinstance(method, dict):
        return [_field_problem("'method'", method, "an object with name, version, authors, url, config")]
    problems = [p for p in (
        _string_problem("method.name", method.get("name"), _NAME, "1-80 letters, digits, spaces or ._+()-"),
        _string_problem("method.version", method.get("version"), _VERSION, "1-40 letters, digits or ._+-"),
    ) if p]
    authors = method.get("authors")
    if not isinstance(authors, list) or not authors or not all(isinstance(a, str) and a.strip() for a in authors):
        problems.append(_field_problem("method.authors", authors, "a non-empty list of names (people or team)"))
    url = method.get("url")
    if not isinstance(url, str) or not _URL.match(url):
        problems.append(_field_problem("method.url", url, "an http(s) URL of code that reproduces the results "
                                       "(or repo:<path> for code in the nasbench-meta repository)"))
    elif url.startswith("repo:") and not _in_repository(url[len("repo:"):]):
        problems.append(Problem("bad-url", f"method.url {url!r} names no file of the nasbench-meta repository "
                                           "(repo: links are for the toolkit's own baselines, checked from a "
                                           "source checkout): give an http(s) URL of the code instead"))
    if not isinstance(method.get("config"), dict):
        problems.append(_field_problem("method.config", method.get("config"),
                                       "a JSON object with the method's configuration"))
    unknown = set(method) - {"name", "version", "authors", "url", "config"}
    if unknown:
        problems.append(Problem("unknown-field", f"unknown method field(s) {sorted(unknown)}"))
    return problems


def recorded_config(results: Any) -> "dict[str, Any] | None":
    """The configuration the results files recorded (search: ``method.config``, predictor evaluation:
    ``predictor.config``): one object, ``{"per_results_file": [...]}`` (in results order) when the
    files differ, None when none records one. ``leaderboard pack`` defaults ``--config`` to it."""
    recorded = []
    for r in results if isinstance(results, list) else []:
        owner = r.get("method", r.get("predictor")) if isinstance(r, dict) else None
        if isinstance(owner, dict) and isinstance(owner.get("config"), dict):
            recorded.append(owner["config"])
    if not recorded:
        return None
    if any(_json(c) != _json(recorded[0]) for c in recorded):
        return {"per_results_file": recorded}
    return recorded[0]


def varying_options(configs: list[dict[str, Any]]) -> list[str]:
    """The options (sorted) whose values, compared as JSON, differ between ``configs`` or that
    some of them lack."""
    keys = sorted(set().union(*configs))
    return [k for k in keys if len({_json(c.get(k, _ABSENT)) for c in configs}) > 1]


def config_problems(doc: dict[str, Any]) -> list[Problem]:
    """method.config is shown on the board, so it must be the configuration the results recorded."""
    method = doc.get("method")
    claimed = method.get("config") if isinstance(method, dict) else None
    if not isinstance(claimed, dict):
        return []  # envelope_problems reports it
    recorded = recorded_config(doc.get("results"))
    if recorded is None:
        return [Problem("config-mismatch", "the results files record no configuration, so method.config "
                        "cannot be checked; submit results written by the toolkit")]
    differences = _differences(claimed, recorded)
    if not differences:
        return []
    shown = "; ".join(differences[:6]) + (f"; and {len(differences) - 6} more" if len(differences) > 6 else "")
    return [Problem("config-mismatch", f"method.config differs from the configuration recorded in the results "
                    f"files ({shown}); the board shows it, so pack without --config to use the recorded one")]


_ABSENT = object()  # a key one side of a config comparison lacks


def _json(value: Any) -> str:
    """JSON text: configs compare as JSON, where 1, 1.0 and true differ (Python's == equates them)."""
    return "absent" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)


def _differences(claimed: Any, recorded: Any, path: str = "") -> list[str]:
    """'key: claimed X, recorded Y' for every differing key, walking into nested objects and lists."""
    if isinstance(claimed, dict) and isinstance(recorded, dict):
        return [d for key in sorted(set(claimed) | set(recorded), key=str)
                for d in _differences(claimed.get(key, _ABSENT), recorded.get(key, _ABSENT),
                                      f"{path}.{key}" if path else str(key))]
    if isinstance(claimed, list) and isinstance(recorded, list) and len(claimed) == len(recorded):
        return [d for i, (c, r) in enumerate(zip(claimed, recorded)) for d in _differences(c, r, f"{path}[{i}]")]
    if _json(claimed) == _json(recorded):
        return []
    return [f"{path}: claimed {_json(claimed)[:40]}, recorded {_json(recorded)[:40]}"]


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


def measured_runs(doc: dict[str, Any]) -> "tuple[bytes, ...]":
    """What the results measured, one canonical JSON per run (the queried keys for NAS, the support
    keys and predictions for predictors), sorted. Timings, notes or relabelled fields (seeds
    included: renumbered or permuted seed labels) do not make old runs new: equal tuples are the
    same runs, and an entry whose runs are all among another's is some of that entry's runs."""
    found = []
    for result in doc.get("results", []):
        runs = _measured_runs(result)
        found += [canonical_json(run) for run in (runs if isinstance(runs, list) else [runs])]
    return tuple(sorted(found))


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
        runs.append([run.get("holdout", result.get("task")), run.get("shots"), keys,
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
    problems = envelope_problems(doc) + config_problems(doc)
    if problems:
        raise SubmissionRejected(problems)
    return doc
