"""Random search: distinct architectures drawn uniformly without replacement."""
from __future__ import annotations

from nasbench_meta.search.api import Method


class RandomSearch(Method):
    name = "rs"
    version = "1"

    def start(self) -> None:
        self._order = self.rng.permutation(self.problem.candidates)
        self._next = 0

    def ask(self, n: int) -> list[int]:
        out = self._order[self._next:self._next + n].tolist()
        self._next += len(out)
        return out
