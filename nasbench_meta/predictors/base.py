"""The predictor interface shared by single-task baselines and meta-trained predictors.

A predictor is fitted on *source tasks* of a benchmark (meta-predictors learn from them;
single-task baselines only record the space), then adapted to a *target task* at prediction
time from ``K`` measured support architectures::

    p = get_predictor("xgb-meta")
    p.fit(bench, ["citeseer", "pubmed"], split="valid", seed=0)
    scores = p.predict(keys, support_keys=measured, support_scores=their_valid_scores)

Predictions are "higher is better" scores aligned with ``keys``. Only their order is meant to be
compared. ``scale`` says what the numbers are: ``"score"`` (the target's own accuracy scale,
learnt from the support set) or ``"rank"`` (the sources' rank scale, 0 = worst to 1 = best;
regressors can overshoot it slightly), used by predictors that must work at K = 0, where the
target's scale is unknown.
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from nasbench_meta.atomic import atomic_file
from nasbench_meta.benchmark import Benchmark
from nasbench_meta.plugins import class_spec
from nasbench_meta.predictors.options import OptionValueError, Rule, rule_for_default
from nasbench_meta.seeds import check_seed
from nasbench_meta.spaces import SearchSpace, UnknownArchitectureError, get_space
from nasbench_meta.spaces.base import as_keys

FILE_FORMAT = "nasbench-meta predictor"
FILE_VERSION = 1
SPLITS = ("valid", "test")


class NotFittedError(RuntimeError):
    """``predict``/``save`` called before ``fit``."""


class UnknownOptionError(TypeError, ValueError):
    """A predictor option that the predictor does not have (a TypeError, like any unknown keyword)."""


class UnsupportedTaskError(ValueError):
    """A task (or its space) that a predictor cannot be fitted on or asked about."""


def check_name(cls: "type[Predictor]") -> str:
    """The class's ``name``; a clear error for a subclass that does not set one."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} has no name: set a class attribute name = \"...\" (a non-empty string, "
                        "the name its results and saved files are filed under)")
    if re.search(r"[/\\\x00]", name) or name.startswith("."):   # "my/pred" wrote into subfolders, "../x" outside
        raise TypeError(f"{cls.__name__}.name {name!r} names its result files: no / or \\, and no leading dot, "
                        "e.g. \"my-predictor\"")
    return name


def check_declaration(cls: "type[Predictor]") -> str:
    """``check_name``, and the class attributes a predictor declares (``scale``, ``kind``,
    ``min_support``) are values the toolkit reads; a clear error otherwise. Returns the name."""
    name = check_name(cls)
    if cls.scale not in ("score", "rank"):
        raise TypeError(f"{cls.__name__}.scale must be \"score\" (the target's own scores) or \"rank\" (0-1 ranks), "
                        f"got {cls.scale!r}")
    if cls.kind not in ("", "single-task", "transfer", "meta-trained"):
        raise TypeError(f"{cls.__name__}.kind must be \"single-task\", \"transfer\" or \"meta-trained\" (or left out), "
                        f"got {cls.kind!r}")
    if isinstance(cls.min_support, bool) or not isinstance(cls.min_support, int) or cls.min_support < 0:
        raise TypeError(f"{cls.__name__}.min_support must be a whole number of support architectures >= 0, "
                        f"got {cls.min_support!r}")
    return name


def kind_of(cls: "type[Predictor]") -> str:
    """What a listing calls the predictor: its ``kind``, else meta-trained when it reads the
    source tasks and single-task otherwise (a user's predictor need not say)."""
    return cls.kind or ("meta-trained" if cls.meta else "single-task")


