"""The ask/tell interface every NAS method implements.

A method proposes architectures (``ask``) and learns from validation results
(``tell``). It is handed a :class:`SearchProblem` (the space and the keys the task
covers, nothing measured) and a seeded ``numpy.random.Generator``; it never sees the
benchmark, the oracle or any test score. A complete method in a few lines::

    class GreedyMutation(Method):
        name = "greedy-mutation"

        def ask(self, n):
            if self.scores:  # mutations of the best not yet tried; random ones once there are none
                children = {self.problem.mutate(self.best(), self.rng) for _ in range(4 * n)} - set(self.scores)
                if children:
                    return sorted(children)[:n]
            return self.problem.sample(self.rng, n, exclude=self.scores).tolist()
"""
from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

import numpy as np

from nasbench_meta.oracle import Observation
from nasbench_meta.plugins import code_digest
from nasbench_meta.spaces import SearchSpace

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark

__all__ = ["Method", "Observation", "SearchProblem"]


@dataclass(frozen=True, eq=False)
class SearchProblem:
    """What a method may know before searching: the space, the candidate keys, the budget."""

    space: SearchSpace
    task: str
    candidates: np.ndarray  # sorted canonical keys the task covers (read-only)
    budget: int             # distinct architectures the method may query
    metric: str             # what the validation score measures (higher is better)
    covers_space: bool = False  # True: every key of the space is a candidate (no filtering needed)

    def __post_init__(self) -> None:
        candidates = np.array(self.candidates, dtype=np.int64)
        candidates.setflags(write=False)
        object.__setattr__(self, "candidates", candidates)

    @cached_property
    def _candidate_set(self) -> "frozenset[int]":
        return frozenset(self.candidates.tolist())  # built on first use: most methods never need it

    def __contains__(self, key: object) -> bool:
        return key in self._candidate_set

    def neighbours(self, key: int) -> np.ndarray:
        """Candidate keys at edit distance one (restricted to what the task covers)."""
        found = _space_neighbours(self.space, int(key))
        if self.covers_space:
            return found
        return found[[int(k) in self._candidate_set for k in found]] if len(found) else found

    def mutate(self, key: int, rng: np.random.Generator) -> int:
        """A uniformly chosen candidate neighbour of ``key``."""
        found = self.neighbours(key)
        if len(found) == 0:  # only possible on a task covering a sliver of the space
            return int(rng.choice(self.candidates))
        return int(rng.choice(found))

    def sample(self, rng: np.random.Generator, n: int, exclude: "Any" = ()) -> np.ndarray:
        """``n`` distinct candidate keys drawn uniformly, none of them in ``exclude``."""
        exclude = set(int(k) for k in exclude)
        if len(exclude) + n > len(self.candidates):
            raise ValueError(f"cannot draw {n} new architectures: {self.task} has "
                             f"{len(self.candidates)} and {len(exclude)} are excluded")
        if len(exclude) < len(self.candidates) // 2:  # cheap rejection sampling
            out: list[int] = []
            while len(out) < n:
                for k in rng.choice(self.candidates, size=2 * (n - len(out)) + 4).tolist():
                    if k not in exclude and len(out) < n:
                        exclude.add(k)
                        out.append(k)
            return np.array(out, dtype=np.int64)
        pool = np.array([k for k in self.candidates.tolist() if k not in exclude], dtype=np.int64)
        return rng.choice(pool, size=n, replace=False)


@lru_cache(maxsize=100_000)
def _space_neighbours(space: SearchSpace, key: int) -> np.ndarray:
    # Evolution and local search ask for the same parents' neighbourhoods over and over.
    found = space.neighbours(key)
    found.setflags(write=False)
    return found


