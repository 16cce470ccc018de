"""``nasbench-meta harness run | batch | validate``: train architectures for real."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nasbench_meta.benchmark import open_benchmark
from nasbench_meta.cli.common import (add_benchmark, add_json, add_root, json_object, model_for, positive_int, print_json,
                                     seed_int)
from nasbench_meta.harness.protocol import PRECISIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "harness", help="train architectures with the benchmark's protocol and compare",
        description="Trains NAS-Bench-Graph architectures from scratch (CUDA when available) and "
                    "sets the measurement beside the table and predictions. Every finished "
                    "(architecture, task, seed) run is appended to the runs file, so an "
                    "interrupted command resumes where it stopped.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = sub.add_parser("run", help="train one architecture")
    p.add_argument("--arch", required=True, help="'links|ops' (e.g. '0,0,1,2|gat,gcn,sage,gcn') or a key")
    _add_common(p)
    p.add_argument("--naive", action="store_true",
                   help="use the straightforward one-seed-at-a-time PyG loop (the speed baseline)")
    p.set_defaults(func=_run, resumes=True)

    p = sub.add_parser("batch", help="train a list or a seeded random sample of architectures")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--archs", nargs="+", help="architectures ('links|ops' or keys)")
    group.add_argument("--keys-file", help="text file with one key or 'links|ops' per line")
    group.add_argument("--sample", type=positive_int, help="train N architectures drawn at random")
    p.add_argument("--sample-seed", type=seed_int, help="seed of the --sample draw (required with it)")
    _add_common(p)
    _add_executor(p)
    p.set_defaults(func=_batch, resumes=True)

    p = sub.add_parser("validate", help="train a predictor's top-k and compare with table and measurement")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--predictor", help="fit this predictor on every other complete task: a name (see `predictors "
                                           "list`) or your own, as path/to/file.py:Class")
    group.add_argument("--model", help="a predictor file written by `predictors train --holdout TASK` (not trained on "
                                       "--task)")
    p.add_argument("--config", default=None, help="JSON object of options for --predictor, e.g. '{\"n_estimators\": 100}'")
    p.add_argument("--top", type=positive_int, default=5, help="architectures to train: the predicted best outside the --shots support set (default: %(default)s)")
    p.add_argument("--shots", type=int, default=20,
                   help="support architectures of the task the predictor sees (default: %(default)s)")
    p.add_argument("--seed", type=seed_int, required=True, help="seed of the support draw and of the predictor's fit (a --model keeps the seed it was fitted with)")
    _add_common(p)
    _add_executor(p)
    p.set_defaults(func=_validate, resumes=True)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", default="cora", help="task to train on (default: %(default)s)")
    p.add_argument("--seeds", type=seed_int, nargs="+", default=[0, 1, 2],
                   help="training seeds, explicit (default: 0 1 2)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="override the protocol's epochs (a lower fidelity, recorded with each run)")
    p.add_argument("--data-root", default=None,
                   help="Planetoid root holding <Name>/raw (default: $NASBENCH_META_DATA or "
                        "<data dir>/planetoid; downloaded there when missing and online)")
    p.add_argument("--runs", default=None,
                   help="runs file (default: <data dir>/benchmarks/<benchmark>.runs.h5)")
    p.add_argument("--no-store", action="store_true", help="do not read or write the runs file")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="dtype of the ops' matrix products (default: %(default)s, the benchmark's own); "
                        "bfloat16 is mixed precision, faster on CPUs with bfloat16 units (recorded with each run)")
    add_root(p)
    add_benchmark(p)
    add_json(p)


def _add_executor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=("local", "pool", "dask"), default="local",
                   help="where jobs run (default: %(default)s)")
    p.add_argument("--workers", type=positive_int, default=2, help="pool / local Dask cluster size (default: %(default)s)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address, e.g. tcp://host:8786 (implies --executor dask)")


def _store(args: argparse.Namespace):
    """The runs store, read once now so a damaged file stops the command before any training
    (whether runs can be appended is checked where there is something to train: run_jobs)."""
    from nasbench_meta.harness.runs import RunsStore, runs_path

    if args.no_store:
        return None
    store = RunsStore(args.runs or runs_path(args.benchmark, args.root))
    store.done()
    return store


def _check_options(args: argparse.Namespace) -> None:
    """Refuse, before any work, a --device this machine does not have (counts are checked by argparse)."""
    if getattr(args, "naive", False) and args.precision != "float32":
        raise ValueError("--naive is the float32 PyG reference loop; leave --precision out with it")
    if getattr(args, "sample_seed", None) is not None and not getattr(args, "sample", None):
        raise ValueError("--sample-seed seeds the draw of --sample; leave it out with --archs or --keys-file")
    if args.no_store and args.runs:
        raise ValueError("--no-store keeps no runs, so --runs names a file nothing is written to; give one of them")
    if args.device is not None:
        _check_device(args.device, remote=bool(getattr(args, "scheduler", None)))


def _check_device(device: str, *, remote: bool) -> None:
    """``device`` must name a torch device this machine has (a remote cluster's is not checked)."""
    from nasbench_meta.harness.train import check_device

    check_device(device, local=not remote, label="--device")


def _run(args: argparse.Namespace) -> int:
    from nasbench_meta.harness.data import load_task
    from nasbench_meta.harness.train import train_naive
    from nasbench_meta.harness.validate import compare_with_table

    _check_options(args)
    bench = open_benchmark(args.benchmark, root=args.root)
    key = bench.space.key(args.arch)
    if args.naive:
        from nasbench_meta.harness.executors import Job

        store = _store(args)
        seeds = list(args.seeds)
        if store is not None:   # resumes like the batched trainer: a stored run of the seed is its run
            job = Job(key, args.task, seeds, epochs=args.epochs).without(store.done())
            seeds = list(job.seeds) if job is not None else []
            if len(seeds) < len(args.seeds):
                print(f"seeds {sorted(set(args.seeds) - set(seeds))} already stored in {store.path}: not trained "
                      "again (--no-store trains and times every seed, storing nothing)", file=sys.stderr)
            if seeds:
                store.check_writable()
        data = load_task(args.task, args.data_root) if seeds else None
        runs = [train_naive(key, args.task, data, s, device=args.device, epochs=args.epochs) for s in seeds]
        if store is not None:
            store.append(runs)
        rows = [r.summary() for r in runs]
        if args.json:
            print_json(rows)
        else:
            for r in rows:
                print(f"seed {r['seed']}: valid {100 * r['valid_acc']:.2f}  test {100 * r['test_acc']:.2f} "
                      f"(epoch {r['best_epoch']}), {r['train_time_s']:.1f} s on {r['device']}")
        return 0
    df, summary = compare_with_table(bench, args.task, [key], seeds=args.seeds, data_root=args.data_root,
                                     store=_store(args), epochs=args.epochs, device=args.device,
                                     precision=args.precision)
    return _report(args, df, summary)


def _keys(args: argparse.Namespace, bench) -> list:
    if args.archs:   # as typed: compare_with_table checks them all at once and quotes them (table_keys)
        return list(args.archs)
    if args.keys_file:
        return _keys_file(args.keys_file, bench)
    if args.sample_seed is None:
        raise ValueError("--sample needs --sample-seed (the draw is recorded and reproducible)")
    from nasbench_meta.harness.validate import sample_task_keys
    return sample_task_keys(bench, args.task, args.sample, args.sample_seed)


def _keys_file(path: str, bench) -> list[int]:
    """Keys of the architectures listed in ``path`` (one per line, ``#`` starts a comment line)."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ValueError(f"--keys-file {path}: cannot read it ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise ValueError(f"--keys-file {path} is not a text file; list one key or 'links|ops' "
                         f"per line") from None
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    entries = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if not entries:
        raise ValueError(f"--keys-file {path} lists no architectures, so there is nothing to train; "
                         f"list one key or 'links|ops' per line")
    keys = []
    for n, line in entries:
        try:
            keys.append(bench.space.key(line))
        except (LookupError, ValueError) as err:
            raise ValueError(f"--keys-file {path}, line {n}: {err}") from None
    return keys


def _executor(args: argparse.Namespace):
    from nasbench_meta.harness.executors import make_executor

    return make_executor(args.executor, workers=args.workers, scheduler=args.scheduler)


def _batch(args: argparse.Namespace) -> int:
    from nasbench_meta.harness.validate import compare_with_table

    _check_options(args)
    bench = open_benchmark(args.benchmark, root=args.root)
    keys, store = _keys(args, bench), _store(args)
    executor = _executor(args)
    try:
        df, summary = compare_with_table(bench, args.task, keys, seeds=args.seeds,
                                         data_root=args.data_root, executor=executor, store=store,
                                         epochs=args.epochs, device=args.device,
                                         precision=args.precision)
    finally:
        executor.close()
    if args.sample:
        summary.update(sample=args.sample, sample_seed=args.sample_seed)   # the draw, reproducible
    return _report(args, df, summary)


def _validate(args: argparse.Namespace) -> int:
    from nasbench_meta.harness.data import check_task_data
    from nasbench_meta.harness.validate import validate_predictions
    from nasbench_meta.predictors import predict_task, predict_with

    _check_options(args)
    model = model_for(args.model, args.task, args.config, "validating") if args.model else None
    bench = open_benchmark(args.benchmark, root=args.root)
    store = _store(args)
    check_task_data(args.task, args.data_root)   # before fitting the predictor
    # the predictor adapts from validation scores, as a search would see them
    if model is not None:
        predictions = predict_with(model, bench, args.task, shots=args.shots, seed=args.seed, split="valid")
    else:
        predictions = predict_task(args.predictor, bench, args.task, shots=args.shots, seed=args.seed, split="valid",
                                   config=json_object(args.config) if args.config else None)
    executor = _executor(args)
    try:
        df, summary = validate_predictions(bench, args.task, predictions, top=args.top, seeds=args.seeds,
                                           data_root=args.data_root, executor=executor,
                                           store=store, epochs=args.epochs, device=args.device,
                                           precision=args.precision)
    finally:
        executor.close()
    summary.update(shots=args.shots, support_seed=args.seed, predictor_seed=predictions.attrs["fit_info"]["seed"],
                   predictor_split="valid", predictor_file=args.model)
    return _report(args, df, summary)


def _report(args: argparse.Namespace, df, summary: dict) -> int:
    from nasbench_meta.harness.validate import format_report

    if args.json:
        print_json({"architectures": df.reset_index().to_dict(orient="records"), "summary": summary})
    else:
        print(format_report(df, summary))
    return 1 if summary["failures"] else 0