class Predictor(ABC):
    """Base class: config handling, input checks, fit bookkeeping and versioned save/load."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    meta: ClassVar[bool] = False          # reads the source tasks (meta-trained or transfer)?
    kind: ClassVar[str] = ""              # "single-task" | "transfer" | "meta-trained"; see kind_of
    scale: ClassVar[str] = "score"        # "score" (the target's) or "rank" (0-1 source ranks)
    min_support: ClassVar[int] = 0        # smallest K the predictor can adapt from
    defaults: ClassVar[dict[str, Any]] = {}
    # option -> Rule its values must follow; an option without one gets the check its default's
    # type implies (rule_for_default: an int default takes whole numbers, a float any finite number...)
    option_rules: ClassVar[dict[str, Rule]] = {}

    def __init__(self, **config: Any) -> None:
        check_declaration(type(self))
        unknown = sorted(set(config) - set(self.defaults))
        if unknown:
            raise UnknownOptionError(f"{self.name} has no option(s) {unknown}; options: {sorted(self.defaults)}")
        self.config: dict[str, Any] = self.check_options({**self.defaults, **config})
        try:   # saved with the predictor as JSON: fail now, not in save() after a long fit
            json.dumps(self.config)
        except (TypeError, ValueError) as exc:
            raise OptionValueError(f"{self.name} options must be JSON data (numbers, strings, booleans, None, "
                                   f"lists, dicts), which a saved predictor records: {exc}") from None
        self.fit_info: "dict[str, Any] | None" = None
        self._keys: "np.ndarray | None" = None
        self._space: "SearchSpace | None" = None

    @classmethod
    def check_options(cls, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` with each value checked by its ``option_rules`` rule (else the one its default
        implies): a bad value fails here, naming predictor, option, value and what is allowed."""
        checked = {}
        for option, value in config.items():
            rule = cls.option_rules.get(option) or rule_for_default(cls.defaults.get(option))
            checked[option] = value if rule is None else rule.check(value, f"{cls.name} option {option}")
        return checked

    def __repr__(self) -> str:
        state = "unfitted" if self.fit_info is None else f"fitted on {self.fit_info['source_tasks']}"
        return f"{type(self).__name__}({self.config}, {state})"

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, bench: Benchmark, source_tasks: Sequence[str], *, split: str, seed: int) -> "Predictor":
        """Meta-train on ``source_tasks`` (single-task baselines only record the space)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        seed = check_seed(seed)
        if isinstance(source_tasks, str):   # list("cora") would be the tasks c, o, r, a
            raise TypeError(f"source_tasks must be a list of task names, e.g. [{source_tasks!r}], got the string "
                            f"{source_tasks!r}")
        source_tasks = list(source_tasks)
        for task in source_tasks:
            bench.task_info(task)  # unknown task -> clear error listing the valid ones
        if self.meta:
            self._check_sources(bench, source_tasks)
        self._space, self._keys = bench.space, np.array(bench.keys, dtype=np.int64)
        self._fit(bench, source_tasks, split=split, seed=seed)
        self.fit_info = {"benchmark": bench.name, "space": bench.space.name, "source_tasks": source_tasks,
                         "split": split, "seed": seed, "num_architectures": int(len(self._keys))}
        return self

    def _check_sources(self, bench: Benchmark, tasks: list[str]) -> None:
        if len(tasks) < 2:
            raise ValueError(f"{self.name} ({kind_of(type(self))}) learns from its source tasks: give at least 2 "
                             f"source tasks, got {tasks}")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"source tasks repeat: {tasks}")
        for task in tasks:
            covered = len(bench.task_keys(task))
            if covered != len(bench.keys):
                raise UnsupportedTaskError(
                    f"{self.name} needs source tasks that cover the whole space; {task} covers {covered} of "
                    f"{len(bench.keys)} architectures. Use it as a target task (predict_task) instead, "
                    f"or choose source tasks from: {', '.join(complete_tasks(bench))}")

    def _fit(self, bench: Benchmark, tasks: list[str], *, split: str, seed: int) -> None:
        """Learn from the source tasks (nothing, by default: a predictor that only uses K)."""

    def _check_episode_sizes(self, option: str, architectures: int, queries: int = 0) -> None:
        """A clear error before any fitting for support sizes (option ``option``) that episodes on a
        source task of ``architectures`` cannot draw beside ``queries`` query architectures (numpy's
        "larger sample than population" came mid-fit otherwise)."""
        too_big = [k for k in self.config[option] if k + queries >= architectures]
        if too_big:
            beside = f" beside {queries} queries" if queries else ""
            raise OptionValueError(f"{self.name} option {option} holds {too_big}: a source task has "
                                   f"{architectures} architectures, so support sets{beside} must be smaller")

    # -- predicting ---------------------------------------------------------------------------
    def predict(self, keys: "Sequence[int] | np.ndarray", *, support_keys: "Sequence[int] | np.ndarray",
                support_scores: "Sequence[float] | np.ndarray") -> np.ndarray:
        """Scores (higher is better) for ``keys``, adapted from the measured support set."""
        rows, support_rows, support_scores = self._checked(keys, support_keys, support_scores)
        if len(rows) == 0:
            return np.zeros(0)
        return self._checked_output(self._predict(rows, support_rows, support_scores), len(rows))

    def _checked_output(self, scores: Any, n: int) -> np.ndarray:
        """What ``_predict`` returned, as (n,) float64; a subclass's wrong shape or NaN fails here, by name."""
        where = f"{type(self).__name__}._predict ({self.name})"
        try:
            given = np.asarray(scores)
            if given.dtype.kind not in "iuf":   # "0.5" strings and booleans converted silently otherwise
                raise TypeError
            scores = given.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{where} returned {type(scores).__name__}"
                             f"{f' of {given.dtype}' if isinstance(scores, (list, tuple, np.ndarray)) else ''}, "
                             "not numbers: return one score per row of `rows`") from None
        if scores.shape != (n,):
            raise ValueError(f"{where} returned shape {scores.shape} for {n} rows: return one score per row "
                             "of `rows`, in the same order, as a 1-d array")
        if not np.isfinite(scores).all():
            raise ValueError(f"{where} returned {int((~np.isfinite(scores)).sum())} NaN or infinite score(s) "
                             f"of {n}: return a finite score for every row")
        return scores

    def _checked(self, keys: Any, support_keys: Any, support_scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, support rows, support scores) after every check ``predict`` promises."""
        if self.fit_info is None:
            raise NotFittedError(f"{self.name} is not fitted: call fit(bench, source_tasks, split=..., seed=...) first")
        rows = self._rows(keys, "keys")
        support_rows = self._rows(support_keys, "support_keys")
        support_scores = np.array(support_scores, dtype=np.float64).reshape(-1)   # a copy: _predict may write
        if len(support_scores) != len(support_rows):
            raise ValueError(f"got {len(support_rows)} support keys but {len(support_scores)} support scores")
        if not np.isfinite(support_scores).all():
            raise ValueError("support_scores contain NaN or infinity; pass only measured architectures")
        if len(np.unique(support_rows)) != len(support_rows):
            raise ValueError("support_keys repeat an architecture; pass each measured architecture once")
        if len(support_rows) < self.min_support:
            raise ValueError(
                f"{self.name} fits a model to the target's measured support architectures and needs at least "
                f"{self.min_support} of them, got {len(support_rows)}; with K = {len(support_rows)}, use a predictor "
                f"that needs at most that many ({', '.join(_names_from(len(support_rows)))})")
        return rows, support_rows, support_scores

    def _rows(self, keys: Any, what: str) -> np.ndarray:
        keys = as_keys(keys, what)
        rows = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        bad = self._keys[rows] != keys
        if bad.any():
            raise UnknownArchitectureError(
                f"{int(bad.sum())} of the {what} are not canonical keys of the {self.fit_info['space']} space "
                f"this predictor was fitted on (e.g. {keys[bad][:5].tolist()}); canonicalise with space.key(...)")
        return rows

    @abstractmethod
    def _predict(self, rows: np.ndarray, support_rows: np.ndarray, support_scores: np.ndarray) -> np.ndarray: ...

    # -- persistence --------------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        """Arrays that, with config and fit_info, restore the fitted predictor exactly."""
        return {}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``_state`` saved."""

    def save(self, path: "str | os.PathLike[str]") -> Path:
        """Write the fitted predictor to one ``.npz`` file (atomically; no pickles)."""
        if self.fit_info is None:
            raise NotFittedError(f"{self.name} is not fitted: nothing to save")
        header = {"format": FILE_FORMAT, "file_version": FILE_VERSION, "predictor": self.name,
                  "class": class_spec(type(self)),  # how to load a user's own predictor again
                  "predictor_version": self.version, "config": self.config, "fit_info": self.fit_info}
        arrays = {f"state/{k}": _state_array(type(self), k, v) for k, v in self._state().items()}
        arrays["keys"] = self._keys
        arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
        path = Path(path).expanduser()
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; save the predictor to a file path such as {path / 'predictor.npz'}")
        with atomic_file(path, "wb") as f:  # a crash mid-write never leaves a half-written predictor
            np.savez_compressed(f, **arrays)
        return path


