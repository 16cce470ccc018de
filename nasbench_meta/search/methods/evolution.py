"""Regularized evolution (Real et al., 2019): aging population, tournament selection.

A random initial population, then each child is a one-edit mutation of the best of
``sample_size`` members drawn from the population; the oldest member dies. Children
that were queried before are free re-queries and join the population as usual; after
``max_duplicates`` such children in a row a random new architecture is injected so the
search cannot stall once every neighbour of the population is known.
"""
from __future__ import annotations

from collections import deque

from nasbench_meta.search.api import Method


class RegularizedEvolution(Method):
    name = "re"
    version = "1"
    defaults = {"population_size": 20, "sample_size": 5, "max_duplicates": 50}

    def start(self) -> None:
        self.population: deque[tuple[int, float]] = deque(maxlen=int(self.config["population_size"]))
        self._duplicates = 0

    def ask(self, n: int) -> list[int]:
        missing = self.config["population_size"] - len(self.scores)
        if missing > 0:
            return self.problem.sample(self.rng, min(n, missing), exclude=self.scores).tolist()
        if self._duplicates >= self.config["max_duplicates"]:
            self._duplicates = 0
            return self.problem.sample(self.rng, 1, exclude=self.scores).tolist()
        return [self._child() for _ in range(n)]

    def _child(self) -> int:
        size = min(int(self.config["sample_size"]), len(self.population))
        picks = self.rng.choice(len(self.population), size=size, replace=False)
        parent = max((self.population[i] for i in picks), key=lambda member: member[1])
        return self.problem.mutate(parent[0], self.rng)

    def tell(self, observations) -> None:
        super().tell(observations)
        for obs in observations:
            self.population.append((obs.key, obs.valid_score))
            self._duplicates = self._duplicates + 1 if obs.repeated else 0
