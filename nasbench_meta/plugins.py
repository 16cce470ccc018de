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


def is_ours(cls: type) -> bool:
    """Whether ``cls`` is nasbench-meta's own (a built-in method or predictor), not a user's."""
    return cls.__module__.split(".")[0] == "nasbench_meta"


def code_digest(cls: type) -> "str | None":
    """A digest of the source file of a user's class as this process loaded it (None for
    nasbench-meta's own, whose ``version`` says when they change, and for classes without a
    file): results of a user's class are stale once its code changes."""
    if is_ours(cls):
        return None
    module = sys.modules.get(cls.__module__)
    if module is not None and _DIGEST in vars(module):
        return vars(module)[_DIGEST]
    try:
        digest = _digest(Path(inspect.getsourcefile(cls)).read_bytes())
    except (TypeError, OSError):   # defined interactively: no file to read
        return None
    if module is not None:
        setattr(module, _DIGEST, digest)   # the file as first seen here: a later edit does not run here
    return digest


_DIGEST = "__nasbench_meta_code_digest__"


def _digest(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()[:12]


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
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:   # else "Can't instantiate abstract class" came as a traceback, from wherever it was made
        raise LookupError(f"{spec} does not define {', '.join(missing)}, which every {what} must "
                          f"(see {base.__qualname__})")
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
            source = path.read_bytes()
            setattr(module, _DIGEST, _digest(source))   # of the code that runs, even if the file changes later
            sys.modules[name] = module
            try:
                # dont_inherit: the file's own __future__ imports only, not this module's
                exec(compile(source, str(path), "exec", dont_inherit=True), vars(module))
            except BaseException:
                del sys.modules[name]
                raise
        return sys.modules[name]
    try:
        module = importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise LookupError(f"cannot import {where!r} ({exc}); is it installed or on PYTHONPATH?") from None
    if _DIGEST not in vars(module) and getattr(module, "__file__", None):
        try:   # the file as imported now (a later edit does not run in this process)
            setattr(module, _DIGEST, _digest(Path(module.__file__).read_bytes()))
        except OSError:
            pass
    return module
