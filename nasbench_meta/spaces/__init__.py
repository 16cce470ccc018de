"""Search spaces, looked up by the name stored in each benchmark file."""
from __future__ import annotations

from nasbench_meta.errors import UnknownNameError
from nasbench_meta.spaces.base import SearchSpace, UnknownArchitectureError
from nasbench_meta.spaces.nas_bench_graph import Architecture, NasBenchGraphSpace

_SPACES: dict[str, type[SearchSpace]] = {NasBenchGraphSpace.name: NasBenchGraphSpace}


def register_space(cls: type[SearchSpace]) -> type[SearchSpace]:
    """Make a space available to ``get_space`` (usable as a class decorator)."""
    _SPACES[cls.name] = cls
    return cls


def get_space(name: str, **kwargs) -> SearchSpace:
    """The search space registered as ``name`` (e.g. "nas-bench-graph"); ``kwargs`` go to its constructor."""
    try:
        return _SPACES[name](**kwargs)
    except KeyError:
        raise UnknownNameError(f"unknown search space {name!r}; known: {sorted(_SPACES)}") from None


__all__ = ["Architecture", "NasBenchGraphSpace", "SearchSpace", "UnknownArchitectureError",
           "get_space", "register_space"]
