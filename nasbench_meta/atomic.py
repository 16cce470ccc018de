"""Atomic file writes: readers see the old file or the new one, never half of one."""
from __future__ import annotations

import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


@contextmanager
def atomic_path(path: "str | os.PathLike[str]") -> Iterator[Path]:
    """A new, empty temporary sibling of ``path`` for a writer that opens files by name (h5py);
    once the block ends it is synced and renamed over ``path``, on any error it is removed and
    ``path`` is left as it was.

    A new file gets the permissions a plain ``open`` gives (0666 less the umask), a rewritten
    one keeps its own; a symlink keeps pointing at its (rewritten) target.
    """
    path = Path(path)
    path = path.resolve() if path.is_symlink() else path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never another's file; mode 0o666: the kernel applies the umask (mkstemp gives 0600)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)  # its permissions, no setuid bits
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(path: "str | os.PathLike[str]", mode: str = "wb") -> Iterator[IO[Any]]:
    """``atomic_path``, opened for writing in ``mode``."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


def atomic_write(path: "str | os.PathLike[str]", data: bytes) -> None:
    with atomic_file(path, "wb") as f:
        f.write(data)


def remove_abandoned(path: "str | os.PathLike[str]") -> None:
    """Delete temporaries of ``path`` that killed writers left behind (a benchmark's size, say).
    One is abandoned when no process holds a lock on it (HDF5 locks what it writes) and it is over
    an hour old: writers on another host sharing the directory are invisible otherwise."""
    path = Path(path)
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime > 3600 and not _locked(tmp):
                tmp.unlink()
        except OSError:
            pass  # someone else's, or gone already: not this writer's business


def _locked(path: Path) -> bool:
    """Whether a process holds a lock on ``path``."""
    try:
        import fcntl
    except ImportError:  # Windows: an open file cannot be deleted there anyway
        return False
    with open(path, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


@contextmanager
def file_lock(path: "str | os.PathLike[str]", *, exclusive: bool) -> Iterator[None]:
    """Hold an advisory lock (``flock``) on the lock file ``path`` for the block: one exclusive
    holder, or any number of shared ones; others wait. Where the lock file cannot be created (a
    read-only folder: nobody writes there) or on systems without ``fcntl``, the block runs unlocked."""
    try:
        import fcntl
    except ImportError:   # Windows: no flock
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        try:   # another user's lock file: flock works on a read-only descriptor too
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            yield
            return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except OSError:   # a filesystem without flock (some NFS setups): unlocked, as without fcntl
            pass
        yield
    finally:
        os.close(fd)   # closing releases the lock

