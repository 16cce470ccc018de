"""What every search space offers the store, the query API, predictors and searches."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


class UnknownArchitectureError(ValueError):
    """An architecture, string or key that is not part of a search space."""


def as_keys(keys: Any, what: str = "keys") -> np.ndarray:
    """``keys`` as a flat int64 array. Whole numbers only: 30141.9 is no key, and truncating it
    would silently answer for key 30141. Integer-valued floats, objects and strings pass."""
    given = np.asarray(keys)
    if given.dtype.kind in "iu":
        return given.astype(np.int64).reshape(-1)
    if given.size == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        values = given.astype(np.float64).reshape(-1) if given.dtype.kind != "b" else None
    except (TypeError, ValueError):
        values = None
    if values is None or not np.all(np.isfinite(values) & (values == np.round(values))):
        raise UnknownArchitectureError(
            f"{what} must be integer table keys, got {given.reshape(-1)[:3].tolist()}"
            f"{' ...' if given.size > 3 else ''} (space.key(...) turns \"links|ops\" strings into keys)")
    return values.astype(np.int64)


def _check_rng(rng: Any) -> None:
    if not isinstance(rng, np.random.Generator):   # a seed passed where the generator goes
        raise TypeError(f"rng must be a numpy Generator, e.g. np.random.default_rng(seed), got {rng!r}")


class SearchSpace(ABC):
    """A finite space of architectures identified by integer table keys."""

    name: str

    @abstractmethod
    def keys(self) -> np.ndarray:
        """All canonical keys, in the space's documented enumeration order."""

    @abstractmethod
    def architecture(self, key: int) -> Any:
        """The architecture object of a key."""

    @abstractmethod
    def key(self, arch: Any) -> int:
        """The canonical key of an architecture object, string or key."""

    @abstractmethod
    def parse(self, text: "str | int") -> Any:
        """An architecture from its human-readable string (or key)."""

    @abstractmethod
    def format(self, key: int) -> str:
        """The human-readable string of a key, accepted back by ``parse``."""

    @abstractmethod
    def arch_columns(self, keys: np.ndarray) -> dict[str, np.ndarray]:
        """Fixed-width arrays describing each architecture, stored beside the keys."""

    @abstractmethod
    def column_attrs(self) -> dict[str, dict[str, "str | int"]]:
        """HDF5 attributes that document each column of ``arch_columns``.

        Each column's ``cardinality`` (number of distinct values per entry) drives one-hot encoding.
        """

    @abstractmethod
    def neighbours(self, key: int) -> np.ndarray:
        """Canonical keys at edit distance one, deduplicated, sorted, without ``key``."""

    @abstractmethod
    def graph(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        """(node feature ids, edge_index of shape (2, E)) of the architecture's DAG."""

    def graphs(self, keys: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``graph`` of many keys; spaces override it with a vectorised version."""
        return [self.graph(int(k)) for k in keys]

    @abstractmethod
    def node_vocabulary(self) -> tuple[str, ...]:
        """Names of the node feature ids used by ``graph``."""

    def sample(self, rng: np.random.Generator, n: int, replace: bool = False) -> np.ndarray:
        """Uniform sample of ``n`` canonical keys."""
        _check_rng(rng)
        return rng.choice(self.keys(), size=n, replace=replace)

    def mutate(self, key: int, rng: np.random.Generator) -> int:
        """A uniformly chosen neighbour at edit distance one."""
        _check_rng(rng)
        return int(rng.choice(self.neighbours(key)))
