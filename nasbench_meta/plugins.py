"""Users' own classes (NAS methods, predictors), named ``package.module:Class`` or ``path/to/file.py:Class``."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

SPEC_HELP = "'package.module:ClassName' or 'path/to/file.py:ClassName'"
_FILE_MODULE_PREFIX = "nasbench_meta_user_"


def class_spec(cls: type) -> str:
    """The spec that loads ``cls`` again in a fresh process (a file's path for classes from files)."""
    module = sys.modules.get(cls.__module__)
    where = getattr(module, "__file__", None) if cls.__module__.startswith(_FILE_MODULE_PREFIX) else None
    return f"{where or cls.__module__}:{cls.__qualname__}"


def code_digest(cls: type) -> "str | None":
    """A digest of the source file of a user's class (None for nasbench-meta's own, whose
    ``version`` says when they change): results cached for a user's class are stale once its code changes."""
    if cls.__module__.split(".")[0] == "nasbench_meta":
        return None
    try:
        return hashlib.sha256(Path(inspect.getsourcefile(cls)).read_bytes()).hexdigest()[:12]
    except (TypeError, OSError):   # defined interactively: no file to read
        return None


def load_class(spec: str, base: type, what: str) -> type:
    """The subclass of ``base`` that ``spec`` names (``what`` words the errors: "method", ...)."""
    where, _, cls_name = spec.strip().rpartition(":")
    if not where or not cls_name:
        raise LookupError(f"give your own {what} as {SPEC_HELP}, got {spec!r}")
    module = _load_module(where, what)
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise LookupError(f"{where} has no attribute {cls_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise LookupError(f"{spec} is not a subclass of {base.__module__}.{base.__qualname__}")
    return cls


def _load_module(where: str, what: str):
    if where.endswith(".py") or Path(where).is_file():
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise LookupError(f"no {what} file at {path}")
        # Stable module name per file, so worker processes and pickling agree.
        name = _FILE_MODULE_PREFIX + hashlib.sha1(str(path).encode()).hexdigest()[:12]
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
