"""Plots and tables from search results files.

- per task: anytime regret (mean +- standard error over seeds) against the number of
  queries, one PNG and one SVG per task and regret kind;
- across tasks: each method's average rank (by mean regret; 1 = best) at every budget;
- a markdown summary table of mean regret +- SE at chosen budgets, and final ranks;
- across tasks, at each chosen budget: Friedman's test and a critical-difference diagram
  (Nemenyi, ``significance``) saying which rank gaps the tasks support.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from nasbench_meta.search import results as results_io
from nasbench_meta.search.api import portable_spec
from nasbench_meta.significance import RankTest, critical_difference_size, draw_critical_difference, rank_test

KINDS = ("regret_test", "regret_valid")
DEFAULT_BUDGETS = (20, 100)


def _label(results: dict[str, Any]) -> str:
    return results["method"]["name"]


# What ``prepare`` set per task in results written before ``method.prepared`` was recorded.
_PREPARED_BEFORE_RECORDED = {"meta": ("source_tasks", "predictor_file")}


def _identity(results: dict[str, Any]) -> str:
    """Digest of what makes a method run what it ran: version, spec and the user's configuration
    (its code: ``_check_code``); options ``prepare`` set for each task (meta's source tasks) are
    not the user's choice, and would make one method a different one on every task."""
    method = {"version": results["method"].get("version"), "config": _user_options(results["method"]),
              "spec": portable_spec(str(results["method"].get("spec") or ""))}   # older files: full paths
    return hashlib.sha1(json.dumps(method, sort_keys=True).encode()).hexdigest()[:6]


def _user_options(method: dict[str, Any]) -> dict[str, Any]:
    """The configuration a method was given, without what its ``prepare`` set for the task."""
    spec = portable_spec(str(method.get("spec") or ""))
    prepared = method.get("prepared", _PREPARED_BEFORE_RECORDED.get(spec, ()))
    return {k: v for k, v in (method.get("config") or {}).items() if k not in prepared}


def _labels(documents: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(name, identity) -> label: the name alone, or with what differs between the methods of one
    name: version, spec, then the configuration options that differ (a digest as a last resort)."""
    groups: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for res in documents:
        groups[_label(res)][_identity(res)] = res["method"]
    labels = {}
    for name, methods in groups.items():
        if len(methods) == 1:
            labels[name, next(iter(methods))] = name
            continue
        found = {ident: f"{name} ({_difference(method, list(methods.values()))})" for ident, method in methods.items()}
        unique = len(set(found.values())) == len(found)
        labels.update({(name, ident): label if unique else f"{name}#{ident}" for ident, label in found.items()})
    return labels


def _difference(method: dict[str, Any], group: list[dict[str, Any]]) -> str:
    """What sets ``method`` apart within ``group`` (methods of one name), each value cut to 40
    characters (a label heads table columns and plot legends)."""
    parts = []
    if len({str(m.get("version")) for m in group}) > 1:
        parts.append(f"v{method.get('version')}")
    if len({portable_spec(str(m.get("spec") or "")) for m in group}) > 1:
        parts.append(portable_spec(str(method.get("spec") or "")))
    configs = [_user_options(m) for m in group]
    config = _user_options(method)
    for key in sorted({k for c in configs for k in c}):
        if len({json.dumps(c.get(key), sort_keys=True) for c in configs}) > 1:
            value = json.dumps(config.get(key), sort_keys=True)
            value = value if len(value) <= 40 else value[:37] + "..."
            parts.append(f"{key}={value}" if key in config else f"no {key}")
    return ", ".join(parts) or "?"


def _results_files(path: "str | os.PathLike[str]") -> list[Path]:
    """A results file, or a folder's *.json results files (sorted)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    files = sorted(path.glob("*.json"))
    if not files:
        raise ValueError(f"{path} is a folder without .json results files")
    return files


def _documents(items: Sequence["dict | str | os.PathLike[str]"]) -> list[tuple[str, dict[str, Any]]]:
    """(where it came from, document) for each item, folders expanded to their results files."""
    found = []
    for i, item in enumerate(items, 1):
        if isinstance(item, dict):
            found.append((f"results document {i}", item))
        else:
            found += [(str(path), results_io.load(path)) for path in _results_files(item)]
    return found


def collect(items: Sequence["dict | str | os.PathLike[str]"]) -> dict[str, dict[str, dict[str, Any]]]:
    """task -> method label -> results; items are loaded documents, results files or folders of them.

    A method name run with several versions, specs or configurations is labelled by what tells
    them apart, e.g. ``my-method (v2)`` or ``re (population_size=50)`` (the same label on every task). One method's seeds split across inputs (same task and budget)
    are merged; a seed given twice is a ValueError (it would be counted twice).
    """
    documents = _documents(items)
    if not documents:
        raise ValueError("no results given")
    for source, res in documents:
        _check_curves(res, source)
    labels = _labels([res for _, res in documents])
    _check_code(documents)
    table: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    seed_sources: dict[tuple[str, str], dict[int, str]] = {}  # (task, label) -> seed -> input
    for source, res in documents:
        label = labels[_label(res), _identity(res)]
        task = res["task"]
        known = seed_sources.setdefault((task, label), {})
        table[task][label] = _merged(table[task][label], res, known, source) if label in table[task] else res
        known.update(dict.fromkeys(res["seeds"], source))
    benchmarks = {res.get("benchmark", {}).get("name") for methods in table.values() for res in methods.values()}
    benchmarks.discard(None)
    if len(benchmarks) > 1:  # tasks of two benchmarks share no reference: ranks across them mean nothing
        raise ValueError(f"the results come from several benchmarks ({', '.join(sorted(benchmarks))}); "
                         "report one benchmark at a time")
    return dict(table)


def _check_code(documents: list[tuple[str, dict[str, Any]]]) -> None:
    """One method (name, version, spec, config) run with two versions of its code is refused:
    reporting it as one would mix them, as two would pass one method off as two. Results written
    before the code was recorded (no ``method.code``) match any version."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}   # (label, identity) -> (code, source)
    for source, res in documents:
        code = res["method"].get("code")
        if code is None:
            continue
        key = (_label(res), _identity(res))
        first = seen.setdefault(key, (code, source))
        if first[0] != code:
            raise ValueError(f"{first[1]} and {source} hold {key[0]} run with different code (digests {first[0]} and "
                             f"{code}); rerun every task with one version, or bump the method's version")


def _check_curves(results: dict[str, Any], source: str) -> None:
    """One regret value per budgeted query (what score_run writes); other lengths break the tables."""
    budget = results["budget"]["queries"]
    for run in results["runs"]:
        for kind in KINDS:
            if len(run["scores"][kind]) != budget:
                raise ValueError(f"{source}: seed {run['seed']}'s scores.{kind} has {len(run['scores'][kind])} "
                                 f"values for a budget of {budget} queries; recompute the scores with "
                                 "`nasbench-meta search rescore`")


def _merged(kept: dict[str, Any], more: dict[str, Any], seed_sources: dict[int, str], source: str) -> dict[str, Any]:
    """One method's seeds from two inputs as one document (the inputs are left as they are)."""
    what = f"{_label(more)} on {more['task']}"
    if kept["budget"] != more["budget"]:
        raise ValueError(f"{source} holds {what} under budget {more['budget']['queries']}, "
                         f"{next(iter(seed_sources.values()))} under {kept['budget']['queries']}; report them apart")
    repeated = sorted(set(seed_sources) & set(more["seeds"]))
    if repeated:
        raise ValueError(f"{seed_sources[repeated[0]]} and {source} both hold seed(s) {repeated} of {what}; "
                         "give each seed once (the same file twice?), or run extra seeds with other seed numbers")
    merged = {**kept, "runs": list(kept["runs"])}
    for run in more["runs"]:
        results_io.add_run(merged, run)
    return merged


def budgets_reached(table: dict) -> set[int]:
    """The query counts the results documents' curves end at."""
    return {len(res["runs"][0]["scores"]["regret_test"]) for methods in table.values()
            for res in methods.values() if res["runs"]}


def longest_budget(table: dict) -> int:
    """The most queries any results document's curves reach."""
    longest = max(budgets_reached(table), default=0)
    if not longest:
        raise ValueError("the results hold no runs to report")
    return longest


def default_budgets(table: dict) -> list[int]:
    """DEFAULT_BUDGETS the results reach, and every budget a results document ends at: methods run
    with a shorter budget than the others are compared at their own budget, not left out."""
    longest = longest_budget(table)
    return sorted({b for b in DEFAULT_BUDGETS if b <= longest} | budgets_reached(table))


def check_budgets(table: dict, budgets: Sequence[int]) -> None:
    """Clear errors for table budgets no results file reaches (they would silently show nothing)."""
    longest = longest_budget(table)
    bad = [b for b in budgets if not 1 <= b <= longest]
    if bad:
        raise ValueError(f"--budgets {', '.join(map(str, bad))} outside what the results reach (1 to {longest} "
                         "queries); choose budgets within it")


def curves(results: dict[str, Any], kind: str = "regret_test") -> np.ndarray:
    """(seeds, budget) regret curves of one results document."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return np.array([run["scores"][kind] for run in results["runs"]], dtype=np.float64)


def mean_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over axis 0 (SE 0 for a single seed)."""
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.zeros_like(mean)
    return mean, se


def summary(table: dict, budgets: Sequence[int], kind: str = "regret_test") -> pd.DataFrame:
    """One row per (task, method, budget): mean and SE of the regret, seeds (a budget no results file
    reaches is an error, not an empty frame)."""
    check_budgets(table, budgets)
    rows = []
    for task, methods in table.items():
        for label, res in methods.items():
            values = curves(res, kind)
            mean, se = mean_se(values)
            for b in budgets:
                if b <= values.shape[1]:
                    rows.append({"task": task, "method": label, "budget": int(b), "mean": float(mean[b - 1]),
                                 "se": float(se[b - 1]), "seeds": len(values)})
    return pd.DataFrame(rows, columns=["task", "method", "budget", "mean", "se", "seeds"])


def average_ranks(table: dict, kind: str = "regret_test") -> pd.DataFrame:
    """Average rank over tasks (rows: budget 1..B, columns: method) of the mean regret.

    Only methods present on every task are ranked; B is the smallest budget among them.
    """
    methods, means = _common_means(table, kind)
    ranks = rankdata(means, axis=2).mean(axis=0)  # (horizon, methods)
    return pd.DataFrame(ranks, columns=methods, index=pd.RangeIndex(1, means.shape[1] + 1, name="queries"))


def _common_means(table: dict, kind: str) -> tuple[list[str], np.ndarray]:
    """Methods present on every task and their mean regret curves, (tasks, horizon, methods),
    cut to the shortest curve among them."""
    methods = sorted(set.intersection(*(set(m) for m in table.values())))
    if not methods:
        raise ValueError("no method has results on every task: cannot rank across tasks")
    means = [[curves(table[task][m], kind).mean(axis=0) for m in methods] for task in table]
    horizon = min(len(curve) for task in means for curve in task)
    return methods, np.array([[curve[:horizon] for curve in task] for task in means]).transpose(0, 2, 1)


def critical_difference(table: dict, budget: int, kind: str = "regret_test", alpha: float = 0.05) -> RankTest:
    """Friedman test and Nemenyi critical difference of the methods' mean regrets after ``budget``
    queries, over the tasks (methods present on every task)."""
    methods, means = _common_means(table, kind)
    if not 1 <= budget <= means.shape[1]:
        raise ValueError(f"budget {budget} is outside the 1-{means.shape[1]} queries every method ran")
    return rank_test(means[:, budget - 1, :], methods, alpha=alpha)


def plot_task(task: str, methods: dict[str, dict[str, Any]], kind: str, stem: Path) -> list[Path]:
    """Anytime regret of every method on one task, mean +- SE bands; writes stem.png and stem.svg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    positive = []
    for label, res in sorted(methods.items()):
        values = curves(res, kind)
        mean, se = mean_se(values)
        x = np.arange(1, len(mean) + 1)
        ax.plot(x, mean, label=f"{label} ({len(values)} seeds)")
        ax.fill_between(x, mean - se, mean + se, alpha=0.25)
        positive.append(mean[mean > 0])
    metric = next(iter(methods.values())).get("metric") or "score"
    split = "test" if kind == "regret_test" else "validation"
    # symlog, not log: a method that finds the best architecture reaches regret 0, which a log
    # axis would not draw at all; linear below the smallest positive mean regret
    smallest = np.concatenate(positive).min(initial=np.inf)
    ax.set_yscale("symlog", linthresh=float(smallest) if np.isfinite(smallest) else 1e-3)
    ax.set(xlabel="queries (distinct architectures)", ylabel=f"{split} regret ({metric})",
           title=f"{task}: {split} regret of the best-validation architecture")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, stem)


def plot_ranks(ranks: pd.DataFrame, kind: str, stem: Path, num_tasks: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method in ranks.columns:
        ax.plot(ranks.index, ranks[method], label=method)
    split = "test" if kind == "regret_test" else "validation"
    ax.set(xlabel="queries (distinct architectures)", ylabel="average rank (1 = best)",
           title=f"average rank over {num_tasks} task(s), {split} regret")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, stem)


def plot_critical_difference(test: RankTest, stem: Path, title: str) -> list[Path]:
    """A critical-difference diagram of ``test`` written to stem.png and stem.svg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=critical_difference_size(test))
    draw_critical_difference(ax, test)
    ax.set_title(title, fontsize=10)
    return _save(fig, stem)


def _significance_lines(table: dict, budgets: Sequence[int], kind: str) -> list[str]:
    """Markdown: Friedman's p and the groups a critical-difference diagram joins, per budget."""
    lines = [f"- after {b} queries: {test.describe()}" for b, test in _rank_tests(table, budgets, kind)]
    if not lines:
        return []
    return ["### Significance of the rank differences (Demšar 2006)", "", *lines, ""]


def _save(fig: Any, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.tight_layout()
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def markdown(table: dict, budgets: Sequence[int], kind: str = "regret_test") -> str:
    """Markdown: mean regret +- SE per task and method at each budget (best in bold), and ranks."""
    frame = summary(table, budgets, kind)
    split = "test" if kind == "regret_test" else "validation"
    lines = [f"## Mean {split} regret +- standard error (lower is better)", ""]
    methods = sorted(frame["method"].unique())
    heads = [_md(m) for m in methods]
    for b in budgets:
        part = frame[frame["budget"] == b]
        if part.empty:
            continue
        lines += [f"### After {b} queries", "", "| task | " + " | ".join(heads) + " |",
                  "|---|" + "---|" * len(methods)]
        for task in table:
            cells = part[part["task"] == task].set_index("method")
            best = cells["mean"].min() if len(cells) else None
            row = []
            for m in methods:
                if m not in cells.index:
                    row.append("-")
                    continue
                text = f"{cells.loc[m, 'mean']:.4f} +- {cells.loc[m, 'se']:.4f}"
                row.append(f"**{text}**" if cells.loc[m, "mean"] == best else text)
            lines.append(f"| {task} | " + " | ".join(row) + " |")
        lines.append("")
    lines += _queries_to_match(table, kind)
    try:
        ranks = average_ranks(table, kind)
    except ValueError:
        return "\n".join(lines)
    shown = sorted({b for b in budgets if b <= len(ranks)} | {len(ranks)})
    lines += [f"### Average rank over {len(table)} task(s) (1 = best)", "",
              "| method | " + " | ".join(f"{b} queries" for b in shown) + " |", "|---|" + "---|" * len(shown)]
    for m in ranks.columns:
        lines.append(f"| {_md(m)} | " + " | ".join(f"{ranks.loc[b, m]:.2f}" for b in shown) + " |")
    lines += [""] + _significance_lines(table, shown, kind)
    seeds = sorted({len(r["runs"]) for methods_ in table.values() for r in methods_.values()})
    lines += ["", f"Seeds per method and task: {', '.join(map(str, seeds))}. Regret: "
              f"{next(iter(next(iter(table.values())).values()))['reference']['definition']}.", ""]
    return "\n".join(lines)


def _md(label: str) -> str:
    """A method label as a markdown table cell: its ``|`` (architectures are written links|ops) escaped."""
    return label.replace("|", "\\|")


def queries_to_reach(res: dict[str, Any], target: float, kind: str = "regret_test") -> "int | None":
    """First number of queries at which the mean regret is at most ``target`` (None: never)."""
    mean = curves(res, kind).mean(axis=0)
    hits = np.flatnonzero(mean <= target + 1e-12)
    return int(hits[0]) + 1 if len(hits) else None


def _queries_to_match(table: dict, kind: str, reference: str = "rs") -> list[str]:
    """How many queries each method needs to match the reference method's final mean regret."""
    tasks = [t for t in table if reference in table[t]]
    if not tasks:
        return []
    methods = sorted({m for t in tasks for m in table[t]})
    lines = [f"### Queries needed to match {reference}'s final mean regret", "",
             "| task | " + " | ".join(map(_md, methods)) + " |", "|---|" + "---|" * len(methods)]
    for task in tasks:
        ref = table[task][reference]
        target = float(curves(ref, kind).mean(axis=0)[-1])
        cells = []
        for m in methods:
            hit = queries_to_reach(table[task][m], target, kind) if m in table[task] else None
            cells.append("-" if m not in table[task] else (str(hit) if hit else "never"))
        lines.append(f"| {task} (budget {ref['budget']['queries']}) | " + " | ".join(cells) + " |")
    return lines + [""]


def _cd_plots(table: dict, budgets: Sequence[int], kind: str, out_dir: Path) -> list[Path]:
    """A critical-difference diagram per budget that ``_rank_tests`` can test."""
    written: list[Path] = []
    split = "test" if kind == "regret_test" else "validation"
    for b, test in _rank_tests(table, budgets, kind):
        title = f"{split} regret after {b} queries, {test.num_tasks} tasks (Friedman p = {test.friedman_p:.2g})"
        written += plot_critical_difference(test, out_dir / f"critical-difference-{kind}-{b}", title)
    return written


def _rank_tests(table: dict, budgets: Sequence[int], kind: str) -> list[tuple[int, RankTest]]:
    """(budget, test) for each budget every common method reached, when there are 3+ methods
    (Friedman's test needs 3) and 2+ tasks; nothing otherwise."""
    tests = []
    for b in budgets:
        try:
            test = critical_difference(table, b, kind)
        except ValueError:
            continue
        if len(test.methods) >= 3 and test.num_tasks >= 2:
            tests.append((b, test))
    return tests


def make_report(items: Sequence["dict | str | os.PathLike[str]"], out_dir: "str | os.PathLike[str]",
                budgets: "Sequence[int] | None" = None) -> dict[str, list[Path]]:
    """Write every plot and the markdown summary into ``out_dir``; returns the paths by kind.

    ``items``: documents, results files or folders of them; ``budgets`` default to
    ``default_budgets``.
    """
    table = collect(items)
    if budgets is None:
        budgets = default_budgets(table)
    budgets = sorted(set(budgets))   # 20,20 made two table columns of one name, and crashed the summary
    check_budgets(table, budgets)
    out_dir = Path(out_dir)
    written: dict[str, list[Path]] = {"task_plots": [], "rank_plots": [], "cd_plots": [], "tables": []}
    for kind in KINDS:
        for task, methods in table.items():
            written["task_plots"] += plot_task(task, methods, kind, out_dir / f"{task}-{kind}")
        try:
            ranks = average_ranks(table, kind)
        except ValueError:
            continue
        written["rank_plots"] += plot_ranks(ranks, kind, out_dir / f"average-rank-{kind}", len(table))
        written["cd_plots"] += _cd_plots(table, budgets, kind, out_dir)
        path = out_dir / f"average-rank-{kind}.csv"
        ranks.to_csv(path)
        written["tables"].append(path)
    text = markdown(table, budgets, "regret_test") + "\n" + markdown(table, budgets, "regret_valid")
    path = out_dir / "summary.md"
    path.write_text(text)
    written["tables"].append(path)
    return written
