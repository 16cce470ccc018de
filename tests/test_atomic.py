"""Atomic writes: old or new file, never half of one, with the permissions a plain open gives."""
from __future__ import annotations

import os
import stat

import pytest

from nasbench_meta.atomic import atomic_write


def test_a_new_file_gets_the_umask_permissions_and_an_old_one_keeps_its_own(tmp_path):
    # boards and results are read by others (a web server, colleagues): mkstemp alone made them 0600
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "board.html", b"<html/>")
        assert stat.S_IMODE((tmp_path / "board.html").stat().st_mode) == 0o644
        (tmp_path / "board.html").chmod(0o640)
        atomic_write(tmp_path / "board.html", b"<html>2</html>")
        assert stat.S_IMODE((tmp_path / "board.html").stat().st_mode) == 0o640
        assert (tmp_path / "board.html").read_bytes() == b"<html>2</html>"
    finally:
        os.umask(old)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    from nasbench_meta.atomic import atomic_file

    atomic_write(tmp_path / "r.json", b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(tmp_path / "r.json") as f:
            f.write(b"half")
            raise RuntimeError("crash mid-write")
    assert (tmp_path / "r.json").read_bytes() == b"old" and os.listdir(tmp_path) == ["r.json"]


def test_a_symlink_keeps_pointing_at_its_rewritten_target(tmp_path):
    target = tmp_path / "real.json"
    atomic_write(target, b"old")
    (tmp_path / "link.json").symlink_to(target)
    atomic_write(tmp_path / "link.json", b"new")
    assert (tmp_path / "link.json").is_symlink() and target.read_bytes() == b"new"
