"""Regenerate predictors/cards/*.md and predictors/results/* from an evaluation cache.

    python predictors/make_cards.py --cache predictor-eval/cache [--notes notes.json]

The cache is what `nasbench-meta predictors evaluate --out predictor-eval` writes (one JSON per
predictor, config and held-out task). Only runs with support seeds 0-4 and shots 0/10/20/50/100
are used, so every row averages the same draws; a cache lacking some predictors is refused unless
``--allow-missing``. ``--notes`` maps a predictor name to extra
markdown (e.g. how it was run) appended to its card.
"""
from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_meta.benchmark import open_benchmark
from nasbench_meta.predictors import predictor_class
from nasbench_meta.predictors.base import kind_of
from nasbench_meta.predictors.evaluation import METRICS, markdown_table, plot, summary, tidy_table

HERE = Path(__file__).parent
SEEDS, SHOTS = [0, 1, 2, 3, 4], [0, 10, 20, 50, 100]
ORDER = ["mean-rank", "weighted-rank", "xgb", "rf", "gin", "xgb-src", "xgb-meta", "gnn-meta", "gp-meta"]
CARDS = {
    "mean-rank": ("Transfer baseline. Each architecture's validation score on every source task is turned into a rank in [0, 1]; the prediction is the mean over source tasks. Ignores the support set.", "source-task ranks (N x T)"),
    "weighted-rank": ("Transfer baseline. Source ranks averaged with weights softmax(rho_t / temperature), rho_t = Spearman agreement of source task t with the K measured support architectures (equal weights, i.e. mean rank, when K < 3).", "source-task ranks"),
    "xgb": ("Single-task baseline: XGBoost regressor trained only on the K measured architectures of the target (raw validation accuracy), predicting the rest. Needs K >= 2.", "one-hot (4 links x 4 + 4 ops x 9 = 52 features)"),
    "rf": ("Single-task baseline: scikit-learn random forest trained only on the K support architectures. Needs K >= 2.", "one-hot (52)"),
    "gin": ("Single-task baseline: GIN (torch-geometric DenseGINConv layers over the architecture DAG, messages both ways, jumping-knowledge sum readout) + linear head, trained full-batch with MSE on the K standardised support scores. `n_models > 1` averages a deep ensemble. Needs K >= 2.", "architecture graph: one-hot node types (9 ops + input + output), dense 6x6 adjacency"),
    "xgb-src": ("Reference baseline of issue 3: XGBoost trained only on the K support archs, but each architecture is described by its one-hot encoding plus its rank on every source task. No episodic meta-training. Needs K >= 2.", "one-hot (52) + source-task ranks (T)"),
    "xgb-meta": ("Meta-trained gradient-boosted surrogate. Features per architecture: mean/std/min/max/median of its source ranks, K; its ranks on the 3 source tasks that agree most with the support set and their agreements; agreement-weighted ranks (softmax at temperatures 0.05 and 0.2, positive-part weights); a ridge fit of support ranks on source ranks; Nadaraya-Watson regression of the support ranks in source-rank space and in one-hot space; spread of the support ranks; the one-hot encoding. Features that need K >= 3 are NaN below (XGBoost handles missing values). Trained episodically: each source task in turn is the pseudo-target, the others are sources, for each training K (0, 5, 10, 20, 50, 100, 200) and 2 seeded support draws, 2,000 random architectures are regressed onto the pseudo-target's rank. `n_models > 1` gives an ensemble whose member spread (`predict_members`) is an uncertainty estimate.", "source ranks + support-set agreement features + one-hot (~69 features)"),
    "gnn-meta": ("Meta-trained GNN. A GIN encodes each architecture graph (h_a). A DeepSets set encoder over the support pairs (h_a, target rank) plus a learned null element gives the target representation z (defined at K = 0). The same set encoder over (h_a, source rank) on the same support architectures gives each source task e_t; attention softmax_t(q(z).k(e_t) / sqrt(d) + a * Pearson(target support ranks, source support ranks)) weighs the source ranks into a prior (the mean rank at K = 0); the output is prior + MLP(h_a, z, prior, source-rank stats). Episodic meta-training: each step holds a random source task out as pseudo-target, draws K from (0, 5, 10, 20, 50, 100, 200), a support set and 256 query architectures, MSE on the pseudo-target's rank. AdamW with cosine schedule; uses CUDA when available.", "architecture graph (as gin) + source-task ranks"),
    "gp-meta": ("Meta-trained deep-kernel Gaussian process (in the spirit of ABLR, Perrone et al. 2018, and deep kernel transfer). An MLP (2 hidden layers of 256, ReLU, 64 non-negative features) over the architecture's one-hot encoding and bag of values is trained by multi-task regression of every source task's ranks (one linear head per source, Adam, 30 epochs, batch 1024); with `other_split_heads` (default) it also regresses each source's ranks on the other split (test when fitting on validation), whose evaluation noise is independent of the first split's. The target's head is a Gaussian draw like the source heads of the fitting split: prior mean = mean head (at K = 0 the prediction is z(a) . mean head, the learned consensus of the sources), prior covariance = a * covariance of the source heads + b * I. A squared-exponential kernel on the one-hot encoding (amplitude s, length scale l) adds variation no source task shows, plus noise. Support scores enter as ranks within the support set. The 5 kernel hyperparameters are meta-learned for each K in (5, 10, 20, 50, 100, 200) by maximising the marginal likelihood pooled over 6 episodes per source task, each source task in turn the pseudo-target with features from a network trained without it (so T + 1 networks per fit); a target's K uses the nearest of those. GP inference on the K support architectures gives the prediction and, with `predict_std`, its posterior standard deviation. Trains on CUDA when available; embeddings are computed on the CPU so a reloaded predictor repeats them exactly.", "one-hot (52) + bag of values (13) -> learned 64-d embedding; source-task ranks (both splits) as training targets only"),
}
# Issue 3: targets for the meta-predictors and the reference baselines (valid Spearman).
TARGETS = {0: 0.60, 20: 0.70, 100: 0.80}
REFERENCE = "mean rank 0.46 @ K=0; XGB one-hot 0.26 @ K=20 / 0.55 @ K=100; XGB one-hot + source accuracies 0.42 @ K=20 / 0.65 @ K=100"


