"""Atomic file writes: readers see the old file or the new one, never half of one."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


@contextmanager
def atomic_file(path: "str | os.PathLike[str]", mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; on success it is synced and renamed
    over ``path``, on any error it is removed and ``path`` is left as it was.

    A new file gets the permissions a plain ``open`` gives (0666 less the umask), a rewritten
    one keeps its own; a symlink keeps pointing at its (rewritten) target.
    """
    path = Path(path)
    path = path.resolve() if path.is_symlink() else path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never another's file; mode 0o666: the kernel applies the umask (mkstemp gives 0600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode) as f:
            if path.exists():
                os.chmod(tmp, path.stat().st_mode & 0o777)  # its permissions, no setuid bits
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: "str | os.PathLike[str]", data: bytes) -> None:
    with atomic_file(path, "wb") as f:
        f.write(data)
