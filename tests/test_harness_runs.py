"""The runs store: append as runs finish, resume after an interruption, no duplicates."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from nasbench_meta.harness.executors import Job, LocalExecutor, run_jobs
from nasbench_meta.harness.runs import RunsStore

ARCHS = [88881, 88887]  # cheap: one gcn / fc on the raw features, then the output layers


class InterruptedExecutor(LocalExecutor):
    """Dies (like Ctrl-C) after ``finish`` jobs."""

    def __init__(self, finish: int) -> None:
        self.finish = finish

    def run(self, jobs):
        for i, outcome in enumerate(super().run(jobs)):
            if i == self.finish:
                raise KeyboardInterrupt
            yield outcome


def _jobs(root, seeds=(0, 1)):
    return [Job(k, "cora", tuple(seeds), epochs=2, data_root=str(root)) for k in ARCHS]


def test_interrupted_batch_keeps_finished_runs_and_resumes(tmp_path, planetoid_root):
    store = RunsStore(tmp_path / "runs.h5")
    with pytest.raises(KeyboardInterrupt):
        run_jobs(_jobs(planetoid_root), store, InterruptedExecutor(finish=1), progress=False)
    first = store.table()
    assert len(first) == 2 and set(first.key) == {ARCHS[0]}        # job 1 was kept

    result = run_jobs(_jobs(planetoid_root), store, progress=False)
    assert result.skipped == 2 and len(result.runs) == 2 and not result.failures
    table = store.table()
    assert len(table) == 4
    assert not table.duplicated(["key", "task", "seed", "epochs"]).any()
    assert store.curves(3)["val_curve"].shape == store.curves(3)["val_loss"].shape == (2,)

    again = run_jobs(_jobs(planetoid_root, seeds=(0, 1, 2)), store, progress=False)
    assert again.skipped == 4 and len(again.runs) == 2 and len(store.table()) == 6


def test_append_ignores_runs_already_stored(tmp_path, planetoid_root):
    store = RunsStore(tmp_path / "runs.h5")
    runs = run_jobs(_jobs(planetoid_root, seeds=(5,))[:1], None, progress=False).runs
    assert store.append(runs) == 1 and store.append(runs) == 0
    row = store.table().iloc[0]
    assert (row.key, row.task, row.seed, row.epochs) == (ARCHS[0], "cora", 5, 2)
    assert row.trainer == "batched" and row.params > 0 and "torch" in row.versions
    np.testing.assert_array_equal(store.curves(0)["test_curve"], runs[0].test_curve)
    np.testing.assert_array_equal(store.curves(0)["val_loss"], runs[0].val_loss)
    assert row.diverged_epoch == -1


def test_a_file_of_an_older_schema_is_refused_untouched(tmp_path, planetoid_root):
    store = RunsStore(tmp_path / "runs.h5")
    store.append(run_jobs(_jobs(planetoid_root, seeds=(5,))[:1], None, progress=False).runs)
    with h5py.File(store.path, "a") as f:
        f.attrs["schema_version"] = 1
    before = store.path.read_bytes()
    with pytest.raises(ValueError, match="best-accuracy epoch.*--runs NEW_PATH"):
        store.done()
    assert store.path.read_bytes() == before


def test_a_foreign_file_is_refused_untouched(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2, 3]
    with pytest.raises(ValueError, match="not a nasbench-meta runs file"):
        RunsStore(path).done()
