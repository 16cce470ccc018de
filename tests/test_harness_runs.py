"""The runs store: append as runs finish, resume after an interruption, no duplicates."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace

import h5py
import numpy as np
import pytest

from nasbench_meta.harness.executors import Job, LocalExecutor, run_jobs
from nasbench_meta.harness.runs import RunsStore
from nasbench_meta.harness.train import SeedRun
from nasbench_meta.spaces import UnknownArchitectureError

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


class NeverRuns(LocalExecutor):
    """Fails a test that reaches training."""

    def run(self, jobs):
        raise AssertionError("a job was trained")


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


def _fake_run(key: int, seed: int = 0) -> SeedRun:
    """A stored-looking run without training (the store only reads its fields)."""
    curve = np.linspace(0, 1, 3, dtype=np.float32)
    return SeedRun(key=key, arch="a", task="cora", seed=seed, epochs=3, valid_acc=0.5, test_acc=0.4,
                   best_epoch=1, params=10, latency_s=0.1, train_time_s=1.0, trainer="batched",
                   device="cpu", versions={"torch": "x"}, train_loss=curve, val_curve=curve,
                   test_curve=curve, val_loss=curve)


def _damage(path, how: str) -> None:
    if how == "truncated":
        RunsStore(path).append([_fake_run(k) for k in ARCHS])
        path.write_bytes(path.read_bytes()[:5000])
    elif how == "damaged inside":   # h5py raised RuntimeError here ("bad symbol table node signature")
        RunsStore(path).append([_fake_run(k) for k in ARCHS])
        path.write_bytes(path.read_bytes().replace(b"SNOD", b"XXXX", 1))
    elif how == "random bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "plain text":
        path.write_text("key,task,seed\n88881,cora,0\n")
    else:  # an HDF5 runs file whose datasets are gone
        with h5py.File(path, "w") as f:
            f.attrs.update(format="nasbench-meta runs", schema_version=2)
            f.create_group("runs")


@pytest.mark.parametrize("how", ["truncated", "damaged inside", "random bytes", "empty", "plain text",
                                 "no datasets"])
def test_an_unreadable_file_is_named_and_left_untouched(tmp_path, how):
    path = tmp_path / "runs.h5"
    _damage(path, how)
    before = path.read_bytes()
    store = RunsStore(path)
    for call in (store.done, store.table, lambda: store.append([_fake_run(88881, seed=7)])):
        with pytest.raises(ValueError) as err:
            call()
        msg = str(err.value)
        assert msg.startswith(f"{path} is not a readable runs file") and "--runs NEW_PATH" in msg
        assert "move that file aside" in msg
    assert path.read_bytes() == before


def test_a_half_written_append_keeps_the_complete_runs(tmp_path):
    store = RunsStore(tmp_path / "runs.h5")
    store.append([_fake_run(k) for k in ARCHS])
    with h5py.File(store.path, "a") as f:   # killed after the first column of a third run
        f["runs/key"].resize((3,))
        f["runs/key"][2] = 12345
    assert len(store.table()) == 2 and store.done() == {(k, "cora", 0, 3, "float32") for k in ARCHS}
    assert store.append([_fake_run(88881, seed=1)]) == 1
    table = store.table()
    assert len(table) == 3 and (table.iloc[2].key, table.iloc[2].seed) == (88881, 1)


def test_runs_of_another_precision_are_not_taken_as_done(tmp_path):
    store = RunsStore(tmp_path / "runs.h5")
    store.append([_fake_run(ARCHS[0])])
    bf16 = replace(_fake_run(ARCHS[0]), precision="bfloat16", valid_acc=0.6)
    assert store.append([bf16]) == 1 and store.append([bf16]) == 0   # both kept, once each
    assert store.done() == {(ARCHS[0], "cora", 0, 3, "float32"), (ARCHS[0], "cora", 0, 3, "bfloat16")}
    job = Job(ARCHS[0], "cora", (0, 1), epochs=3, precision="bfloat16")
    assert job.without(store.done()).seeds == (1,)
    table = store.table()
    assert dict(zip(table.precision, table.valid_acc)) == {"float32": 0.5, "bfloat16": 0.6}


def test_a_file_from_before_the_precision_column_reads_as_float32_and_keeps_its_runs(tmp_path):
    store = RunsStore(tmp_path / "runs.h5")
    store.append([_fake_run(k) for k in ARCHS])
    with h5py.File(store.path, "a") as f:   # what earlier versions wrote
        del f["runs/precision"]
    assert store.done() == {(k, "cora", 0, 3, "float32") for k in ARCHS}
    assert store.append([replace(_fake_run(ARCHS[0]), precision="bfloat16")]) == 1
    table = store.table()
    assert list(table.precision) == ["float32", "float32", "bfloat16"] and list(table.key) == ARCHS + ARCHS[:1]


def test_a_job_named_by_any_spelling_resumes_from_its_stored_runs(tmp_path, planetoid_root):
    store = RunsStore(tmp_path / "runs.h5")
    canonical, isomorphic = "0,1,2,3|skip,skip,skip,gcn", "0,1,2,3|gcn,skip,skip,skip"   # both key 88881
    assert Job(canonical, "cora", (0,)).key == Job(isomorphic, "cora", (0,)).key == ARCHS[0]
    first = run_jobs([Job(canonical, "cora", (0,), epochs=2, data_root=str(planetoid_root))], store,
                     progress=False)
    assert len(first.runs) == 1 and list(store.table().key) == [ARCHS[0]]
    again = run_jobs([Job(isomorphic, "cora", (0,), epochs=2, data_root=str(planetoid_root))], store,
                     progress=False)
    assert again.skipped == 1 and not again.runs and len(store.table()) == 1   # nothing trained twice


def test_a_job_refuses_bad_seeds_and_keys_with_a_clear_message():
    assert Job(ARCHS[0], "cora", [3, 1]).seeds == (3, 1)          # any iterable, kept as a tuple
    with pytest.raises(TypeError, match=r"seeds must be a list of integer seeds such as \[0, 1, 2\], got 5"):
        Job(ARCHS[0], "cora", 5)
    with pytest.raises(TypeError, match="seed must be an integer"):
        Job(ARCHS[0], "cora", (0.5,))
    with pytest.raises(ValueError, match=r"lists seed\(s\) \[1\] more than once"):
        Job(ARCHS[0], "cora", (1, 1))
    with pytest.raises(UnknownArchitectureError, match="key 10 is not canonical; the same architecture has key 1"):
        Job(10, "cora", (0,))
    with pytest.raises(UnknownArchitectureError, match="True is not an architecture"):
        Job(True, "cora", (0,))
    # checked when the job is made, not in a worker after it was dispatched
    with pytest.raises(TypeError, match="whole number of epochs"):
        Job(ARCHS[0], "cora", (0,), 2.0)
    with pytest.raises(ValueError, match="unknown precision"):
        Job(ARCHS[0], "cora", (0,), 2, precision="float16")


def test_a_directory_given_as_the_runs_file_says_so(tmp_path):
    store = RunsStore(tmp_path)
    for call in (store.done, store.table, lambda: store.curves(0), lambda: store.append([_fake_run(88881)])):
        with pytest.raises(ValueError, match=f"{tmp_path} is a directory; the runs store is one HDF5 file"):
            call()
    assert list(tmp_path.iterdir()) == []


def test_curves_of_a_row_the_store_lacks_say_how_many_runs_it_holds(tmp_path):
    store = RunsStore(tmp_path / "runs.h5")
    with pytest.raises(IndexError, match="no run 0: .* holds no runs"):
        store.curves(0)
    store.append([_fake_run(k) for k in ARCHS])
    with h5py.File(store.path, "a") as f:   # a half-written third run is not a row either
        for name in ("key", "val_curve"):
            f[f"runs/{name}"].resize((3,))
    for row in (2, 99, -3):
        with pytest.raises(IndexError, match=rf"no run {row}: .* holds 2 run\(s\), rows 0 to 1 of table\(\)"):
            store.curves(row)
    np.testing.assert_array_equal(store.curves(-1)["val_curve"], store.curves(1)["val_curve"])


def _killed_during_append(path, runs, after_writes: int) -> None:
    """Append ``runs`` in a child process that dies (like SIGKILL: no close, no flush) at its
    ``after_writes``-th dataset write."""
    pid = os.fork()
    if pid == 0:   # pragma: no cover - the child never returns
        try:
            writes = [0]
            original = h5py.Dataset.__setitem__

            def write(self, index, value):
                if writes[0] == after_writes:
                    os._exit(9)
                writes[0] += 1
                return original(self, index, value)

            h5py.Dataset.__setitem__ = write
            RunsStore(path).append(runs)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 60   # a bound on waiting, not a timing being tested
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            pytest.fail("the forked writer hung")
        time.sleep(0.05)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("more", [2, 30])
def test_a_file_whose_append_was_killed_keeps_its_runs_and_takes_new_ones(tmp_path, more):
    # A kill inside h5py's writes left a file that read fine, but a later append either failed
    # ("len not positive after adjustment for EOA") or, with 5+ runs, succeeded and corrupted it.
    store = RunsStore(tmp_path / "runs.h5")
    store.append([_fake_run(k) for k in ARCHS])
    _killed_during_append(store.path, [_fake_run(88881, seed=s) for s in (1, 2, 3)], after_writes=5)
    assert store.done() == {(k, "cora", 0, 3, "float32") for k in ARCHS}
    seeds = list(range(1, more + 1))
    assert store.append([_fake_run(88881, seed=s) for s in seeds]) == more
    table = store.table()
    assert list(zip(table.key, table.seed)) == [(ARCHS[0], 0), (ARCHS[1], 0)] + [(88881, s) for s in seeds]
    np.testing.assert_array_equal(store.curves(3)["val_loss"], _fake_run(88881).val_loss)
    assert store.append([_fake_run(88881, seed=999)]) == 1 and len(store.table()) == 3 + more
    assert sorted(p.name for p in tmp_path.iterdir()) == [".runs.h5.lock", "runs.h5"]   # no temporary or marker


def test_another_live_writer_is_refused(tmp_path):
    store = RunsStore(tmp_path / "runs.h5")
    store.append([_fake_run(ARCHS[0])])
    (tmp_path / ".runs.h5.appending").write_text(str(os.getppid()))   # a live process, mid-append
    with pytest.raises(OSError, match="is appending to"):
        store.append([_fake_run(ARCHS[1])])
    assert len(store.table()) == 1


def test_a_place_no_run_can_be_appended_to_fails_before_any_training(tmp_path, planetoid_root):
    # a folder on the way that is a file, a read-only folder, a live writer's marker: each was found
    # only once the first job had trained, and that job's runs were lost
    (tmp_path / "afile").write_text("")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    live = tmp_path / "live.h5"
    (tmp_path / ".live.h5.appending").write_text(str(os.getppid()))
    cases = [(tmp_path / "afile" / "runs.h5", ValueError, "afile is a file, not a folder"),
             (live, OSError, "is appending to")]
    if os.access(readonly, os.W_OK):   # root writes anywhere: no read-only folder to test with
        readonly.chmod(0o755)
    else:
        cases.append((readonly / "runs.h5", PermissionError, "is read-only here"))
    try:
        for path, error, message in cases:
            with pytest.raises(error, match=message):
                run_jobs(_jobs(planetoid_root), RunsStore(path), NeverRuns(), progress=False)
            assert not path.exists()
    finally:
        readonly.chmod(0o755)


def test_a_rewrite_keeps_what_else_the_file_holds_and_clears_old_temporaries(tmp_path):
    store = RunsStore(tmp_path / "runs.h5")
    store.append([_fake_run(ARCHS[0])])
    with h5py.File(store.path, "a") as f:   # what a user may have added beside the runs
        f.attrs["project"] = "ablation-7"
        f["runs"].attrs["note"] = "cluster A"
        f.create_dataset("extra/notes", data=np.arange(3))
        f["runs"].create_dataset("my_label", data=[7, 8])
    stale = tmp_path / ".runs.h5.0123456789ab.tmp"   # a rewrite killed two hours ago
    stale.write_bytes(b"half a file")
    os.utime(stale, (time.time() - 7200,) * 2)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    (tmp_path / ".runs.h5.appending").write_text(str(child.pid))   # an append whose process is gone
    assert store.append([_fake_run(ARCHS[1])]) == 1   # goes through the rewrite
    with h5py.File(store.path, "r") as f:
        assert f.attrs["project"] == "ablation-7" and f["runs"].attrs["note"] == "cluster A"
        assert f["extra/notes"][:].tolist() == [0, 1, 2] and f["runs/my_label"][:].tolist() == [7, 8]
    assert store.table().key.tolist() == ARCHS
    assert sorted(p.name for p in tmp_path.iterdir()) == [".runs.h5.lock", "runs.h5"]


def _in_child(work) -> int:
    """Run ``work()`` in a forked child; its pid (exit status 0 when it returned, 1 when it raised)."""
    pid = os.fork()
    if pid == 0:   # pragma: no cover - the child never returns
        try:
            work()
            os._exit(0)
        except BaseException:
            import traceback
            traceback.print_exc()
            os._exit(1)
    return pid


def _wait_all(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + 120   # a bound on waiting, not a timing being tested
    codes = []
    for pid in pids:
        while (done := os.waitpid(pid, os.WNOHANG)) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                pytest.fail("a forked writer hung")
            time.sleep(0.02)
        codes.append(os.waitstatus_to_exitcode(done[1]))
    return codes


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_two_processes_appending_to_one_runs_file_lose_nothing(tmp_path):
    # two harness commands on the default runs file: appends raced and runs went missing
    path = tmp_path / "runs.h5"

    def writer(first: int) -> None:
        store = RunsStore(path)
        for key in range(first, first + 12):
            assert store.append([_fake_run(key)]) == 1

    def reader() -> None:
        for _ in range(40):
            RunsStore(path).done()   # never an error, and never makes a writer fail

    pids = [_in_child(lambda: writer(100)), _in_child(lambda: writer(200)), _in_child(reader)]
    assert _wait_all(pids) == [0, 0, 0]
    keys = RunsStore(path).table().key.tolist()
    assert sorted(keys) == list(range(100, 112)) + list(range(200, 212))


@pytest.mark.parametrize("options, message", [
    ({"task": "nope"}, "no training protocol for task 'nope'"),
    ({"device": "tpu"}, "'tpu' is not a device the harness trains on"),
])
def test_a_job_refuses_a_task_or_device_it_can_never_run(options, message):
    with pytest.raises((LookupError, ValueError), match=message):   # when made, not in a worker
        Job(**{"key": ARCHS[0], "task": "cora", "seeds": (0,), **options})


def test_a_runs_file_named_through_a_symlink_shares_its_lock(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "runs.h5").symlink_to(tmp_path / "a" / "runs.h5")
    RunsStore(tmp_path / "a" / "runs.h5").append([_fake_run(ARCHS[0])])
    RunsStore(tmp_path / "b" / "runs.h5").append([_fake_run(ARCHS[1])])
    assert (tmp_path / "a" / ".runs.h5.lock").exists() and not (tmp_path / "b" / ".runs.h5.lock").exists()
    assert len(RunsStore(tmp_path / "b" / "runs.h5").table()) == 2


def test_a_marker_beside_the_target_is_seen_through_a_symlink(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "runs.h5").symlink_to(tmp_path / "a" / "runs.h5")
    RunsStore(tmp_path / "a" / "runs.h5").append([_fake_run(ARCHS[0])])
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    marker = tmp_path / "a" / ".runs.h5.appending"
    marker.write_text(str(child.pid))   # an append through the real path was killed
    assert RunsStore(tmp_path / "b" / "runs.h5").append([_fake_run(ARCHS[1])]) == 1
    assert not marker.exists()   # seen, so the file was rewritten rather than appended to in place
    assert len(RunsStore(tmp_path / "a" / "runs.h5").table()) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_file_another_process_holds_open_for_writing_is_not_called_damaged(tmp_path):
    path = tmp_path / "runs.h5"
    RunsStore(path).append([_fake_run(ARCHS[0])])
    ready = tmp_path / "ready"

    def hold() -> None:   # a writer that takes no turns (h5py directly, or an older nasbench-meta)
        with h5py.File(path, "a"):
            ready.write_text("1")
            time.sleep(4)

    pid = _in_child(hold)
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with pytest.raises(OSError, match="another process has .* open for writing"):
            RunsStore(path).done()
    finally:
        _wait_all([pid])


def test_a_job_carries_the_drivers_data_root_from_the_environment(monkeypatch, tmp_path):
    # Dask workers read $NASBENCH_META_DATA in their own environment, where it was not set: every
    # job failed on data the driver's up-front check had found
    monkeypatch.setenv("NASBENCH_META_DATA", str(tmp_path))
    assert Job(ARCHS[0], "cora", (0,)).data_root == str(tmp_path)
    assert Job(ARCHS[0], "cora", (0,), data_root="/given").data_root == "/given"
    monkeypatch.delenv("NASBENCH_META_DATA")
    assert Job(ARCHS[0], "cora", (0,)).data_root is None   # each worker's own default


def test_a_benchmark_file_given_as_the_runs_file_is_not_to_be_moved_aside(bench_root):
    # the advice was "move that file aside", i.e. move the benchmark itself away
    path = bench_root / "benchmarks" / "nas-bench-graph.h5"
    with pytest.raises(ValueError, match="is a benchmark file, not a runs file: pass --runs NEW_PATH"):
        RunsStore(path).done()