def _state_array(cls: type, key: str, value: Any) -> np.ndarray:
    """One ``_state`` entry as the array the file stores; the file holds no pickles, so an object
    (a dict, a function) is refused here, by name, rather than saved in a file no load can read."""
    array = np.asarray(value)
    if array.dtype.kind == "O":
        raise ValueError(f"{cls.__name__}._state()[{key!r}] is {type(value).__name__}, which a predictor file "
                         "cannot hold: return numeric or string arrays (one entry per array), and keep other "
                         "settings in config")
    return array


def load_predictor(path: "str | os.PathLike[str]") -> Predictor:
    """Load a predictor written by ``Predictor.save``; it predicts exactly as before saving."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no predictor file at {path}; create one with `nasbench-meta predictors train`")
    header, arrays = _read_predictor_file(path)
    if header["file_version"] != FILE_VERSION:
        raise ValueError(f"{path} has predictor file version {header['file_version']}; this nasbench-meta "
                         f"reads version {FILE_VERSION}: {_RETRAIN}")
    cls = _saved_class(path, header)
    if header["predictor_version"] != cls.version:
        raise ValueError(f"{path} holds {cls.name} version {header['predictor_version']}, this nasbench-meta "
                         f"has version {cls.version}: {_RETRAIN}")
    try:
        predictor = cls(**header["config"])
        predictor.fit_info = header["fit_info"]
        predictor._keys = arrays["keys"]
        predictor._space = get_space(header["fit_info"]["space"])
        predictor._load_state({k[len("state/"):]: v for k, v in arrays.items() if k.startswith("state/")})
    except (UnknownOptionError, OptionValueError) as exc:  # a config this version refuses (hand-edited?)
        raise ValueError(f"{path} holds a {cls.name} config that cannot be used ({exc}): {_RETRAIN}") from None
    except (KeyError, TypeError, ValueError) as exc:  # a damaged or hand-edited file
        raise ValueError(f"{path} is a damaged predictor file ({_first_line(exc)}): {_RETRAIN}") from None
    return predictor


def _saved_class(path: Path, header: dict) -> type[Predictor]:
    """The class a file was saved from: a built-in by name, a user's own by the spec it recorded."""
    from nasbench_meta.predictors.registry import available_predictors, predictor_class

    name, spec = header["predictor"], header.get("class")
    if name in available_predictors() or not spec:
        return predictor_class(name)
    try:
        cls = predictor_class(spec)
    except LookupError as exc:
        raise LookupError(f"{path} holds the predictor {name!r} of {spec}, which cannot be loaded here ({exc}); "
                          "make that file or module available at the same place") from None
    if cls.name != name:
        raise LookupError(f"{path} holds the predictor {name!r}, but {spec} is now named {cls.name!r}")
    return cls


