"""``nasbench-meta predictors list | train | evaluate | predict | ceilings``."""
from __future__ import annotations

import argparse
from pathlib import Path

from nasbench_meta.benchmark import open_benchmark
from nasbench_meta.cli.common import (add_benchmark, add_json, add_root, json_object, model_for, positive_int, print_json,
                                     seed_int, writable_output)
from nasbench_meta.plugins import SPEC_HELP


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predictors", help="accuracy predictors: list, train, evaluate, predict, ceilings",
                                   description="Single-task and meta-trained accuracy predictors.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = sub.add_parser("list", help="the available predictors")
    add_json(p)
    p.set_defaults(func=_list)

    p = sub.add_parser("train", help="fit a predictor on source tasks and save it",
                       description="Fits on every complete task except --holdout (or on --sources); a single-task predictor records the space only.")
    p.add_argument("--predictor", required=True, help=_NAME_HELP)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--holdout", help="target task: train on every other complete task")
    group.add_argument("--sources", help="comma-separated source tasks")
    p.add_argument("--seed", type=seed_int, required=True, help="fit seed")
    p.add_argument("--split", choices=("valid", "test"), default="valid",
                   help="source scores to learn from (default: %(default)s; test leaks into model selection)")
    p.add_argument("--out", required=True, help="predictor file to write (.npz)")
    _add_common(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="leave-one-task-out evaluation",
                       description="Fits on all other complete tasks, draws K support archs of each held-out "
                                   "task per seed, scores the rest on validation and test. Writes a tidy CSV, "
                                   "one versioned JSON per predictor, a markdown table and a PNG plot.")
    p.add_argument("--predictor", required=True, action="append", help=_NAME_HELP + "; repeat for several")
    p.add_argument("--holdout", required=True, action="append",
                   help="held-out task, repeat for several; 'all' (alone) = the complete tasks (proteins only by name)")
    p.add_argument("--shots", type=int, action="append",
                   help="K, repeat for several (default: 0 10 20 50 100); each from 0 to the task's size minus 2, "
                        "repeats dropped; K below the predictor's smallest are recorded as skipped")
    p.add_argument("--seeds", type=positive_int, required=True, help="number of support seeds: 0 .. N-1")
    p.add_argument("--fit-seed", type=seed_int, default=0, help="seed of each fit (default: %(default)s; recorded)")
    p.add_argument("--out", default="predictor-eval", help="output folder (default: %(default)s); "
                   "finished held-out tasks are cached there, so a rerun resumes (a predictor of your own whose "
                   "file changed is evaluated again)")
    p.add_argument("--stem", default="evaluation", help="file name stem of the outputs, no folder (default: %(default)s)")
    p.add_argument("--no-predictions", action="store_true", help="do not store the ranks needed to re-score")
    _add_common(p)
    p.set_defaults(func=_evaluate, resumes=True)

    p = sub.add_parser("ceilings", help="zero-shot reference points the tables set for each held-out task",
                       description="Per held-out task: Spearman of the mean rank of its sources, of the best single "
                                   "source, of the best source subset chosen with hindsight, and the agreement of "
                                   "the task's validation and test rankings.")
    p.add_argument("--holdout", required=True, action="append",
                   help="held-out task, repeat for several; 'all' = the complete tasks")
    p.add_argument("--split", choices=("valid", "test"), required=True, help="scores to rank by")
    add_benchmark(p)
    add_root(p)
    add_json(p)
    p.set_defaults(func=_ceilings)

    p = sub.add_parser("predict", help="predict every architecture of a task from K measured ones",
                       description="Draws K support architectures of --task with --seed, gives the predictor their "
                                   "validation scores and predicts every architecture of the task.")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--predictor", help="fit this predictor on every other complete task (" + _NAME_HELP + ")")
    group.add_argument("--model", help="a predictor file written by `predictors train`")
    p.add_argument("--task", required=True, help="the task to predict (the predictor is fitted without it)")
    p.add_argument("--shots", type=int, required=True, help="K support architectures drawn with --seed")
    p.add_argument("--seed", type=seed_int, required=True, help="seed of the support draw and of the fit (a --model keeps the seed it was fitted with)")
    p.add_argument("--top", type=positive_int, default=10, help="show the predicted top N of the architectures outside the K support set "
                                                                   "(default: %(default)s)")
    p.add_argument("--csv", help="write every prediction to this CSV (a `support` column marks the K measured ones)")
    _add_common(p)
    p.set_defaults(func=_predict)


def _add_common(p: argparse.ArgumentParser) -> None:
    add_benchmark(p)
    add_root(p)
    add_json(p)
    p.add_argument("--config", default=None, help="JSON object of predictor options, e.g. '{\"n_estimators\": 200}'")


_NAME_HELP = f"a name from `predictors list`, or your own Predictor subclass as {SPEC_HELP}"


def _config(args: argparse.Namespace) -> dict:
    return json_object(args.config) if getattr(args, "config", None) else {}