def load_cache(cache: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(tidy metric table, one row per run with the predicted-best key) over every cached file."""
    frames, best = [], []
    for f in sorted(glob.glob(str(cache / "*.json"))):
        name = Path(f).name.rsplit("-", 2)[0]
        data = json.loads(Path(f).read_text())
        if data["seeds"] != SEEDS or data["shots"] != SHOTS:
            continue
        runs = [r for r in data["result"]["runs"] if "metrics" in r]
        frames.append(tidy_table({"predictor": {"name": name}, "runs": data["result"]["runs"]}))
        best += [{"predictor": name, "holdout": r["holdout"], "shots": r["shots"], "seed": r["seed"],
                  "best_key": r["top_keys"][0]} for r in runs]
    if not frames:
        raise SystemExit(f"{cache} holds no evaluation with support seeds {SEEDS} and shots {SHOTS}: run the full "
                         "evaluation in predictors/README.md first (its --out folder's cache/)")
    table = pd.concat(frames, ignore_index=True)
    return table, pd.DataFrame(best)


def check_complete(table: pd.DataFrame, allow_missing: bool) -> None:
    """Refuse to turn measured cards into 'Not measured yet' because a cache lacks their predictor."""
    missing = sorted(set(CARDS) - set(table.predictor))
    if missing and not allow_missing:
        raise SystemExit(f"the cache has no full evaluation of {', '.join(missing)}; regenerating would drop their "
                         "results from the cards and tables. Evaluate them too, or pass --allow-missing")


def top1_hits(bench, best: pd.DataFrame) -> pd.DataFrame:
    """Whether each run's predicted-best architecture is in the task's true top 1% (valid and test)."""
    out = best.copy()
    for split in ("valid", "test"):
        hits = []
        for task, rows in best.groupby("holdout"):
            scores = bench.scores(task, split=split, seeds="mean")
            covered = scores[bench.rows(bench.task_keys(task))]
            cut = np.quantile(covered, 0.99)
            hits.append(pd.Series(scores[bench.rows(rows.best_key.to_numpy())] >= cut, index=rows.index))
        out[f"top1%_{split}"] = pd.concat(hits)
    return out


def comparison(table: pd.DataFrame, hits: pd.DataFrame) -> str:
    """Valid Spearman at K = 0/20/100 and the top-1% hit rate at K = 20, per predictor (8 tasks only)."""
    lines = ["| predictor | tasks | K=0 | K=20 | K=100 | best in top 1% @ K=20 (valid / test) |",
             "|---|---:|---:|---:|---:|---:|"]
    s = table[(table.split == "valid") & (table.metric == "spearman")]
    for name in [n for n in ORDER if n in set(s.predictor)]:
        sub = s[s.predictor == name]
        per_seed = sub.groupby(["shots", "seed"]).value.mean().groupby("shots")
        mean, std = per_seed.mean(), per_seed.std()  # as summary(): sample std over seeds
        cells = [f"{mean[k]:.3f} ± {std[k]:.3f}" if k in mean.index else "n/a (K < 2)" for k in (0, 20, 100)]
        h = hits[(hits.predictor == name) & (hits.shots == 20)]
        hit = f"{h['top1%_valid'].mean():.2f} / {h['top1%_test'].mean():.2f}" if len(h) else "n/a"
        lines.append(f"| {name} | {sub.holdout.nunique()} | " + " | ".join(cells) + f" | {hit} |")
    return "\n".join(lines)


def card(name: str, table: pd.DataFrame, note: str) -> str:
    cls = predictor_class(name)
    what, enc = CARDS[name]
    lines = [f"# {name} (version {cls.version})", "", what, "",
             f"- kind: {kind_of(cls)}; smallest K: {cls.min_support}",
             f"- encoding: {enc}", f"- hyperparameters (defaults, as evaluated): `{cls.defaults}`",
             "- code: `nasbench_meta/predictors/`", "", "## Measured results", ""]
    sub = table[table.predictor == name]
    if sub.empty:
        lines.append("Not measured yet: the full evaluation run did not reach this predictor in the time available. "
                     "Run the command in `predictors/README.md`.")
    else:
        tasks = sorted(sub.holdout.unique())
        partial = "" if len(tasks) == 8 else " **(partial: not all 8 tasks)**"
        lines.append(f"Leave-one-task-out over {len(tasks)} of the 8 held-out tasks ({', '.join(tasks)}){partial}, "
                     "support seeds 0-4 per K, fit seed 0. Mean over held-out tasks, ± std over seeds. Metrics on "
                     "the architectures not in the support set.")
        for split in ("valid", "test"):
            s = summary(sub[sub.split == split])
            lines += ["", f"### {split} scores", "", "| K | " + " | ".join(METRICS) + " |",
                      "|---:|" + "---:|" * len(METRICS)]
            for (_, k, _), row in s.iterrows():
                lines.append(f"| {k} | " + " | ".join(f"{row[(m, 'mean')]:.3f} ± {row[(m, 'std')]:.3f}" for m in METRICS) + " |")
        per = (sub[(sub.split == "valid") & (sub.metric == "spearman")]
               .groupby(["holdout", "shots"]).value.mean().unstack("shots"))
        lines += ["", "Spearman (valid) per held-out task, mean over seeds:", "",
                  "| holdout | " + " | ".join(f"K={c}" for c in per.columns) + " |", "|---|" + "---:|" * len(per.columns)]
        lines += [f"| {t} | " + " | ".join(f"{v:.3f}" for v in r) + " |" for t, r in per.iterrows()]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--notes", type=Path, help="JSON: predictor name -> markdown appended to its card")
    ap.add_argument("--root", help="benchmark data root (default: the usual data root)")
    ap.add_argument("--allow-missing", action="store_true",
                    help="regenerate even if some predictors have no full evaluation in the cache")
    args = ap.parse_args()
    notes = json.loads(args.notes.read_text()) if args.notes else {}
    table, best = load_cache(args.cache)
    check_complete(table, args.allow_missing)
    bench = open_benchmark("nas-bench-graph", root=args.root)
    hits = top1_hits(bench, best)
    results = HERE / "results"
    table.to_csv(results / "loto-valid-test.csv", index=False)
    hits.to_csv(results / "loto-predicted-best.csv", index=False)
    md = [f"### {s} scores\n\n" + markdown_table(table, split=s) for s in ("valid", "test")]
    md.append("### Against the issue's targets (valid Spearman, mean over held-out tasks ± std over seeds)\n\n"
              + comparison(table, hits) + "\n\nTargets for the meta-predictors: "
              + ", ".join(f"{v:.2f} @ K={k}" for k, v in TARGETS.items())
              + "; predicted best in the true top 1% at K=20 (fraction of runs). Reference baselines: " + REFERENCE + ".")
    if notes.get("_results"):
        md.append(notes["_results"])
    (results / "loto.md").write_text("\n\n".join(md) + "\n")
    plot(table, results / "loto-valid.png")
    plot(table, results / "loto-test.png", split="test")
    for name in CARDS:
        (HERE / "cards" / f"{name}.md").write_text(card(name, table, notes.get(name, "")))
    print(comparison(table, hits))


if __name__ == "__main__":
    main()
