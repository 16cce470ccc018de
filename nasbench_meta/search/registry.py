"""Look methods up by name, ``module:Class`` or ``path/to/file.py:Class``."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

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
                          "or give your own as 'package.module:ClassName' or 'path/to/file.py:ClassName'")
    where, _, cls_name = (target or spec).rpartition(":")
    module = _load_module(where)
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise LookupError(f"{where} has no attribute {cls_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise LookupError(f"{spec} is not a subclass of nasbench_meta.search.Method")
    return cls


def _load_module(where: str):
    if where.endswith(".py") or Path(where).is_file():
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise LookupError(f"no method file at {path}")
        # Stable module name per file, so worker processes and pickling agree.
        name = "nasbench_meta_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        if name not in sys.modules:
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
        return sys.modules[name]
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise LookupError(f"cannot import {where!r} ({exc}); is it installed or on PYTHONPATH?") from None


def make_method(spec: str, config: "dict | None" = None) -> Method:
    """An instance of the method ``spec`` with options ``config``."""
    cls = method_class(spec)
    try:
        return cls(**(config or {}))
    except TypeError as exc:
        raise ValueError(str(exc)) from None