class Method(ABC):
    """Base class of NAS methods: subclasses implement ``ask`` and usually extend ``tell``.

    Attributes set by ``setup``: ``problem``, ``rng``, ``history`` (every Observation told,
    in order) and ``scores`` (key -> revealed validation score of each distinct
    architecture). Options are keyword arguments declared in ``defaults``; those naming files on
    this machine go in ``local_files`` (results record their file name only).

    Draw random numbers from ``self.rng`` (for methods of your own the runner seeds numpy's and
    Python's global streams per run as well, so a slip still repeats itself). Keep per-run state on the instance, set in
    ``start``: class attributes are shared by every seed run in one process, and a seed's results
    would then depend on the seeds run before it.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    defaults: ClassVar[dict[str, Any]] = {}
    # options naming files on this machine: results record their file name only, so a results
    # file says nothing about one machine's directories and resumes from another home
    local_files: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **config: Any) -> None:
        unknown = sorted(set(config) - set(self.defaults))
        if unknown:
            raise TypeError(f"method {self.name or type(self).__name__} has no option(s) {unknown}; "
                            f"options: {sorted(self.defaults) or 'none'}")
        self.config: dict[str, Any] = {**self.defaults, **config}

    def setup(self, problem: SearchProblem, rng: np.random.Generator) -> None:
        """Called once by the runner before the first ``ask``; subclasses extend ``start``."""
        self.problem, self.rng = problem, rng
        self.history: list[Observation] = []
        self.scores: dict[int, float] = {}
        self.pending: list[int] = []  # see serve_planned
        self.start()

    def start(self) -> None:
        """Hook: initialise per-run state (``problem`` and ``rng`` are set)."""

    @abstractmethod
    def ask(self, n: int) -> Sequence[Any]:
        """Propose at most ``n`` architectures (keys, Architecture objects or strings)."""

    def tell(self, observations: Sequence[Observation]) -> None:
        """Receive the validation results of the last proposals (in proposal order)."""
        for obs in observations:
            self.history.append(obs)
            self.scores[obs.key] = obs.valid_score

    def serve_planned(self, n: int, plan: "Callable[[], list[int]]") -> list[int]:
        """Hand out proposals planned a batch at a time (one model update per batch) over as
        many asks as the runner makes; ``self.pending`` may be seeded in ``start``."""
        pending = [k for k in self.pending if k not in self.scores]
        if not pending:
            pending = plan()
        out, self.pending = pending[:n], pending[n:]
        return out

    def best(self) -> int:
        """Key of the best architecture seen so far (first found among ties)."""
        best_key, best_score = -1, -np.inf
        for key, score in self.scores.items():
            if score > best_score:
                best_key, best_score = key, score
        return best_key

    @classmethod
    def prepare(cls, bench: "Benchmark", task: str, config: dict[str, Any], *, cache_dir: "Any") -> dict[str, Any]:
        """Hook run once per (method, task) outside any search, before the seeds start.

        Offline preparation that may read the benchmark's *other* tasks (meta-training)
        goes here; it returns config entries to add (recorded in the results). ``bench`` hides
        the target ``task``'s results (``Benchmark.hiding``: reading them raises
        ``HiddenTaskError``). The default does nothing.
        """
        return {}

    def metadata(self, spec: str) -> dict[str, Any]:
        """What results record of the method; a user's class adds a digest of its source file
        (``code``), so that seeds run with other code are never resumed into the same results."""
        name = self.name or type(self).__name__
        meta = {"name": name, "version": str(self.version), "spec": portable_spec(spec),
                "config": json_config(portable_config(self.config, self.local_files), name)}
        code = code_digest(type(self))
        return {**meta, "code": code} if code else meta


def portable_spec(spec: str) -> str:
    """``spec`` as results record it: a method from a file by the file's name (``my_method.py:MyMethod``),
    so results carry no local directories; a module spec or a built-in name as it is."""
    where, sep, name = spec.rpartition(":")
    if sep and (where.endswith(".py") or "/" in where or os.sep in where):
        return f"{Path(where).name}:{name}"
    return spec


def json_config(config: dict[str, Any], name: str) -> dict[str, Any]:
    """``config`` as a results file holds it (a tuple as a list, numpy numbers as numbers), so that a
    resumed run's configuration compares equal to the stored one; a clear error, before any seed
    runs, for a value JSON cannot hold."""
    def plain(value: Any) -> Any:
        if isinstance(value, (np.generic, np.ndarray)):
            return value.tolist()
        raise TypeError(f"option value {value!r} ({type(value).__name__}) is not JSON data")

    try:   # NaN too: it never equals itself, so results holding it would never resume
        return json.loads(json.dumps(config, default=plain, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}'s options must be JSON data (finite numbers, strings, booleans, None, lists, "
                         f"dicts with string keys) for results to record them: {exc}") from None


def portable_config(config: dict[str, Any], local_files: Sequence[str]) -> dict[str, Any]:
    """``config`` as results record it: options naming local files reduced to the file's name."""
    return {key: Path(value).name if key in local_files and isinstance(value, (str, os.PathLike)) and value
            else value for key, value in config.items()}
