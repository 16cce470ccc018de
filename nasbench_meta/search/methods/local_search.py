"""Local search as in NAS-Bench-Suite / NASLib: best-improvement hill climbing with restarts.

Start from the best of ``num_init`` random architectures; evaluate its whole
neighbourhood (one-edit changes, random order); move to the best architecture found if
it beats the centre, otherwise the centre is a local optimum and the search restarts
from a new random architecture. Neighbours already known cost nothing and are reused.
"""
from __future__ import annotations

import numpy as np

from nasbench_meta.search.api import Method


class LocalSearch(Method):
    name = "ls"
    version = "1"
    defaults = {"num_init": 10}

    def start(self) -> None:
        self.centre: "int | None" = None
        self.climb_best: "int | None" = None
        self.queue: list[int] = []

    def ask(self, n: int) -> list[int]:
        # Strictly sequential: each proposal depends on the result of the previous one.
        if len(self.scores) < self.config["num_init"]:
            return self.problem.sample(self.rng, 1, exclude=self.scores).tolist()
        if self.centre is None:
            self._move_to(self.best())
        while True:
            while self.queue:
                key = self.queue.pop()
                if key not in self.scores:
                    return [key]
                self._consider(key)
            if self.climb_best != self.centre:
                self._move_to(self.climb_best)
                continue
            restart = int(self.problem.sample(self.rng, 1, exclude=self.scores)[0])
            self._move_to(restart)
            return [restart]

    def _move_to(self, key: int) -> None:
        self.centre = self.climb_best = key
        self.queue = self.rng.permutation(self.problem.neighbours(key)).tolist()

    def _consider(self, key: int) -> None:
        if self.scores[key] > self.scores.get(self.climb_best, -np.inf):
            self.climb_best = key

    def tell(self, observations) -> None:
        super().tell(observations)
        if self.centre is not None:
            for obs in observations:
                self._consider(obs.key)
