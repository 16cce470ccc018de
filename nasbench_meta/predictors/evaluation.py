"""Leave-one-task-out evaluation of predictors (the protocol of the predictor leaderboard).

For each held-out task: fit the predictor on every other complete task (``fit_seed``), then for
each K and seed draw K support architectures of the held-out task (``sample_support``), predict
the rest, and score the predictions against the held-out task's validation AND test scores.

The JSON result (``schema_version`` 1) is what a predictor leaderboard submission carries. Each run
stores its support keys, its metrics, the predicted top-100 keys and, losslessly for every metric
here, the dense ranks of its predictions over the query architectures (the task's keys in
ascending order, support removed) as zlib-compressed base64 uint16. ``rescore`` recomputes every
metric from that and a benchmark, so a verifier needs neither the predictor nor its training.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from tqdm.auto import tqdm

from nasbench_meta import __version__
from nasbench_meta.atomic import atomic_file
from nasbench_meta.benchmark import Benchmark
from nasbench_meta.predictors.api import sample_support, source_tasks_for
from nasbench_meta.predictors.base import complete_tasks
from nasbench_meta.predictors.metrics import METRICS, ranking_metrics, top_indices
from nasbench_meta.predictors.registry import get_predictor, predictor_class
from nasbench_meta.plugins import code_digest
from nasbench_meta.seeds import check_seed, check_seed_list
from nasbench_meta.significance import RankTest, rank_test

SCHEMA_VERSION = 1
KIND = "nasbench-meta predictor evaluation"
DEFAULT_SHOTS = (0, 10, 20, 50, 100)
EVAL_SPLITS = ("valid", "test")
TOP_KEYS = 100


def resolve_holdouts(bench: Benchmark, holdouts: "Sequence[str] | str") -> list[str]:
    """``["all"]`` means every complete task (proteins is evaluated separately, by name); one task
    name alone (``"cora"``, ``"all"``) is taken as a list of it."""
    if isinstance(holdouts, str):   # not the tasks 'c', 'o', 'r', 'a'
        holdouts = [holdouts]
    if list(holdouts) == ["all"]:
        return complete_tasks(bench)
    if "all" in holdouts:
        raise ValueError(f"'all' already means every complete task; give it alone, or name tasks without it "
                         f"(got {list(holdouts)})")
    for task in holdouts:
        bench.task_info(task)
    return list(dict.fromkeys(holdouts))


# -- prediction storage ---------------------------------------------------------------------------
def encode_ranks(pred: np.ndarray) -> str:
    """Dense ranks (ties kept) as base64 zlib uint16: every rank metric is unchanged by this."""
    dense = rankdata(pred, method="dense").astype(np.int64) - 1
    if dense.max(initial=0) >= 2 ** 16:
        raise ValueError("too many distinct predictions to store as uint16 ranks")
    return base64.b64encode(zlib.compress(dense.astype("<u2").tobytes(), 9)).decode()


def decode_ranks(text: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype="<u2").astype(np.float64)


def query_keys(bench: Benchmark, task: str, support_keys: Sequence[int]) -> np.ndarray:
    """Keys a run is scored on: the task's keys, ascending, without the support set."""
    keys = bench.task_keys(task)
    return keys[~np.isin(keys, np.asarray(support_keys, dtype=np.int64))]


def score_run(bench: Benchmark, task: str, support_keys: Sequence[int], pred: np.ndarray) -> dict[str, dict]:
    """Metrics of predictions over the query keys against validation and test scores."""
    rows = bench.rows(query_keys(bench, task, support_keys))
    out = {}
    for split in EVAL_SPLITS:
        scores = bench.scores(task, split=split, seeds="mean")
        out[split] = ranking_metrics(pred, scores[rows], best=float(np.nanmax(scores)))
    return out


# -- running --------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """The result of ``evaluate`` for one predictor: the JSON payload and its tidy table."""

    payload: dict[str, Any]
    table: pd.DataFrame = field(repr=False)


