"""Look methods up by name, ``module:Class`` or ``path/to/file.py:Class``."""
from __future__ import annotations

from nasbench_meta.plugins import SPEC_HELP, load_class
from nasbench_meta.search.api import Method

# Built-in baselines; the classes live in nasbench_meta.search.methods.
_BUILTIN: dict[str, str] = {
    "rs": "nasbench_meta.search.methods.random_search:RandomSearch",
    "re": "nasbench_meta.search.methods.evolution:RegularizedEvolution",
    "ls": "nasbench_meta.search.methods.local_search:LocalSearch",
    "bananas": "nasbench_meta.search.methods.bananas:Bananas",
    "meta": "nasbench_meta.search.methods.meta_warmstart:MetaWarmStart",
}
ALIASES: dict[str, str] = {"random-search": "rs", "regularized-evolution": "re", "local-search": "ls"}
BUILTIN_METHODS: tuple[str, ...] = tuple(_BUILTIN)


def method_class(spec: str) -> type[Method]:
    """The Method class a spec names: a built-in name, ``module:Class`` or ``file.py:Class``."""
    spec = spec.strip()
    target = _BUILTIN.get(ALIASES.get(spec, spec))
    if target is None and ":" not in spec:
        raise LookupError(f"unknown method {spec!r}; built-in methods: {', '.join(BUILTIN_METHODS)}, "
                          f"or give your own as {SPEC_HELP}")
    return load_class(target or spec, Method, "method")


def make_method(spec: "str | type[Method]", config: "dict | None" = None) -> Method:
    """An instance of the method ``spec`` (a name, spec or Method subclass) with options ``config``;
    an unknown option is a ValueError either way."""
    cls = spec if isinstance(spec, type) else method_class(spec)
    try:
        return cls(**(config or {}))
    except TypeError as exc:
        raise ValueError(str(exc)) from None
