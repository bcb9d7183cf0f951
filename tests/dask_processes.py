"""A Dask scheduler and workers started as subprocesses on 127.0.0.1 (``dask scheduler``,
``dask worker``), as a user starts them on a cluster; bounded in time, always cleaned up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: Seconds a scheduler or worker may take to come up before the test fails.
START_TIMEOUT_S = 60.0


def _dask(*arguments: str) -> list[str]:
    # `python -m distributed.cli.*` is what the `dask scheduler` / `dask worker` entry points
    # run, with this interpreter for sure.
    return [sys.executable, "-m", *arguments]


class DaskProcesses:
    """``dask scheduler`` plus workers; :meth:`close` ends every process it started."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen] = []
        self.scheduler: subprocess.Popen | None = None
        self.address = ""

    def start_scheduler(self) -> str:
        scheduler_file = self.folder / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        self.scheduler = self._spawn("scheduler", _dask(
            "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
            "--no-dashboard", "--scheduler-file", str(scheduler_file)))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not scheduler_file.is_file():
            if time.monotonic() > deadline or self.scheduler.poll() is not None:
                raise RuntimeError("dask scheduler did not start: "
                                   + (self.folder / "scheduler.log").read_text()[-2000:])
            time.sleep(0.2)
        time.sleep(0.2)
        self.address = json.loads(scheduler_file.read_text())["address"]
        return self.address

    def start_worker(self, name: str, *extra: str, preload: str | None = None) -> subprocess.Popen:
        arguments = ["distributed.cli.dask_worker", self.address, "--host", "127.0.0.1",
                     "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--name", name,
                     "--no-nanny", *extra]
        if preload is not None:
            script = self.folder / f"preload_{name}.py"
            script.write_text(preload)
            arguments += ["--preload", str(script)]
        return self._spawn(f"worker_{name}", _dask(*arguments))

    def wait_for_workers(self, count: int, names: tuple[str, ...] = ()) -> None:
        """Until ``count`` workers are connected, among them those called ``names``."""
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT_S, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=START_TIMEOUT_S)
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                workers = client.scheduler_info(n_workers=-1)["workers"].values()
                present = {w.get("name") for w in workers}
                if set(names) <= present and len(present) == count:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"workers {present}, expected {count} with {names}")
                time.sleep(0.2)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "w")
        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env=environment, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def kill_scheduler(self) -> None:
        if self.scheduler is not None and self.scheduler.poll() is None:
            self.scheduler.send_signal(signal.SIGKILL)
            self.scheduler.wait(timeout=30)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()


@contextmanager
def scheduler_and_workers(folder: Path, count: int = 2) -> Iterator[DaskProcesses]:
    """A scheduler and ``count`` workers (named a, b, ...), closed on exit."""
    cluster = DaskProcesses(folder)
    try:
        cluster.start_scheduler()
        for index in range(count):
            cluster.start_worker("abcdefgh"[index])
        cluster.wait_for_workers(count)
        yield cluster
    finally:
        cluster.close()


def kill_a_busy_worker(client) -> str | None:
    """SIGKILL the process of a worker that is running a task; its address, or None when no
    worker is busy."""
    processing = client.processing()
    busy = [address for address, keys in processing.items() if keys]
    if not busy:
        return None
    pids = client.run(os.getpid, workers=busy[:1])
    os.kill(pids[busy[0]], signal.SIGKILL)
    return busy[0]
