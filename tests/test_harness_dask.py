"""The Dask executor on a local cluster of 2 workers (loopback); results come back to one writer."""
from __future__ import annotations

import pytest

from nasbench_meta.harness.executors import DaskExecutor, Job, make_executor, run_jobs
from nasbench_meta.harness.runs import RunsStore

distributed = pytest.importorskip("distributed")


def test_dask_local_cluster_trains_and_the_driver_stores(tmp_path, planetoid_root):
    # Threads in this process (fast to start) but real TCP on loopback, like a remote cluster.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       protocol="tcp", host="127.0.0.1", dashboard_address=None)
    executor = DaskExecutor(cluster=cluster)
    try:
        jobs = [Job(k, "cora", (0,), epochs=2, data_root=str(planetoid_root)) for k in (88881, 88887)]
        store = RunsStore(tmp_path / "runs.h5")
        result = run_jobs(jobs, store, executor, progress=False)
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert len(executor._get_client().scheduler_info()["workers"]) == 2
    finally:
        executor.close()
        cluster.close()
    assert not result.failures and len(result.runs) == 2
    assert sorted(store.table().key) == [88881, 88887]


def test_scheduler_address_selects_dask():
    ex = make_executor("local", scheduler="tcp://127.0.0.1:8786")
    assert isinstance(ex, DaskExecutor) and ex.scheduler == "tcp://127.0.0.1:8786"


def _sigint_ignored() -> bool:
    import signal

    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_a_cluster_the_executor_starts_ignores_ctrl_c_and_is_closed_with_it():
    # Ctrl-C reached the local cluster's workers too: ~40 lines of worker tracebacks, and the
    # cluster was only closed at interpreter exit.
    executor = DaskExecutor(workers=1)
    client = executor._get_client()
    cluster = executor.cluster
    try:
        assert list(client.run(_sigint_ignored).values()) == [True]
        client.restart()   # a replaced worker too: a one-off client.run reached only the first
        assert list(client.run(_sigint_ignored).values()) == [True]
    finally:
        executor.close()
    assert executor.cluster is None and cluster.status.name == "closed"


def test_jobs_on_a_cluster_without_workers_say_they_wait(tmp_path, planetoid_root, capsys):
    # A scheduler with no workers (or whose workers all died) sat at 0% with no word, like a hang.
    import threading

    cluster = distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=False,
                                       protocol="tcp", host="127.0.0.1", dashboard_address=None)
    executor = DaskExecutor(cluster=cluster, check_every_s=0.5)
    joins = threading.Timer(3.0, lambda: cluster.scale(1))   # a worker joins later: the jobs then run
    try:
        joins.start()
        outcomes = list(executor.run([Job(88881, "cora", (0,), epochs=2, data_root=str(planetoid_root))]))
    finally:
        joins.cancel()
        executor.close()
        cluster.close()
    assert len(outcomes) == 1 and not isinstance(outcomes[0][1], BaseException)
    err = capsys.readouterr().err
    assert err.count("has no workers: the jobs wait until one joins") == 1
