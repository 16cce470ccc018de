"""What the worker processes of our local pools and clusters share: they end with their driver
and leave Ctrl-C to it."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading


def exit_with_parent() -> None:
    """Start a thread that ends this worker once its driver is gone. A driver killed outright
    (SIGKILL, the OOM killer) never shuts its pool down, and its workers went on running queued
    jobs whose results nobody would store. A no-op outside a multiprocessing child."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_wait_then_exit, args=(parent,), daemon=True, name="exit-with-driver").start()


def _wait_then_exit(parent: "multiprocessing.process.BaseProcess") -> None:
    parent.join()  # returns once the driver's end of the sentinel pipe is closed
    os._exit(1)


def ignore_ctrl_c() -> None:
    """In a worker of a local cluster we started: Ctrl-C reaches the whole process group; the
    driver alone handles it (and closes the cluster), so workers print no tracebacks."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def ignore_ctrl_c_on(client: object) -> None:
    """``ignore_ctrl_c`` on every worker of a cluster we started, now and after restarts or
    scaling (a one-off ``client.run`` reaches only the workers of the moment)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class IgnoreCtrlC(WorkerPlugin):
        name = "nasbench-meta-ignore-ctrl-c"

        def setup(self, worker: object) -> None:
            ignore_ctrl_c()

    client.register_plugin(IgnoreCtrlC())


def start_pool_worker(threads: int, gpus: "list[str] | tuple[str, ...]", counter: object) -> None:
    """Set-up of a harness pool worker, from this light module so that it runs before the worker
    imports torch (seconds): Ctrl-C is left to the driver (it used to print each worker's import
    traceback), the worker ends with its driver, takes a share of the CPU threads and, with several
    GPUs, one of them (round robin; set before its first CUDA call, so its ``cuda`` is that GPU)."""
    ignore_ctrl_c()
    exit_with_parent()
    if len(gpus) > 1:
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    import torch

    torch.set_num_threads(threads)
