"""Graph data: read-only roots are copied, missing data fails up front with what to do."""
from __future__ import annotations

import os
import shutil
import stat
import urllib.error

import pytest
import torch_geometric.datasets.planetoid as pyg_planetoid

from nasbench_meta.harness.data import TaskDataError, _load_planetoid, load_task
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


def test_read_only_root_is_copied_not_written(tmp_path, planetoid_root, monkeypatch):
    ro = tmp_path / "ro"
    shutil.copytree(planetoid_root / "Cora" / "raw", ro / "Cora" / "raw")
    for path in (ro / "Cora" / "raw", ro / "Cora", ro):
        os.chmod(path, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    monkeypatch.setenv("NASBENCH_META_HOME", str(tmp_path / "home"))
    _load_planetoid.cache_clear()
    try:
        data = load_task("cora", ro)
    finally:
        for path in (ro, ro / "Cora", ro / "Cora" / "raw"):
            os.chmod(path, stat.S_IRWXU)
        _load_planetoid.cache_clear()
    assert data.num_nodes == 2708 and data.num_classes == 7
    assert not (ro / "Cora" / "processed").exists()
    assert (tmp_path / "home" / "planetoid" / "Cora" / "processed").is_dir()
