"""Local search: hill climbing over one-edit neighbourhoods, with random restarts.

Start from the best of ``num_init`` random architectures and visit its neighbourhood
(one-edit changes) in random order. ``move="first"`` (the default, version 2) moves to
the first neighbour that beats the centre; ``move="best"`` (NASLib's variant, version 1)
evaluates the whole neighbourhood and moves to its best. A centre no neighbour beats is a
local optimum: the search restarts from a new random architecture. Neighbours already
known cost nothing and are reused.

First improvement is the default because a neighbourhood here holds about 40
architectures: at 100 queries best improvement spends the budget on two or three of them.
Measured with 100 queries and 20 seeds, first improvement has the lower mean final test
regret on all 8 complete tasks (best improvement lost to random search on photo).
"""
from __future__ import annotations

import numpy as np

from nasbench_meta.search.api import Method


class LocalSearch(Method):
    name = "ls"
    version = "2"
    defaults = {"num_init": 10, "move": "first"}

    def start(self) -> None:
        if self.config["move"] not in ("first", "best"):
            raise ValueError(f"local search: move must be 'first' or 'best', got {self.config['move']!r}")
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
            if self.config["move"] == "first":
                self.queue = []

    def tell(self, observations) -> None:
        super().tell(observations)
        if self.centre is not None:
            for obs in observations:
                self._consider(obs.key)
