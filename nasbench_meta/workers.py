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
