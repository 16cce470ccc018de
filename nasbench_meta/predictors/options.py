"""What values a predictor's options take: one Rule per option (``Predictor.option_rules``), else
the check its default's type implies. Values are checked when a predictor is made, before any fit."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


class OptionValueError(ValueError):
    """A predictor option set to a value the predictor cannot use; raised on construction, before any fitting."""


class OptionTypeError(OptionValueError, TypeError):
    """An option value of the wrong type ("10" or 2.0 for a whole number, "no" for a flag): a
    TypeError, and an OptionValueError, so that callers (and the CLI) treat it like any bad value."""


@dataclass(frozen=True)
class Rule:
    """The values one predictor option takes (see ``Predictor.option_rules``); build one with
    ``whole``, ``real``, ``positive``, ``fraction``, ``flag`` or ``whole_list``.

    ``kind``: "whole" (int or numpy integer, never a bool or 2.0), "real" (any finite int or
    float), "bool", "whole list" (a non-empty list of whole numbers), "list", "str" or "dict".
    Numbers, and a whole list's items, lie in ``low`` .. ``high`` (``low`` itself excluded when
    ``open_low``); ``also``: values allowed besides (None, -1 for "all cores", "sqrt"...).
    A "real" keeps a whole number whole: libraries read 1 and 1.0 differently (scikit-learn's
    max_features: one feature, or all of them).
    """

    kind: str
    low: "float | None" = None
    high: "float | None" = None
    open_low: bool = False
    also: tuple = ()

    def describe(self) -> str:
        """What is allowed, in words: "a whole number >= 1", "a number in (0, 1]", ..."""
        noun = {"whole": "a whole number", "real": "a number", "bool": "true or false",
                "whole list": "a non-empty list of whole numbers", "list": "a list", "str": "a string",
                "dict": "a dict (JSON object)"}[self.kind]
        if self.kind == "real" and self.low == 0 and self.open_low and self.high is None:
            noun = "a positive number"
        elif self.kind == "real" and self.low is not None and self.high is not None:
            noun += f" in {'(' if self.open_low else '['}{_num(self.low)}, {_num(self.high)}]"
        elif self.low is not None and self.high is not None:
            noun += f" from {_num(self.low)} to {_num(self.high)}"
        elif self.low is not None:
            noun += f" {'>' if self.open_low else '>='} {_num(self.low)}"
        elif self.high is not None:
            noun += f" <= {_num(self.high)}"
        elif self.kind == "real":
            noun = "a finite number"
        return noun + "".join(f", or {v!r}" for v in self.also)

    def check(self, value: Any, label: str) -> Any:
        """``value`` if allowed (numpy scalars as Python ones, reals as floats, lists as lists of
        ints); else an OptionTypeError / OptionValueError "<label> must be <allowed>, got <repr>"."""
        if self._listed(value):
            return int(value) if _is_whole(value) else value
        kind, given = self.kind, value
        if kind == "bool":
            ok_type = ok = isinstance(value, (bool, np.bool_))
            value = bool(value) if ok else value
        elif kind == "whole":
            ok_type = _is_whole(value)
            value = int(value) if ok_type else value
            ok = ok_type and self._in_range(value)
        elif kind == "real":
            ok_type = _is_real(value)
            value = (int(value) if _is_whole(value) else _as_float(value)) if ok_type else value
            ok = ok_type and math.isfinite(value) and self._in_range(value)
        elif kind in ("whole list", "list"):
            ok_type = isinstance(value, (list, tuple)) and (kind == "list" or all(_is_whole(v) for v in value))
            value = ([int(v) for v in value] if kind == "whole list" else list(value)) if ok_type else value
            ok = ok_type and (kind == "list" or (len(value) > 0 and all(self._in_range(v) for v in value)))
        else:
            ok_type = ok = isinstance(value, {"str": str, "dict": dict}[kind])
        if not ok:
            error = OptionValueError if ok_type else OptionTypeError
            raise error(f"{label} must be {self.describe()}, got {given!r}")
        return value

    def _listed(self, value: Any) -> bool:
        for allowed in self.also:
            if allowed is None and value is None or isinstance(allowed, str) and isinstance(value, str) \
                    and value == allowed:
                return True
            if isinstance(allowed, int) and _is_whole(value) and int(value) == allowed:
                return True
        return False

    def _in_range(self, x: float) -> bool:
        if self.low is not None and (x <= self.low if self.open_low else x < self.low):
            return False
        return self.high is None or x <= self.high


def whole(low: "int | None" = None, high: "int | None" = None, *, none: bool = False, also: tuple = ()) -> Rule:
    """A whole number (int or numpy integer; not a bool, not 2.0) in ``low`` .. ``high``."""
    return Rule("whole", low, high, also=(*also, None) if none else also)


def real(low: "float | None" = None, high: "float | None" = None, *, open_low: bool = False,
         none: bool = False, also: tuple = ()) -> Rule:
    """A finite real number (int or float) in ``low`` .. ``high`` (``low`` excluded if ``open_low``)."""
    return Rule("real", low, high, open_low=open_low, also=(*also, None) if none else also)


def positive() -> Rule:
    """A finite number > 0 (a learning rate, a temperature)."""
    return real(0, open_low=True)


def fraction() -> Rule:
    """A number in (0, 1] (a subsampling ratio)."""
    return real(0, 1, open_low=True)


def flag() -> Rule:
    """True or false (not 0/1 and not a string such as "no")."""
    return Rule("bool")


def whole_list(low: "int | None" = 0) -> Rule:
    """A non-empty list of whole numbers >= ``low`` (e.g. support sizes K)."""
    return Rule("whole list", low)


def rule_for_default(default: Any) -> "Rule | None":
    """The check an option without a rule gets from its default's type (None: anything goes)."""
    if isinstance(default, (bool, np.bool_)):
        return flag()
    if isinstance(default, (int, np.integer)):
        return whole()
    if isinstance(default, (float, np.floating)):
        return real()
    for kind, types in (("list", (list, tuple)), ("str", str), ("dict", dict)):
        if isinstance(default, types):
            return Rule(kind)
    return None


def _is_whole(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _as_float(x: Any) -> float:
    try:
        return float(x)
    except OverflowError:  # an int too large for a float: out of any range
        return math.inf


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# threads for XGBoost and scikit-learn: a count, or -1 / None for all cores (0 means nothing to them)
THREADS = whole(1, also=(-1, None))
# XGBoost's options as our XGBoost predictors pass them on: max_depth 0 would be unlimited depth to
# XGBoost (a runaway fit)
XGBOOST_RULES = {"n_estimators": whole(1), "max_depth": whole(1), "learning_rate": positive(),
                 "subsample": fraction(), "colsample_bytree": fraction(), "n_jobs": THREADS}
