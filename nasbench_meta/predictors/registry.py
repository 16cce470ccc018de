"""Predictors by name: ``get_predictor("xgb-meta", **config)``, or a user's own class as
``get_predictor("my_predictor.py:MyPredictor")`` (it is registered under its ``name`` on first use)."""
from __future__ import annotations

import importlib
from typing import Any

from nasbench_meta.plugins import SPEC_HELP, is_ours, load_class
from nasbench_meta.predictors.base import Predictor, check_declaration, check_name

PREDICTORS: dict[str, type[Predictor]] = {}

# Modules whose classes register themselves on import, in the order `list` shows them.
_MODULES = ("transfer", "single_task", "meta_xgb", "meta_gnn", "meta_gp")


def register(cls: type[Predictor]) -> type[Predictor]:
    """Class decorator: make a predictor available by its ``name``."""
    PREDICTORS[check_name(cls)] = cls
    return cls


def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"nasbench_meta.predictors.{module}")


def is_built_in(name: str) -> bool:
    """Whether ``name`` is one of the toolkit's own predictors (not a user's, even one registered here)."""
    _load_all()
    cls = PREDICTORS.get(name)
    return cls is not None and is_ours(cls)


def predictor_class(name: "str | type[Predictor]") -> type[Predictor]:
    """A registered predictor by name, or a user's class by ``module:Class`` / ``file.py:Class``, or
    the class itself (registered under its ``name``, as a spec's class is)."""
    _load_all()
    if isinstance(name, type):
        if not issubclass(name, Predictor):
            raise TypeError(f"{name.__name__} is not a Predictor subclass")
        check_declaration(name)
        return _register_user(name, name.__name__)
    if name in PREDICTORS:
        return PREDICTORS[name]
    if ":" not in name:
        raise LookupError(f"unknown predictor {name!r}; available: {', '.join(PREDICTORS)}, "
                          f"or give your own as {SPEC_HELP}")
    cls = load_class(name, Predictor, "predictor")
    try:
        check_declaration(cls)
    except TypeError as exc:   # a usage error on the command line, not a crash
        raise LookupError(f"{name}: {exc}") from None
    return _register_user(cls, name)


def _register_user(cls: type[Predictor], label: str) -> type[Predictor]:
    """Register a user's class under its name, unless another predictor has that name; the same
    class defined again (edited and run again in a notebook) replaces its earlier definition."""
    known = PREDICTORS.get(cls.name, cls)
    redefined = not is_ours(known) and (known.__module__, known.__qualname__) == (cls.__module__, cls.__qualname__)
    if known is not cls and not redefined:
        raise LookupError(f"{label} is named {cls.name!r}, which another predictor already uses; rename it")
    return register(cls)


def available_predictors() -> list[str]:
    """Names of every registered predictor."""
    _load_all()
    return list(PREDICTORS)


def get_predictor(name: "str | type[Predictor]", **config: Any) -> Predictor:
    """A new, unfitted predictor: ``name`` is a registered name, a spec (``file.py:Class``) or a
    Predictor subclass; ``config`` overrides its defaults (unknown options raise)."""
    if isinstance(name, type) and issubclass(name, Predictor):
        return name(**config)
    if isinstance(name, Predictor):
        raise TypeError(f"get_predictor makes a new predictor from a name or class; {name!r} is already one "
                        f"(use it as it is, or pass {type(name).__name__})")
    return predictor_class(name)(**config)
