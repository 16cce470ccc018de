"""Where training jobs run: in this process, a local process pool, or a Dask cluster.

Every executor takes picklable ``Job``s and yields ``(job, runs or exception)`` as jobs finish.
The driver (``run_jobs``) is the only writer of the runs store: workers return results, the
driver appends them one job at a time, so a killed batch keeps what finished and a rerun skips
it. Point ``--scheduler`` at ``tcp://host:port`` to use a cluster of GPU machines; each worker
needs the package and the data root (same path) and uses CUDA when it has it.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Protocol, Sequence

from tqdm.auto import tqdm

from nasbench_meta.harness.data import DATA_ENV, check_task_data, load_task, planetoid_root
from nasbench_meta.harness.models import canonical_architecture
from nasbench_meta.harness.protocol import get_protocol
from nasbench_meta.harness.runs import RunsStore
from nasbench_meta.harness.batched import check_precision
from nasbench_meta.harness.train import SeedRun, check_device, check_epochs, train_seeds
from nasbench_meta.seeds import check_seed_list
from nasbench_meta.spaces import Architecture
from nasbench_meta.workers import ignore_ctrl_c_on, start_pool_worker


def _canonical_key(arch: "Architecture | str | int") -> int:
    """The table key of any spelling of an architecture (a key, ``"links|ops"``, an isomorphic form)."""
    return canonical_architecture(arch).key


@dataclass(frozen=True)
class Job:
    """Train one architecture on one task for some seeds.

    ``key`` may be any spelling of the architecture and ``seeds`` any iterable of seeds: both are
    normalised here (canonical int key, tuple of checked seeds), because the runs store records
    runs under the canonical key and ``without`` matches against it.
    """

    key: int
    task: str
    seeds: tuple[int, ...]
    epochs: int | None = None        # None: the protocol's epochs
    data_root: str | None = None
    device: str | None = None        # None: CUDA when the worker has it
    precision: str = "float32"       # of the ops' matrix products (see ``train_seeds``)

    def __post_init__(self) -> None:
        # A string or non-canonical spelling would never equal a stored key: every resume
        # would train it again.
        object.__setattr__(self, "key", _canonical_key(self.key))
        object.__setattr__(self, "seeds", tuple(check_seed_list(self.seeds, "seeds")))
        object.__setattr__(self, "epochs", check_epochs(self.epochs))   # here, not in a worker
        check_precision(self.precision)
        get_protocol(self.task)   # an unknown task fails here, not in a worker after dispatch
        if self.data_root is None and os.environ.get(DATA_ENV):   # the driver's setting, not each Dask worker's
            object.__setattr__(self, "data_root", str(planetoid_root()))
        if self.device is not None:   # its spelling; whether a worker has it, the worker says
            check_device(self.device, local=False)

    @property
    def fidelity(self) -> int:
        return get_protocol(self.task).epochs if self.epochs is None else int(self.epochs)

    def without(self, done: set) -> "Job | None":
        """This job minus the seeds already in ``done`` (None when nothing is left)."""
        left = tuple(s for s in self.seeds
                     if (self.key, self.task, s, self.fidelity, self.precision) not in done)
        if not left:
            return None
        return replace(self, seeds=left)


def run_job(job: Job) -> list[SeedRun]:
    """Worker side: load the graph (cached per process) and train the job's seeds."""
    data = load_task(job.task, job.data_root)
    return train_seeds(job.key, job.task, data, list(job.seeds), device=job.device,
                       epochs=job.epochs, precision=job.precision)


Outcome = tuple[Job, "list[SeedRun] | BaseException"]


