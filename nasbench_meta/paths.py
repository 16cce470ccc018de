"""Where nasbench-meta keeps its files on a user's machine."""
from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "NASBENCH_META_HOME"


def data_root(root: "str | os.PathLike[str] | None" = None) -> Path:
    """The data directory: ``root`` if given, else $NASBENCH_META_HOME, else $XDG_DATA_HOME/nasbench-meta,
    else ~/.local/share/nasbench-meta. An empty ``root`` is an error: an unset variable in a script
    (``--root "$DIR"``) would otherwise mean the current directory."""
    if root is not None:
        if not str(root).strip():
            raise ValueError("the data directory (--root) is empty; give a directory, or leave --root out to use "
                             f"${HOME_ENV} or the default")
        return Path(root).expanduser()
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    xdg = Path(os.environ.get("XDG_DATA_HOME") or "").expanduser()
    if not xdg.is_absolute():   # unset, empty or relative: the XDG spec says to use the default
        xdg = Path.home() / ".local" / "share"
    return xdg / "nasbench-meta"


def benchmark_path(name: str, root: "str | os.PathLike[str] | None" = None) -> Path:
    """Path of a benchmark's HDF5 file under the data directory."""
    return data_root(root) / "benchmarks" / f"{name}.h5"


def source_checkout() -> "Path | None":
    """Root of the nasbench-meta source checkout this package runs from, if it runs from one."""
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file() and (repo / "leaderboards").is_dir():
        return repo
    return None
