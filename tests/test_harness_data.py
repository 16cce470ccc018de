"""Graph data: read-only roots are copied, missing data fails up front with what to do."""
from __future__ import annotations

import os
import shutil
import stat
import urllib.error
from pathlib import Path

import pytest
import torch_geometric.datasets.planetoid as pyg_planetoid

from nasbench_meta.harness.data import DATA_ENV, TaskDataError, _load_planetoid, load_task
from nasbench_meta.harness.executors import Job, run_jobs


@pytest.fixture
def offline(monkeypatch):
    def no_network(self):
        raise urllib.error.URLError("network disabled in this test")
    monkeypatch.setattr(pyg_planetoid.Planetoid, "download", no_network)
    _load_planetoid.cache_clear()
    yield
    _load_planetoid.cache_clear()


def test_missing_planetoid_says_what_to_download_and_where(tmp_path, offline):
    for task, name in (("cora", "Cora"), ("pubmed", "PubMed")):
        with pytest.raises(TaskDataError) as err:
            load_task(task, tmp_path)
        msg = str(err.value)
        assert f"ind.{task}.x" in msg and "ind.{}.graph".format(task) in msg
        assert str(tmp_path / name / "raw") in msg and "github.com/kimiyoung/planetoid" in msg


def test_a_batch_fails_before_training_when_data_is_missing(tmp_path, offline):
    with pytest.raises(TaskDataError, match="PubMed"):
        run_jobs([Job(88881, "pubmed", (0,), epochs=1, data_root=str(tmp_path / "none"))], None,
                 progress=False)


def test_tasks_without_a_loader_are_named(tmp_path):
    with pytest.raises(TaskDataError, match="Coauthor"):
        load_task("cs", tmp_path)


def _read_only(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True) + [root]:
        os.chmod(path, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)


def _writable_again(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.chmod(path, stat.S_IRWXU)


@pytest.fixture
def read_only_cora(tmp_path, planetoid_root, monkeypatch):
    ro = tmp_path / "ro"
    shutil.copytree(planetoid_root / "Cora" / "raw", ro / "Cora" / "raw")
    _read_only(ro)
    monkeypatch.setenv("NASBENCH_META_HOME", str(tmp_path / "home"))
    _load_planetoid.cache_clear()
    yield ro
    _writable_again(ro)
    _load_planetoid.cache_clear()


def test_read_only_root_is_copied_not_written(tmp_path, read_only_cora):
    data = load_task("cora", read_only_cora)
    assert data.num_nodes == 2708 and data.num_classes == 7
    assert not (read_only_cora / "Cora" / "processed").exists()
    assert len(list((tmp_path / "home" / "cache" / "planetoid").glob("*/Cora/processed/data.pt"))) == 1


def test_a_changed_read_only_root_is_copied_again(planetoid_root, read_only_cora):
    load_task("cora", read_only_cora)
    x = read_only_cora / "Cora" / "raw" / "ind.cora.x"
    _writable_again(read_only_cora)
    x.write_bytes(x.read_bytes()[:10000])   # damaged after the first copy was made
    _read_only(read_only_cora)
    _load_planetoid.cache_clear()
    with pytest.raises(TaskDataError) as err:
        load_task("cora", read_only_cora)
    msg = str(err.value)
    assert f"raw files under {read_only_cora / 'Cora' / 'raw'} are damaged (ind.cora.x: cannot be read" in msg
    _writable_again(read_only_cora)
    shutil.copy2(planetoid_root / "Cora" / "raw" / "ind.cora.x", x)   # repaired
    _read_only(read_only_cora)
    _load_planetoid.cache_clear()
    assert load_task("cora", read_only_cora).num_nodes == 2708


@pytest.mark.parametrize("given_by", ["argument", "environment"])
def test_a_given_root_that_does_not_exist_is_an_error(tmp_path, planetoid_root, monkeypatch, given_by):
    monkeypatch.setenv("NASBENCH_META_HOME", str(tmp_path / "home"))
    # The default root holds Cora: it must not stand in for the root that was asked for.
    shutil.copytree(planetoid_root / "Cora" / "raw", tmp_path / "home" / "planetoid" / "Cora" / "raw")
    _load_planetoid.cache_clear()
    missing = tmp_path / "no" / "such" / "dir"
    if given_by == "environment":
        monkeypatch.setenv(DATA_ENV, str(missing))
    with pytest.raises(TaskDataError) as err:
        load_task("cora", missing if given_by == "argument" else None)
    option = "--data-root" if given_by == "argument" else f"${DATA_ENV}"
    assert f"data root {missing} (given by {option}) does not exist" in str(err.value)
    assert "Cora/raw/" in str(err.value) and "ind.cora.x" in str(err.value)


@pytest.mark.parametrize("damage, named, why", [
    ("cut ind.cora.x", "ind.cora.x", "cannot be read: UnpicklingError"),
    ("cut ind.cora.test.index", "ind.cora.test.index", "400 test nodes, not 1433, 7 and 1000"),
])
def test_damaged_raw_files_are_named_not_called_missing(tmp_path, planetoid_root, offline, damage, named, why):
    raw = tmp_path / "Cora" / "raw"
    shutil.copytree(planetoid_root / "Cora" / "raw", raw)
    for path in raw.iterdir():
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    path = raw / damage.split()[-1]
    path.write_bytes(path.read_bytes()[:10000 if named == "ind.cora.x" else 2000])
    with pytest.raises(TaskDataError) as err:
        load_task("cora", tmp_path)
    msg = str(err.value)
    assert f"raw files under {raw} are damaged" in msg and named in msg and why in msg
    assert "downloading failed" not in msg and "lacks" not in msg