def _config_hash(cls: type, config: dict, bench: Benchmark, fit_seed: int) -> str:
    """What a cached held-out task was computed with: predictor (and a user class's code), options,
    benchmark, fit seed."""
    identity = [cls.name, cls.version, config, bench.name, fit_seed]
    digest = code_digest(cls)   # None for ours: caches written before it was recorded stay valid
    text = json.dumps(identity + ([digest] if digest else []), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _identity(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """What an evaluation records of its predictor: name, version, config, the smallest K it adapts
    from (the board checks skipped runs against it) and, for a class of the user's own, a digest of
    its source file (as search results record ``method.code``)."""
    found = {"name": cls.name, "version": cls.version, "config": config, "min_support": int(cls.min_support)}
    code = code_digest(cls)
    return {**found, "code": code} if code else found


def _run_holdout(name: str, config: dict, bench: Benchmark, task: str, shots: list[int], seeds: list[int],
                 fit_seed: int, store_predictions: bool, bar: "tqdm") -> dict[str, Any]:
    predictor = get_predictor(name, **config)
    sources = source_tasks_for(bench, task)
    predictor.fit(bench.hiding(task), sources, split="valid", seed=fit_seed)   # its results unreadable to fit
    valid = bench.scores(task, split="valid", seeds="mean")
    runs = []
    for k in shots:
        for seed in seeds:
            bar.set_postfix_str(f"{name} {task} K={k} seed={seed}")
            support = sample_support(bench, task, shots=k, seed=seed)
            run: dict[str, Any] = {"holdout": task, "shots": k, "seed": seed, "support_keys": support.tolist()}
            if k < predictor.min_support:
                run["skipped"] = f"{name} needs at least {predictor.min_support} support architectures"
            else:
                keys = query_keys(bench, task, support)
                pred = predictor.predict(keys, support_keys=support, support_scores=valid[bench.rows(support)])
                run["metrics"] = score_run(bench, task, support, pred)
                run["top_keys"] = keys[top_indices(pred, TOP_KEYS)].tolist()
                if store_predictions:
                    run["query_ranks"] = encode_ranks(pred)
            runs.append(run)
            bar.update(1)
    return {"source_tasks": sources, "fit_info": predictor.fit_info, "runs": runs}


def evaluate(bench: Benchmark, name: "str | type", *, holdouts: "Sequence[str] | str", shots: Sequence[int], seeds: Sequence[int],
             fit_seed: int, config: "dict[str, Any] | None" = None, cache_dir: "str | os.PathLike[str] | None" = None,
             store_predictions: bool = True, progress: bool = True) -> Evaluation:
    """Leave-one-task-out evaluation of one predictor.

    With ``cache_dir``, each finished held-out task is written there at once and reused by a
    rerun with the same predictor, config, benchmark and fit seed (an interrupted run resumes).
    ``name`` may also be a user's class (``file.py:Class``, or the class itself); results are filed
    under its ``name``.
    """
    cls = predictor_class(name)
    name = cls.name
    config = {**cls.defaults, **(config or {})}
    get_predictor(name, **config)  # unknown predictor / option: fail before any work
    holdouts = resolve_holdouts(bench, holdouts)
    shots, seeds = check_shots(bench, cls, holdouts, shots), check_seed_list(seeds)
    fit_seed = check_seed(fit_seed, "fit_seed")
    tag = _config_hash(cls, config, bench, fit_seed)
    per_task: dict[str, Any] = {}
    with tqdm(total=len(holdouts) * len(shots) * len(seeds), desc=f"evaluate {name}", disable=not progress) as bar:
        for task in holdouts:
            cached = _read_cache(cache_dir, name, tag, task, shots, seeds, store_predictions)
            if cached is None:
                cached = _run_holdout(name, config, bench, task, shots, seeds, fit_seed, store_predictions, bar)
                _write_cache(cache_dir, name, tag, task, shots, seeds, cached)
            else:
                bar.update(len(shots) * len(seeds))
            per_task[task] = cached
    payload = {
        "schema_version": SCHEMA_VERSION, "kind": KIND, "nasbench_meta_version": __version__,
        "predictor": _identity(predictor_class(name), config),
        "benchmark": {"name": bench.name, "space": bench.space.name,
                      "created_utc": bench.attrs.get("created_utc"), "num_architectures": int(len(bench.keys))},
        "protocol": {"fit_split": "valid", "support_split": "valid", "fit_seed": fit_seed,
                     "eval_splits": list(EVAL_SPLITS), "seeds_aggregation": "mean",
                     "query": "task keys ascending minus support keys", "top_keys": TOP_KEYS,
                     "query_ranks": "dense ranks of the predictions, uint16 little-endian, zlib, base64"},
        "holdouts": holdouts, "shots": shots, "seeds": seeds,
        "source_tasks": {t: per_task[t]["source_tasks"] for t in holdouts},
        "runs": [run for t in holdouts for run in per_task[t]["runs"]],
    }
    return Evaluation(payload, tidy_table(payload))


def check_shots(bench: Benchmark, cls: type, holdouts: Sequence[str], shots: Sequence[int]) -> list[int]:
    """The distinct K values, each a whole number that leaves every held-out task at least 2
    architectures to rank, and at least one the predictor can adapt from; checked before any fit."""
    if isinstance(shots, (int, np.integer, str)):
        raise ValueError(f"shots must be a list of K values such as [0, 10, 20], got {shots!r}")
    shots = list(shots)
    if not shots:
        raise ValueError("shots is empty; give K values such as [0, 10, 20]")
    out = []
    for k in shots:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"each K (shots) must be a whole number, got {k!r}")
        most = min(len(bench.task_keys(t)) for t in holdouts) - 2
        if not 0 <= k <= most:
            raise ValueError(f"K = {k} is not possible: K must be from 0 to {most}, which leaves at least 2 "
                             f"architectures of each held-out task to predict")
        if int(k) not in out:
            out.append(int(k))
    if all(k < cls.min_support for k in out):
        raise ValueError(f"{cls.name} needs at least {cls.min_support} support architectures and every K given "
                         f"({', '.join(map(str, out))}) is below that; add e.g. --shots {max(cls.min_support, 20)}")
    return out


def _cache_file(cache_dir, name: str, tag: str, task: str) -> "Path | None":
    return None if cache_dir is None else Path(cache_dir) / f"{name}-{tag}-{task}.json"


def _read_cache(cache_dir, name, tag, task, shots, seeds, store_predictions: bool) -> "dict | None":
    path = _cache_file(cache_dir, name, tag, task)
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if (data["shots"], data["seeds"]) != (shots, seeds):
            return None
        result, scored = data["result"], [r for r in data["result"]["runs"] if "metrics" in r]
        if not store_predictions:
            for run in scored:
                run.pop("query_ranks", None)
        elif not all("query_ranks" in r for r in scored):
            return None   # cached by a --no-predictions run: these results could not be re-scored
        return result
    except (ValueError, KeyError, TypeError) as exc:  # damaged from outside (writes are atomic): redo it
        warnings.warn(f"ignoring the unreadable cache file {path} ({type(exc).__name__}); "
                      f"{task} is evaluated again and the file rewritten", stacklevel=2)
        return None


def _write_cache(cache_dir, name, tag, task, shots, seeds, result) -> None:
    path = _cache_file(cache_dir, name, tag, task)
    if path is not None:
        write_json_atomic(path, {"shots": shots, "seeds": seeds, "result": result})


def write_json_atomic(path: "str | os.PathLike[str]", payload: Any) -> Path:
    path = Path(path)
    with atomic_file(path, "w") as f:
        json.dump(payload, f)
    return path


# -- tables ---------------------------------------------------------------------------------------
def tidy_table(payload: dict[str, Any]) -> pd.DataFrame:
    """One row per (predictor, holdout, shots, seed, split, metric)."""
    name = payload["predictor"]["name"]
    rows = [{"predictor": name, "holdout": run["holdout"], "shots": run["shots"], "seed": run["seed"],
             "split": split, "metric": metric, "value": value}
            for run in payload["runs"] if "metrics" in run
            for split, values in run["metrics"].items() for metric, value in values.items()]
    return pd.DataFrame(rows, columns=["predictor", "holdout", "shots", "seed", "split", "metric", "value"])


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over held-out tasks per seed, then mean and std over seeds.

    Index (predictor, shots, split), columns (metric, mean|std); ``n_tasks`` counts held-out tasks.
    """
    per_seed = table.groupby(["predictor", "shots", "split", "metric", "seed"])["value"].mean()
    stats = per_seed.groupby(["predictor", "shots", "split", "metric"]).agg(["mean", "std"])
    wide = stats.unstack("metric").swaplevel(0, 1, axis=1)
    return wide[[m for m in METRICS if m in wide.columns.get_level_values(0)]]


def per_task_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (predictor, holdout, shots, split, metric)."""
    return (table.groupby(["predictor", "holdout", "shots", "split", "metric"])["value"]
            .agg(["mean", "std", "count"]).reset_index())


def markdown_table(table: pd.DataFrame, *, split: str = "valid") -> str:
    """Mean +- std over seeds of the mean over held-out tasks, one row per (predictor, K)."""
    table = table[table["split"] == split]
    summ = summary(table)
    n_tasks = table.groupby("predictor")["holdout"].nunique()
    lines = ["| predictor | tasks | K | " + " | ".join(METRICS) + " |", "|---|---:|---:|" + "---:|" * len(METRICS)]
    for (predictor, shots, _), row in summ.iterrows():
        cells = []
        for metric in METRICS:
            mean, std = row.get((metric, "mean"), np.nan), row.get((metric, "std"), np.nan)
            cells.append("" if np.isnan(mean) else f"{mean:.3f} ± {0.0 if np.isnan(std) else std:.3f}")
        lines.append(f"| {predictor} | {n_tasks[predictor]} | {shots} | " + " | ".join(cells) + " |")
    tasks = sorted(table["holdout"].unique())
    seeds = sorted(int(s) for s in table["seed"].unique())
    lines.append(f"\n{split} scores; mean over each predictor's held-out tasks (of {', '.join(tasks)}); ± std over seeds "
                 f"{seeds}. Regrets in the task's metric (accuracy, 0-1).")
    tests = spearman_rank_tests(table, split=split)
    if tests:
        lines += ["", "Significance of the predictors' Spearman ranks over held-out tasks (Demšar 2006):", "",
                  *(f"- K = {k}: {test.describe()}" for k, test in tests.items())]
    return "\n".join(lines)


def spearman_rank_tests(table: pd.DataFrame, *, split: str = "valid") -> dict[int, RankTest]:
    """Per K: Friedman test and Nemenyi critical difference of the predictors ranked by Spearman
    (seed mean) on each held-out task; predictors without a score on every task at that K are left
    out, and a K with fewer than 3 predictors or 2 tasks is not tested."""
    spearman = table[(table["split"] == split) & (table["metric"] == "spearman")]
    per_task = spearman.groupby(["shots", "holdout", "predictor"])["value"].mean().unstack("predictor")
    tests = {}
    for k, frame in per_task.groupby(level="shots"):
        frame = frame.dropna(axis=1)
        if frame.shape[1] >= 3 and frame.shape[0] >= 2:
            tests[int(k)] = rank_test(-frame.to_numpy(), [str(c) for c in frame.columns])
    return tests


def plot(table: pd.DataFrame, path: "str | os.PathLike[str]", *, split: str = "valid") -> Path:
    """Each metric against K, one line per predictor (mean over tasks, error bars: std over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summ = summary(table[table["split"] == split]).reset_index()
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    for ax, metric in zip(axes.flat, METRICS):
        for predictor, group in summ.groupby("predictor", sort=False):
            group = group.sort_values("shots")
            ax.errorbar(group["shots"], group[(metric, "mean")], yerr=group[(metric, "std")].fillna(0),
                        marker="o", capsize=3, label=predictor)
        ax.set_title(metric)
        ax.set_xlabel("K (support architectures of the held-out task)")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"Leave-one-task-out, {split} scores, mean over held-out tasks")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(evaluations: Sequence[Evaluation], out_dir: "str | os.PathLike[str]", stem: str) -> dict[str, Path]:
    """``stem``.csv (tidy, all predictors), ``stem``.md, ``stem``.png and one ``stem``-NAME.json each."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = pd.concat([e.table for e in evaluations], ignore_index=True)
    paths = {"csv": out_dir / f"{stem}.csv", "md": out_dir / f"{stem}.md", "png": out_dir / f"{stem}.png"}
    table.to_csv(paths["csv"], index=False)
    paths["md"].write_text("\n\n".join(f"### {s} scores\n\n{markdown_table(table, split=s)}" for s in EVAL_SPLITS) + "\n")
    plot(table, paths["png"])
    for e in evaluations:
        name = e.payload["predictor"]["name"]
        paths[f"json:{name}"] = write_json_atomic(out_dir / f"{stem}-{name}.json", e.payload)
    return paths


# -- verification ---------------------------------------------------------------------------------
def rescore(payload: dict[str, Any], bench: Benchmark, *, atol: float = 1e-9) -> list[str]:
    """Recompute every run's metrics from its stored ranks; return the mismatches (empty = verified)."""
    if payload.get("schema_version") != SCHEMA_VERSION or payload.get("kind") != KIND:
        raise ValueError(f"not a schema-{SCHEMA_VERSION} predictor evaluation")
    if payload["benchmark"]["name"] != bench.name:
        raise ValueError(f"evaluation is on {payload['benchmark']['name']}, benchmark given is {bench.name}")
    problems = []
    for run in payload["runs"]:
        if "metrics" not in run:
            continue
        where = f"{run['holdout']} K={run['shots']} seed={run['seed']}"
        expected = sample_support(bench, run["holdout"], shots=run["shots"], seed=run["seed"]).tolist()
        if run["support_keys"] != expected:
            problems.append(f"{where}: support keys differ from the seeded draw")
        if "query_ranks" not in run:
            problems.append(f"{where}: no stored predictions to re-score (evaluated with --no-predictions? evaluate "
                            "again without it)")
            continue
        ranks = decode_ranks(run["query_ranks"])
        keys = query_keys(bench, run["holdout"], run["support_keys"])
        if len(ranks) != len(keys):
            problems.append(f"{where}: {len(ranks)} stored predictions for {len(keys)} query architectures")
            continue
        for split, values in score_run(bench, run["holdout"], run["support_keys"], ranks).items():
            for metric, value in values.items():
                if abs(value - run["metrics"][split][metric]) > atol:
                    problems.append(f"{where} {split} {metric}: stored {run['metrics'][split][metric]}, re-scored {value}")
    return problems
