"""Search warm-started by a predictor meta-trained on the *other* tasks.

``prepare`` (run once per target task, outside any search) fits the predictor on every
complete task except the target, with a recorded ``predictor_seed``, and caches the
fitted predictor on disk keyed by (benchmark, predictor, config, source tasks, seed):
all seeds of a target share one predictor. The search then:

1. ranks every candidate with the predictor at K = 0 (no target measurement) and
   queries ``initial`` architectures drawn by the run's generator from the top
   ``initial_pool`` (this is where seeds differ);
2. repeatedly re-adapts the predictor with every measured architecture as support
   (K = queries so far) and queries the ``batch`` best-predicted unmeasured candidates
   among the top ``pool_size`` of the K = 0 ranking plus every one-edit mutation of the
   ``num_parents`` best measured architectures.

The default predictor is ``weighted-rank`` (source-task ranks weighted by their Spearman
agreement with the support set): it adapts to the target from K >= 3 measurements and
fits in seconds. ``{"predictor": "xgb-meta"}`` works too but meta-trains for minutes per
target (cached after the first run).
"""
from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_meta.search.api import Method

if TYPE_CHECKING:
    from nasbench_meta.benchmark import Benchmark


class MetaWarmStart(Method):
    name = "meta"
    version = "1"
    defaults = {"predictor": "weighted-rank", "predictor_config": {}, "predictor_seed": 0,
                "source_tasks": None, "predictor_file": None, "initial": 5, "initial_pool": 20,
                "batch": 5, "pool_size": 2000, "num_parents": 3}
    local_files = ("predictor_file",)  # recorded by name: it holds the fit's identity digest

    @classmethod
    def prepare(cls, bench: "Benchmark", task: str, config: dict[str, Any], *, cache_dir: Any) -> dict[str, Any]:
        from nasbench_meta.predictors import get_predictor, source_tasks_for

        config = {**cls.defaults, **config}
        if config["predictor_file"]:
            return _described(config["predictor_file"])
        sources = list(config["source_tasks"] or source_tasks_for(bench, task))
        if task in sources:
            raise ValueError(f"the meta-predictor must not be trained on the target task {task}; "
                             f"drop it from source_tasks {sources}")
        predictor = get_predictor(config["predictor"], **config["predictor_config"])
        identity = {"benchmark": bench.name, "num_architectures": len(bench.keys),
                    "predictor": predictor.name, "version": predictor.version, "config": predictor.config,
                    "sources": sources, "split": "valid", "seed": int(config["predictor_seed"])}
        digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
        path = Path(cache_dir) / f"{bench.name}-{predictor.name}-for-{task}-seed{config['predictor_seed']}-{digest}.npz"
        if not path.exists():
            print(f"fitting {predictor.name} on {', '.join(sources)} for target {task} "   # stderr: not into --json
                  f"(seed {config['predictor_seed']}); cached at {path}", file=sys.stderr, flush=True)
            predictor.fit(bench, sources, split="valid", seed=int(config["predictor_seed"]))
            predictor.save(path)
        return {"source_tasks": sources, "predictor_file": str(path)}

    def start(self) -> None:
        if not self.config["predictor_file"]:
            raise ValueError("meta needs a fitted predictor: run it through nasbench_meta.search.run_seeds / "
                             "the CLI (which call MetaWarmStart.prepare), or set predictor_file")
        self.predictor = _load(self.config["predictor_file"])
        sources = self.predictor.fit_info["source_tasks"]
        if self.problem.task in sources:
            raise ValueError(f"predictor {self.config['predictor_file']} was trained on the target task "
                             f"{self.problem.task}; train it on other tasks only")
        candidates = self.problem.candidates
        prior = self.predictor.predict(candidates, support_keys=[], support_scores=[])
        order = np.argsort(-prior, kind="stable")
        self._pool = candidates[order[:int(self.config["pool_size"])]]
        top = candidates[order[:int(self.config["initial_pool"])]]
        self.pending = self.rng.choice(top, size=min(len(top), int(self.config["initial"])), replace=False).tolist()

    def ask(self, n: int) -> list[int]:
        return self.serve_planned(n, self._next_batch)  # one re-adaptation per planned batch

    def _next_batch(self) -> list[int]:
        support = np.fromiter(self.scores, dtype=np.int64, count=len(self.scores))
        values = np.fromiter(self.scores.values(), dtype=np.float64, count=len(self.scores))
        parents = support[np.argsort(-values, kind="stable")[:int(self.config["num_parents"])]]
        pool = set(self._pool.tolist())
        for parent in parents:
            pool.update(self.problem.neighbours(int(parent)).tolist())
        pool.difference_update(self.scores)
        if not pool:  # the pool is exhausted: fall back to uniform sampling
            return self.problem.sample(self.rng, 1, exclude=self.scores).tolist()
        pool_keys = np.array(sorted(pool), dtype=np.int64)
        predicted = self.predictor.predict(pool_keys, support_keys=support, support_scores=values)
        return pool_keys[np.argsort(-predicted, kind="stable")[:int(self.config["batch"])]].tolist()


def _described(path: str) -> dict[str, Any]:
    """A given predictor file's identity, recorded in the results in place of the file's path:
    two files fitted alike rank alike, two fitted otherwise must not resume or merge as one."""
    predictor = _load(str(path))
    return {"predictor": predictor.name, "predictor_config": dict(predictor.config),
            "source_tasks": list(predictor.fit_info["source_tasks"]),
            "predictor_seed": int(predictor.fit_info["seed"])}


@lru_cache(maxsize=4)
def _load(path: str):
    from nasbench_meta.predictors import load_predictor

    return load_predictor(path)