def _list(args: argparse.Namespace) -> int:
    from nasbench_meta.predictors import available_predictors, predictor_class
    from nasbench_meta.predictors.base import kind_of

    rows = [{"name": n, "kind": kind_of(predictor_class(n)), "meta": predictor_class(n).meta,
             "version": predictor_class(n).version, "min_support": predictor_class(n).min_support,
             "description": predictor_class(n).description, "defaults": predictor_class(n).defaults}
            for n in available_predictors()]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        print(f"{r['name']:<14} {r['kind']:<12} K>={r['min_support']:<3} {r['description']}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from nasbench_meta.predictors import get_predictor, source_tasks_for

    predictor = get_predictor(args.predictor, **_config(args))
    writable_output(args.out, "--out", example="predictor.npz")   # before the fit, not after
    with open_benchmark(args.benchmark, args.root) as bench:
        sources = (source_tasks_for(bench, args.holdout) if args.holdout
                   else [t.strip() for t in args.sources.split(",") if t.strip()])   # "cora, pubmed" too
        predictor.fit(bench.hiding(args.holdout) if args.holdout else bench, sources, split=args.split, seed=args.seed)
    path = predictor.save(args.out)
    info = {"path": str(path), "predictor": predictor.name, "version": predictor.version,
            "config": predictor.config, **predictor.fit_info}
    print_json(info) if args.json else print(f"saved {predictor.name} fitted on {sources} to {path}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nasbench_meta.predictors import get_predictor, predictor_class
    from nasbench_meta.predictors.evaluation import (DEFAULT_SHOTS, check_shots, evaluate, markdown_table,
                                                     resolve_holdouts, write_outputs)

    shots = args.shots or list(DEFAULT_SHOTS)
    config = _config(args)
    names = list(dict.fromkeys(args.predictor))   # one given twice is evaluated once (as K and tasks are)
    if config and len(names) > 1:
        raise ValueError("--config applies to one predictor; evaluate one --predictor at a time with it")
    if not args.stem or Path(args.stem).name != args.stem:
        raise ValueError(f"--stem is the start of the output file names, without a folder (use --out for that); "
                         f"got {args.stem!r}")
    out = writable_output(args.out, "--out", folder=True)
    with open_benchmark(args.benchmark, args.root) as bench:
        holdouts = resolve_holdouts(bench, args.holdout)
        for name in names:   # every predictor's options and K, before the first fit
            get_predictor(name, **config)
            check_shots(bench, predictor_class(name), holdouts, shots)
        results = [evaluate(bench, name, holdouts=holdouts, shots=shots, seeds=range(args.seeds),
                            fit_seed=args.fit_seed, config=config, cache_dir=out / "cache",
                            store_predictions=not args.no_predictions, progress=not args.json)
                   for name in names]
    paths = write_outputs(results, out, args.stem)
    import pandas as pd

    table = pd.concat([r.table for r in results], ignore_index=True)
    if args.json:
        from nasbench_meta.predictors.evaluation import summary

        summ = summary(table).reset_index()
        summ.columns = ["_".join(str(c) for c in col if c) if isinstance(col, tuple) else col for col in summ.columns]
        print_json({"outputs": {k: str(v) for k, v in paths.items()}, "holdouts": holdouts,
                    "seeds": list(range(args.seeds)), "fit_seed": args.fit_seed,
                    "summary": summ.to_dict(orient="records")})
    else:
        print(markdown_table(table, split="valid"))
        print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _ceilings(args: argparse.Namespace) -> int:
    from nasbench_meta.predictors.ceilings import ceilings_table, transfer_ceiling
    from nasbench_meta.predictors.evaluation import resolve_holdouts

    with open_benchmark(args.benchmark, args.root) as bench:
        found = [transfer_ceiling(bench, task, split=args.split) for task in resolve_holdouts(bench, args.holdout)]
    if args.json:
        print_json({"split": args.split, "tasks": [c.to_dict() for c in found]})
    else:
        print(f"Spearman of each reference point with the held-out task's {args.split} scores")
        print(ceilings_table(found))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from nasbench_meta.predictors import fit_for_task, predict_with, unmeasured

    model = model_for(args.model, args.task, args.config, "predicting") if args.model else None
    if args.csv:
        writable_output(args.csv, "--csv", example="predictions.csv")
    with open_benchmark(args.benchmark, args.root) as bench:
        if model is not None:
            predictor = model
        else:
            predictor = fit_for_task(args.predictor, bench, args.task, seed=args.seed, split="valid",
                                     config=_config(args))
        series = predict_with(predictor, bench, args.task, shots=args.shots, seed=args.seed, split="valid")
        top = unmeasured(series).sort_values(ascending=False, kind="stable").head(args.top)
        valid = bench.scores(args.task, split="valid", seeds="mean")
        records = [{"key": int(k), "arch": bench.space.format(int(k)), "predicted": float(v),
                    "valid_score": float(valid[bench.row(int(k))])} for k, v in top.items()]
    if args.csv:
        support = series.index.isin(series.attrs["support_keys"])   # measured: the predictor saw them
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        # each row says what produced it: a CSV read later, or beside others, carries no command line
        frame = series.rename("predicted").to_frame().assign(support=support)
        frame.insert(0, "arch", [bench.space.format(int(k)) for k in frame.index])
        frame.assign(predictor=predictor.name, task=args.task, shots=args.shots, support_seed=args.seed,
                     fit_seed=predictor.fit_info["seed"], split="valid").to_csv(args.csv)
    if args.json:
        print_json({"predictor": predictor.name, "task": args.task, "shots": args.shots, "seed": args.seed,
                    "split": "valid", "support_keys": series.attrs["support_keys"], "fit_info": predictor.fit_info,
                    "top": records})
        return 0
    learnt = (f"fitted on {', '.join(predictor.fit_info['source_tasks'])}" if predictor.meta
              else "single-task: fitted on the support set only")   # it never reads the source tasks
    print(f"{predictor.name} on {args.task} (K={args.shots}, seed {args.seed}; {learnt}): predicted top "
          f"{args.top} of the architectures not measured")
    for r in records:
        print(f"  {r['arch']:<32} predicted {r['predicted']:.4f}   table valid {r['valid_score']:.4f}")
    return 0