_RETRAIN = "retrain it with `nasbench-meta predictors train`"
_HEADER_FIELDS = ("file_version", "predictor", "predictor_version", "config", "fit_info")


def _read_predictor_file(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a predictor file; a clear ValueError for anything else."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            arrays = {k: data[k] for k in data.files}
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a readable nasbench-meta predictor file ({type(exc).__name__}); "
                         f"if it was one, it is truncated or damaged: {_RETRAIN}") from None
    if not isinstance(header, dict) or header.get("format") != FILE_FORMAT:
        raise ValueError(f"{path} is not a nasbench-meta predictor file")
    missing = [f for f in _HEADER_FIELDS if f not in header]
    if missing:
        raise ValueError(f"{path} is a damaged predictor file (header lacks {missing}): {_RETRAIN}")
    return header, arrays


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def complete_tasks(bench: Benchmark) -> list[str]:
    """Tasks whose table covers every architecture of the space (the meta-learning pool)."""
    return [t for t in bench.tasks if len(bench.task_keys(t)) == len(bench.keys)]


def _names_from(shots: int) -> list[str]:
    """Registered predictors that adapt from ``shots`` support architectures."""
    from nasbench_meta.predictors.registry import PREDICTORS

    return [n for n, cls in PREDICTORS.items() if cls.min_support <= shots]
