"""The local process-pool executor: spawned workers train, the driver stores; GPUs are shared out."""
from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from nasbench_meta.harness.executors import Job, LocalExecutor, PoolExecutor, run_jobs, visible_gpus
from nasbench_meta.harness.runs import RunsStore
from nasbench_meta.workers import start_pool_worker


def test_pool_workers_train_what_this_process_would(tmp_path, planetoid_root):
    jobs = [Job(k, "cora", (0, 1), epochs=2, data_root=str(planetoid_root)) for k in (88881, 88887)]
    store = RunsStore(tmp_path / "runs.h5")
    pooled = run_jobs(jobs, store, PoolExecutor(2), progress=False)
    local = run_jobs(jobs, None, LocalExecutor(), progress=False)
    assert not pooled.failures and len(pooled.runs) == 4
    by_run = {(r.key, r.seed): r.val_loss for r in local.runs}
    for run in pooled.runs:
        np.testing.assert_allclose(run.val_loss, by_run[run.key, run.seed], rtol=1e-5)
    assert sorted(store.table().key) == [88881, 88881, 88887, 88887]


def test_each_pool_worker_gets_its_own_gpu_round_robin(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")       # the user's own choice is respected
    gpus = visible_gpus()
    assert gpus == ["3", "5"]
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    threads, handler = torch.get_num_threads(), signal.getsignal(signal.SIGINT)
    try:
        seen = []
        for _ in range(3):
            start_pool_worker(1, gpus, counter)
            seen.append(os.environ["CUDA_VISIBLE_DEVICES"])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN   # Ctrl-C is the driver's, before torch loads
    finally:
        torch.set_num_threads(threads)
        signal.signal(signal.SIGINT, handler)
    assert seen == ["3", "5", "3"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert visible_gpus() == ["0", "1"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert visible_gpus() == []


def test_a_job_reaches_the_workers_with_its_canonical_key_and_seeds():
    job = Job("0,1,2,3|gcn,skip,skip,skip", "cora", [1, 0], epochs=2)   # spawned workers unpickle it
    assert pickle.loads(pickle.dumps(job)) == job and (job.key, job.seeds) == (88881, (1, 0))


_KILLED_DRIVER = """
import multiprocessing, os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
from nasbench_meta.workers import start_pool_worker

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=start_pool_worker, initargs=(1, [], ctx.Value("i", 0)))
    with open(sys.argv[1], "w") as f:
        f.write(str(pool.submit(os.getpid).result()))
    pool.submit(time.sleep, 120)          # a long job the worker is busy with
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)  # the driver dies without shutting its pool down
"""


_KILLED_SEARCH_DRIVER = """
import os, signal, sys, time
from nasbench_meta.search.experiment import open_executor

if __name__ == "__main__":
    with open_executor(workers=2) as pool:   # the pool search grid --workers runs seeds in
        with open(sys.argv[1], "w") as f:
            f.write(str(pool.submit(os.getpid).result()))
        pool.submit(time.sleep, 120)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("driver", [_KILLED_DRIVER, _KILLED_SEARCH_DRIVER], ids=["harness", "search"])
def test_pool_workers_end_when_the_driver_is_killed(tmp_path, driver):
    # A SIGKILLed driver left its pool workers training jobs nobody would store.
    script = tmp_path / "driver.py"
    script.write_text(driver)
    pid_file = tmp_path / "worker.pid"
    # no pipes: a surviving worker would hold them open and keep run() waiting
    subprocess.run([sys.executable, str(script), str(pid_file)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 15   # a bound on waiting, not a timing being tested
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the pool worker outlived its killed driver"


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)   # (not our child: raises; reaping is its init's business)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_ctrl_c_stops_a_pool_batch_without_tracebacks_or_waiting_for_its_jobs(tmp_path, planetoid_root, bench_root):
    argv = [sys.executable, "-m", "nasbench_meta.cli.main", "harness", "batch", "--task", "cora", "--archs", "88881",
            "88887", "--seeds", "0", "--epochs", "100000", "--executor", "pool", "--workers", "2",
            "--data-root", str(planetoid_root), "--runs", str(tmp_path / "r.h5"), "--root", str(bench_root)]
    for wait in (1.0, 12.0):   # while the workers import torch, then while they train (jobs of many minutes)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        time.sleep(wait)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=90)   # a bound on waiting: the jobs would take far longer
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("Ctrl-C waited for the running jobs")
        assert proc.returncode == 130 and "Traceback" not in err, err[-2000:]


MARKER_ENV = "NASBENCH_META_TEST_DIE_MARKER"


def _dies_once(job: Job) -> int:
    """A worker's job that kills its worker the first time any job runs (a marker file records it)."""
    marker = os.environ[MARKER_ENV]
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(9)
    time.sleep(0.2)
    return job.key


def _always_dies(job: Job) -> int:
    os._exit(9)


class _DyingPool(PoolExecutor):
    _work = staticmethod(_dies_once)


class _AlwaysDyingPool(PoolExecutor):
    _work = staticmethod(_always_dies)


def test_a_dead_pool_worker_costs_only_a_retry_of_the_unfinished_jobs(tmp_path, monkeypatch):
    # One killed worker broke the pool, and every job not finished failed with it, those never
    # started included ("0/5 architectures measured"); now they run again in a new pool, once.
    monkeypatch.setenv(MARKER_ENV, str(tmp_path / "died"))
    jobs = [Job(k, "cora", (0,), epochs=2) for k in (88881, 88887, 30141, 66141)]
    outcomes = dict(_DyingPool(2).run(jobs))
    assert (tmp_path / "died").exists()
    assert sorted(outcomes.values()) == sorted(j.key for j in jobs)   # every job finished, once
    failed = list(_AlwaysDyingPool(2).run(jobs[:2]))
    assert len(failed) == 2 and all("also when retried in a new pool" in str(o) for _, o in failed)
