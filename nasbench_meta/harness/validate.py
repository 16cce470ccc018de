"""Prediction vs table vs measurement: train architectures for real and compare.

``compare_with_table`` trains given keys and sets the measurement beside the benchmark's table;
``validate_predictions`` does it for a predictor's top-k; ``demo_train_best`` is the demo stage.
Predictions are of the validation score (what a search optimises), so the predictor is judged
against the measured validation accuracy; the table against both validation and test.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from nasbench_meta.benchmark import Benchmark, MissingResultError
from nasbench_meta.harness.executors import Executor, Job, run_jobs
from nasbench_meta.harness.protocol import get_protocol
from nasbench_meta.harness.runs import RunsStore
from nasbench_meta.harness.train import SeedRun
from nasbench_meta.predictors.api import learnt_from, unmeasured
from nasbench_meta.seeds import check_seed_list
from nasbench_meta.spaces import UnknownArchitectureError


def measured(runs: "pd.DataFrame | Sequence[SeedRun]", task: str, keys: Sequence[int],
             seeds: Sequence[int], epochs: int, precision: str = "float32") -> pd.DataFrame:
    """Mean and std over ``seeds`` of each key's measured accuracies (index: key), and how
    many of those seeds blew up (``diverged``). Runs of another ``precision`` are left out (a
    table without that column holds float32 runs)."""
    df = runs if isinstance(runs, pd.DataFrame) else pd.DataFrame([r.summary() for r in runs])
    if df.empty:
        df = pd.DataFrame(columns=["key", "task", "seed", "epochs", "valid_acc", "test_acc",
                                   "diverged_epoch"])
    same = df.precision == precision if "precision" in df else pd.Series(precision == "float32", df.index)
    sel = df[(df.task == task) & df.key.isin(list(keys)) & df.seed.isin(list(seeds))
             & (df.epochs == epochs) & same].drop_duplicates(["key", "seed"])
    sel = sel.assign(diverged=sel.diverged_epoch >= 0)   # -1: never blew up
    if "device" not in sel:
        sel = sel.assign(device="")
    agg = sel.groupby("key").agg(
        measured_valid=("valid_acc", "mean"), measured_valid_std=("valid_acc", "std"),
        measured_test=("test_acc", "mean"), measured_test_std=("test_acc", "std"),
        seeds=("seed", "count"), diverged=("diverged", "sum"),
        device=("device", lambda d: ",".join(sorted(set(d)))))
    return agg.reindex(pd.Index(list(keys), name="key"))


def _mae_points(a: pd.Series, b: pd.Series, how: str = "mean") -> float:
    """Mean (or ``how="median"``) absolute difference in accuracy points (NaN when nothing is measured)."""
    return 100 * float((a - b).abs().agg(how))


MIN_RANKED = 3


def _spearman(a: pd.Series, b: pd.Series) -> float:
    ok = a.notna() & b.notna()
    if ok.sum() < MIN_RANKED:  # two points always correlate +-1: no evidence of agreement
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def table_keys(bench: Benchmark, task: str, archs: Sequence[Any]) -> list[int]:
    """The table keys of ``archs`` (keys, ``"links|ops"`` strings, any isomorphic form), all of
    them checked at once: a bad one found after hours of training would lose the whole summary."""
    archs = list(archs)
    if not archs:
        raise ValueError("no architectures given: pass at least one key or 'links|ops' string")
    keys: list[int] = []
    first: dict[int, Any] = {}
    bad = []
    for arch in archs:
        try:
            key = bench.space.key(arch)
        except (LookupError, ValueError) as err:   # UnknownArchitectureError is a ValueError
            bad.append(f"{arch!r} ({err})")
            continue
        if key in first:   # its runs would be counted twice in every summary
            raise ValueError(f"{arch!r} and {first[key]!r} are the same architecture (key {key}); "
                             "list each architecture once")
        first[key] = arch
        keys.append(key)
    if bad:
        raise UnknownArchitectureError(
            f"{len(bad)} of the {len(archs)} architectures given are not {bench.space.name} architectures "
            f"as written: {'; '.join(bad)}; give canonical table keys or 'links|ops' strings")
    covered = set(bench.task_keys(task).tolist())
    missing = [k for k in keys if k not in covered]
    if missing:
        raise MissingResultError(
            f"{task} has no table result for key(s) {missing[:10]}{' ...' if len(missing) > 10 else ''}, "
            f"so they cannot be compared with the table; it covers {len(covered)} architectures "
            f"(see Benchmark.task_keys)")
    return keys


def compare_with_table(bench: Benchmark, task: str, keys: Sequence[Any], *, seeds: Sequence[int],
                       data_root: str | None = None, executor: "Executor | None" = None,
                       store: RunsStore | None = None,
                       epochs: int | None = None, device: str | None = None,
                       progress: bool = True, precision: str = "float32") -> tuple[pd.DataFrame, dict]:
    """Train ``keys`` on ``task`` (seeds explicit) and compare with the table.

    ``keys``: table keys or any other spelling (``"links|ops"``, an isomorphic form), all checked
    before anything trains. Runs already in ``store`` are reused, new ones appended as they finish.
    Returns (one row per canonical key, summary dict with MAEs in accuracy points and Spearman);
    jobs that failed are listed in ``summary["failures"]``, not raised.
    """
    keys = table_keys(bench, task, keys)
    seeds = check_seed_list(seeds)
    root = None if data_root is None else str(data_root)
    jobs = [Job(k, task, tuple(seeds), epochs, root, device, precision) for k in keys]
    result = run_jobs(jobs, store, executor, progress=progress)
    fidelity = get_protocol(task).epochs if epochs is None else int(epochs)
    source = store.table() if store is not None else result.runs
    df, summary = agreement_with_table(bench, task, keys, source, seeds=seeds, epochs=fidelity,
                                       precision=precision)
    summary["failures"] = [f"{j.key}: {msg}" for j, msg in result.failures]
    summary["reused_runs"] = result.skipped   # seed runs the store held already: not trained again
    return df, summary


def agreement_with_table(bench: Benchmark, task: str, keys: Sequence[Any],
                         runs: "pd.DataFrame | Sequence[SeedRun]", *, seeds: Sequence[int],
                         epochs: int, precision: str = "float32") -> tuple[pd.DataFrame, dict]:
    """Compare runs already measured (a runs table, e.g. a committed runs CSV) with the table,
    training nothing. Same rows and summary as ``compare_with_table``."""
    keys = table_keys(bench, task, keys)
    seeds = check_seed_list(seeds)
    df = measured(runs, task, keys, seeds, epochs, precision)
    df.insert(0, "arch", [bench.space.format(k) for k in keys])
    df["table_valid"] = [bench.query(task, k, split="valid", seeds="mean") for k in keys]
    df["table_test"] = [bench.query(task, k, split="test", seeds="mean") for k in keys]
    summary = {
        "task": task, "architectures": len(keys), "measured": int(df.measured_test.notna().sum()),
        "seeds": seeds, "epochs": int(epochs), "precision": precision,
        "devices": sorted({d for cell in df.device.dropna() for d in str(cell).split(",") if d}),
        "mae_table_test_points": _mae_points(df.table_test, df.measured_test),
        "median_abs_table_test_points": _mae_points(df.table_test, df.measured_test, "median"),
        "mae_table_valid_points": _mae_points(df.table_valid, df.measured_valid),
        "bias_table_test_points": 100 * float((df.table_test - df.measured_test).mean()),
        "spearman_table_test": _spearman(df.table_test, df.measured_test),
        "spearman_table_valid": _spearman(df.table_valid, df.measured_valid),
        "diverged_seeds": int(df.diverged.fillna(0).sum()),
        **_stable_summary(df),
        "failures": [],
    }
    return df, summary


def _stable_summary(df: pd.DataFrame) -> dict:
    """Table vs measurement over the architectures none of whose seeds blew up: a few unstable
    architectures (whose means depend on which seeds blow up) otherwise dominate the MAE."""
    stable = df[df.measured_test.notna() & (df.diverged == 0)]
    return {"stable_architectures": int(len(stable)),
            "mae_table_test_points_stable": _mae_points(stable.table_test, stable.measured_test),
            "spearman_table_test_stable": _spearman(stable.table_test, stable.measured_test)}


def sample_task_keys(bench: Benchmark, task: str, n: int, seed: int) -> list[int]:
    """The seeded random sample ``harness batch --sample n --sample-seed seed`` trains."""
    keys = bench.task_keys(task)
    if n > len(keys):
        raise ValueError(f"--sample {n} is more than the {len(keys)} architectures {task} has in the table")
    return [int(k) for k in np.random.default_rng(seed).choice(keys, n, replace=False)]


def validate_predictions(bench: Benchmark, task: str, predictions: pd.Series, *, top: int,
                         seeds: Sequence[int], **kwargs) -> tuple[pd.DataFrame, dict]:
    """Train the ``top`` best-predicted architectures and compare prediction, table, measurement.

    ``predictions``: predicted validation score indexed by key (e.g. ``predict_task(...)``); the
    support architectures it records (``attrs['support_keys']``) are left out, since the predictor
    was given their table scores.
    """
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be a whole number of architectures >= 1, got {top!r}")
    _check_predictions_for(predictions, task)
    best = unmeasured(predictions).dropna().sort_values(ascending=False, kind="stable").head(top)
    df, summary = compare_with_table(bench, task, best.index.tolist(), seeds=seeds, **kwargs)
    df.insert(1, "prediction", best.to_numpy())
    # Meta-predictors output a rank score in [0, 1]: only their ranking can be compared.
    scale = predictions.attrs.get("scale", "score")
    summary.update(
        predictor=predictions.name, prediction_scale=scale,
        mae_predictor_valid_points=(_mae_points(df.prediction, df.measured_valid)
                                    if scale == "score" else float("nan")),
        spearman_predictor_valid=_spearman(df.prediction, df.measured_valid),
    )
    return df, summary


def _check_predictions_for(predictions: pd.Series, task: str) -> None:
    """Refuse predictions made for another task, or by a predictor that was fitted on ``task``
    (what ``predict_with`` records in ``attrs``): either would make the comparison meaningless."""
    made_for = predictions.attrs.get("task")
    if made_for is not None and made_for != task:
        raise ValueError(f"the predictions are for task {made_for!r} (their attrs['task']), not {task!r}: "
                         f"predict {task} (e.g. predict_task(name, bench, {task!r}, ...)) to validate there")
    fit_info = predictions.attrs.get("fit_info")
    if learnt_from(predictions.attrs.get("meta", True), fit_info, task):
        sources = fit_info["source_tasks"]
        raise ValueError(f"the predictor was fitted on {task} itself (attrs['fit_info']['source_tasks'] = "
                         f"{list(sources)}), so validating it there measures what it memorised: fit it "
                         f"without {task} (fit_for_task / predict_task leave the target out)")


def format_report(df: pd.DataFrame, summary: dict) -> str:
    """Human-readable table (accuracies in %) and summary lines."""
    def pct(mean: float, std: float | None = None) -> str:
        if pd.isna(mean):
            return "-"
        return f"{100 * mean:.2f}" + ("" if std is None or pd.isna(std) else f" +- {100 * std:.2f}")

    lines = []
    has_pred = "prediction" in df
    head = f"{'key':>6}  {'architecture':<34}" + (f"{'predicted':>10}" if has_pred else "")
    lines.append(head + f"{'table val':>10}{'measured val':>17}{'table test':>11}{'measured test':>17}")
    for key, row in df.iterrows():
        line = f"{key:>6}  {row.arch:<34}"
        if has_pred:
            rank_scale = summary.get("prediction_scale", "score") == "rank"
            line += f"{f'{row.prediction:.3f}' if rank_scale else pct(row.prediction):>10}"
        line += (f"{pct(row.table_valid):>10}{pct(row.measured_valid, row.measured_valid_std):>17}"
                 f"{pct(row.table_test):>11}{pct(row.measured_test, row.measured_test_std):>17}")
        if row.get("diverged", 0) > 0:
            line += f"  {int(row.diverged)}/{int(row.seeds)} seeds blew up"
        lines.append(line)
    s = summary
    devices = f", trained on {', '.join(s['devices'])}" if s.get("devices") else ""
    reused = f", {s['reused_runs']} seed run(s) reused from the runs file" if s.get("reused_runs") else ""
    lines.append(f"{s['task']}: {s['measured']}/{s['architectures']} architectures measured, "
                 f"seeds {s['seeds']}, {s['epochs']} epochs{devices}"
                 + ("" if s.get("precision", "float32") == "float32" else f", {s['precision']} matrix products")
                 + reused)
    table_epochs = get_protocol(s["task"]).epochs
    if s["epochs"] != table_epochs and s["measured"]:
        lines.append(f"note: the table's runs trained {table_epochs} epochs, these {s['epochs']}: a "
                     f"{'lower' if s['epochs'] < table_epochs else 'higher'} fidelity, so the gaps below include that")
    if not s["measured"]:
        lines += [f"failed: {failure}" for failure in s["failures"]] + ["nothing measured: no comparison"]
        return "\n".join(lines)
    if has_pred and s.get("prediction_scale", "score") == "rank":
        lines.append(f"predictor {s.get('predictor')} predicts a rank score (0-1, higher is better), "
                     f"not accuracy: Spearman vs measured validation {_rho(s['spearman_predictor_valid'])}")
    elif has_pred:
        lines.append(f"predictor {s.get('predictor')}: MAE vs measured validation "
                     f"{s['mae_predictor_valid_points']:.2f} points, Spearman "
                     f"{_rho(s['spearman_predictor_valid'])}")
    lines.append(f"table: MAE vs measured validation {s['mae_table_valid_points']:.2f} points, test "
                 f"{s['mae_table_test_points']:.2f} points (median {s['median_abs_table_test_points']:.2f}, "
                 f"bias {s['bias_table_test_points']:+.2f}); "
                 f"Spearman valid {_rho(s['spearman_table_valid'])}, test {_rho(s['spearman_table_test'])}")
    if s.get("diverged_seeds"):
        lines.append(f"{s['diverged_seeds']} seed(s) blew up (NaN loss) during training; each is "
                     f"scored on the epochs before that, as the benchmark's own runs were")
        lines.append(f"table without the architectures whose seeds blew up ({s['stable_architectures']}): "
                     f"MAE vs measured test {s['mae_table_test_points_stable']:.2f} points, "
                     f"Spearman {_rho(s['spearman_table_test_stable'])}")
    for failure in s["failures"]:
        lines.append(f"failed: {failure}")
    return "\n".join(lines)


def _rho(value: float) -> str:
    """A rank correlation for the report: undefined (NaN) below MIN_RANKED architectures or on ties."""
    return f"n/a (needs {MIN_RANKED}+ architectures with differing values)" if pd.isna(value) else f"{value:.3f}"


def demo_train_best(bench: Benchmark, task: str, keys_with_predictions: pd.Series,
                    seeds: Sequence[int], data_root: str | None = None, *,
                    store: RunsStore | None = None, epochs: int | None = None) -> pd.DataFrame:
    """Demo stage: train the given architectures (a key-indexed Series of predictions), print
    prediction / table / measurement side by side, and return that table."""
    preds = keys_with_predictions
    df, summary = validate_predictions(bench, task, preds, top=len(preds), seeds=seeds,
                                       data_root=data_root, store=store, epochs=epochs)
    print(format_report(df, summary))
    return df
