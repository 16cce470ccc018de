"""Predictors by name: ``get_predictor("xgb-meta", **config)``."""
from __future__ import annotations

import importlib
from typing import Any

from nasbench_meta.predictors.base import Predictor

PREDICTORS: dict[str, type[Predictor]] = {}

# Modules whose classes register themselves on import, in the order `list` shows them.
_MODULES = ("transfer", "single_task", "meta_xgb", "meta_gnn", "meta_gp")


def register(cls: type[Predictor]) -> type[Predictor]:
    """Class decorator: make a predictor available by its ``name``."""
    PREDICTORS[cls.name] = cls
    return cls


def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"nasbench_meta.predictors.{module}")


def predictor_class(name: str) -> type[Predictor]:
    _load_all()
    try:
        return PREDICTORS[name]
    except KeyError:
        raise LookupError(f"unknown predictor {name!r}; available: {', '.join(PREDICTORS)}") from None


def available_predictors() -> list[str]:
    """Names of every registered predictor."""
    _load_all()
    return list(PREDICTORS)


def get_predictor(name: str, **config: Any) -> Predictor:
    """A new, unfitted predictor; ``config`` overrides its defaults (unknown options raise)."""
    return predictor_class(name)(**config)