class Executor(Protocol):
    """What ``run_jobs`` drives: ``run`` yields each job with its runs, or the exception that
    stopped it (a failed job never stops the others), in the order jobs finish; ``close`` frees
    what the executor started (processes, a cluster)."""

    name: str

    def run(self, jobs: Sequence[Job]) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """One job after another in this process."""

    name = "local"

    def run(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        for job in jobs:
            try:
                yield job, run_job(job)
            except Exception as exc:  # reported by the driver, the batch goes on
                yield job, exc

    def close(self) -> None:
        pass


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (none without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return []
    count = torch.cuda.device_count()
    listed = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return listed[:count] if listed else [str(i) for i in range(count)]


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool at once: its workers ignore Ctrl-C (the driver handles it), so a plain shutdown
    waited for every running job (about a minute on Cora) to throw its result away."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):   # CPython's own bookkeeping
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class PoolExecutor:
    """A local process pool; each worker gets an even share of the CPU threads and, when jobs
    leave the device to the worker (``None`` or ``"cuda"``) and there are several GPUs, its own GPU."""

    workers: int
    name: str = "pool"

    def run(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Outcomes as jobs finish. A worker that dies breaks the whole pool, and every job not
        finished then fails with it, those never started included: they run again in a new pool,
        once (a job that kills its worker twice fails, rather than break pool after pool)."""
        pending, tries = list(jobs), 0
        while pending:
            tries += 1
            lost = []
            for job, outcome in self._run_pool(pending):
                if isinstance(outcome, BrokenProcessPool) and tries < 2:
                    lost.append(job)
                    continue
                if isinstance(outcome, BrokenProcessPool):
                    outcome = RuntimeError("a worker process died (killed, or out of memory?) before this job "
                                           "finished, also when retried in a new pool; nothing of it was stored: "
                                           "rerun the command to train it")
                yield job, outcome
            pending = lost

    _work = staticmethod(run_job)   # what a worker runs per job (a test swaps in a worker that dies)

    def _run_pool(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        gpus = visible_gpus() if all(j.device in (None, "cuda") for j in jobs) else []
        ctx = multiprocessing.get_context("spawn")   # no fork after torch has started threads
        pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=start_pool_worker,
                                   initargs=(threads, gpus, ctx.Value("i", 0)))
        try:
            futures, unsent = {}, []
            for job in jobs:
                try:
                    futures[pool.submit(self._work, job)] = job
                except BrokenProcessPool as exc:   # a worker died already: retried like the jobs it took down
                    unsent.append((job, exc))
            yield from unsent
            for fut in as_completed(futures):
                exc = fut.exception()
                yield futures[fut], (exc if exc is not None else fut.result())
        except BaseException:   # Ctrl-C, or the driver stopped reading: no waiting on jobs nobody will store
            _stop(pool)
            raise
        pool.shutdown()

    def close(self) -> None:
        pass


@dataclass
class DaskExecutor:
    """Jobs on a Dask cluster: a scheduler address, or a given/started LocalCluster."""

    scheduler: "str | None" = None
    workers: int = 2
    cluster: object | None = None
    name: str = "dask"
    check_every_s: float = 10.0   # how often a wait looks at the scheduler's workers
    _client: object | None = field(default=None, repr=False)
    _own_cluster: bool = field(default=False, repr=False)   # started here, so closed here

    def _get_client(self):
        from distributed import Client, LocalCluster

        if self._client is None:
            if self.scheduler:
                self._client = Client(self.scheduler)
            else:
                if self.cluster is None:
                    # ":0": a free port (None still tried 8787, warning when another cluster had it)
                    self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                                processes=True, dashboard_address=":0")
                    self._own_cluster = True
                self._client = Client(self.cluster)
                if self._own_cluster:
                    ignore_ctrl_c_on(self._client)
        return self._client

    def run(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Outcomes as jobs finish. Jobs wait on a cluster without workers (Dask's way: a worker may
        join); that is said on stderr at once and again whenever the last worker leaves, not left
        to look like a hang."""
        from distributed import wait

        client = self._get_client()
        futures = {client.submit(run_job, job, pure=False): job for job in jobs}
        pending, warned = set(futures), False
        while pending:
            warned = self._say_if_workerless(client, warned)
            try:
                done, pending = wait(pending, timeout=self.check_every_s, return_when="FIRST_COMPLETED")
            except (TimeoutError, asyncio.TimeoutError):   # the same class from Python 3.11 on, not on 3.10
                continue
            for fut in done:
                yield futures[fut], (fut.exception() if fut.status == "error" else fut.result())

    def _say_if_workerless(self, client: object, said: bool) -> bool:
        """Print once, while the scheduler has no workers, that the jobs wait for one; whether said."""
        if client.scheduler_info().get("workers"):
            return False
        if not said:
            where = self.scheduler or "the local cluster"
            print(f"nasbench-meta: the Dask scheduler {where} has no workers: the jobs wait until one joins"
                  + (f" (start one with `dask worker {self.scheduler}`)" if self.scheduler else "")
                  + ", or press Ctrl-C", file=sys.stderr, flush=True)
        return True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._own_cluster and self.cluster is not None:
            # now, not at interpreter exit: there its nannies waited, then killed the workers
            self.cluster.close()
            self.cluster, self._own_cluster = None, False


def make_executor(kind: str = "local", *, workers: int = 2, scheduler: str | None = None) -> Executor:
    """``local`` (sequential), ``pool`` (process pool) or ``dask`` (``scheduler`` address, or a
    LocalCluster of ``workers`` processes when none is given)."""
    if scheduler or kind == "dask":
        return DaskExecutor(scheduler=scheduler, workers=workers)
    if kind == "pool":
        return PoolExecutor(workers)
    if kind == "local":
        return LocalExecutor()
    raise ValueError(f"unknown executor {kind!r}; use local, pool or dask")


@dataclass
class BatchResult:
    """What ``run_jobs`` did: runs it trained, seed runs the store already held, and the jobs that
    failed with their error (failures are collected, not raised: the other jobs went on)."""

    runs: list[SeedRun]            # runs finished by this call
    skipped: int                   # seed runs already in the store
    failures: list[tuple[Job, str]]


def run_jobs(jobs: Iterable[Job], store: RunsStore | None, executor: "Executor | None" = None, *,
             progress: bool = True) -> BatchResult:
    """Run ``jobs`` (minus what ``store`` holds; ``executor`` None: one after another here),
    appending each job's runs as it finishes. A job that fails is listed in the result's
    ``failures`` and the batch goes on; check it (the CLI exits 1 when it is not empty)."""
    jobs = list(jobs)
    for task, root in sorted({(j.task, j.data_root) for j in jobs}, key=str):
        check_task_data(task, root)      # fail before queueing hours of work
    done = store.done() if store is not None else set()
    todo = [j for j in (job.without(done) for job in jobs) if j is not None]
    if store is not None and todo:
        store.check_writable()   # not once the first job has trained
    skipped = sum(len(j.seeds) for j in jobs) - sum(len(j.seeds) for j in todo)
    executor = executor or LocalExecutor()
    finished, failures = [], []
    bar = tqdm(total=sum(len(j.seeds) for j in todo), unit="run", disable=not progress,
               desc=f"training ({executor.name})", file=sys.stderr)
    try:
        for job, outcome in executor.run(todo):
            if isinstance(outcome, BaseException):
                failures.append((job, f"{type(outcome).__name__}: {outcome}"))
                bar.write(f"failed: key {job.key} on {job.task} seeds {list(job.seeds)}: {outcome}")
            else:
                if store is not None:
                    store.append(outcome)
                finished.extend(outcome)
            bar.update(len(job.seeds))
    finally:
        bar.close()
    return BatchResult(finished, skipped, failures)
