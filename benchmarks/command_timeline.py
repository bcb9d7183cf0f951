"""Run one ``mdinsim`` command with timestamps of where its fixed costs go.

    python benchmarks/command_timeline.py sqw traj.xyz --scheduler local:2 ...   # as mdinsim

Prints (stderr, after the command) seconds since the process was created and the client's
processor seconds at: the step's imports (Dask, numba, the core, h5py; the dashboard only where a request
loaded it), the
forkserver's preparation, the cluster's start (LocalCluster), each request to the forkserver for a worker and
each worker's fork (a fork later than its request: the forkserver was still loading) (its process's
creation time), the probe, every piece's start and end on its worker, the merge, closing, and the
exit (after the NeXus file is written). ``MDINSIM_TIMELINE_JSON=FILE`` also writes them as JSON (what
``bench_command.py`` reads). The command itself runs unchanged (``mantid_mdinsim.cli.main``);
only wrappers that record the time are added around these functions.
"""

from __future__ import annotations

import os
import sys
import time


def _process_created() -> float:
    """time.time() when this process was created (from /proc: the interpreter's start counts)."""
    with open("/proc/self/stat") as handle:
        ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as handle:
        uptime = float(handle.read().split()[0])
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


def main() -> None:
    created = _process_created()
    events: list[tuple[float, float | None, str]] = []

    def mark(name: str) -> None:
        events.append((time.time() - created, time.process_time(), name))

    mark("python up")
    import atexit
    import builtins
    import functools
    import json

    from mantid_mdinsim import execution

    def wrap(owner, attribute: str, name: str) -> None:
        function = getattr(owner, attribute)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            mark(f"{name} begin")
            try:
                return function(*args, **kwargs)
            finally:
                mark(f"{name} end")
        setattr(owner, attribute, wrapper)

    wrap(execution, "prepare", "prepare")
    wrap(execution, "make_local_cluster", "LocalCluster")
    from multiprocessing import forkserver
    # a nanny asking the forkserver for a worker: the request is sent at once, the fork waits
    # until the forkserver has loaded its modules
    wrap(forkserver, "connect_to_new_process", "fork request")
    wrap(execution.DaskExecutor, "probe_workers", "probe")
    wrap(execution.DaskExecutor, "run", "pieces")
    executors = []
    close, init = execution.DaskExecutor.close, execution.DaskExecutor.__init__

    def recording_init(self, *args, **kwargs):
        executors.append(self)
        init(self, *args, **kwargs)

    def recording_close(self):
        if self.client is not None and not hasattr(self, "fork_times"):
            try:   # sent by value (this file is __main__): the worker's own creation time
                self.fork_times = self.client.run(_process_created)
            except Exception:  # noqa: BLE001 - a lost cluster: no fork times
                self.fork_times = {}
        mark("close begin")
        try:
            return close(self)
        finally:
            mark("close end")

    execution.DaskExecutor.__init__ = recording_init
    execution.DaskExecutor.close = recording_close

    watched = {"distributed": "Dask imported", "numba": "numba imported",
               "distributed.dashboard.scheduler": "dashboard imported",
               "h5py": "h5py imported", "mantid_mdinsim.sqw.pieces": "sqw core imported",
               "mantid_mdinsim.md.tasks": "md core imported"}
    original_import = builtins.__import__

    def watching_import(name, *args, **kwargs):
        module = original_import(name, *args, **kwargs)
        for key in [k for k in watched if k in sys.modules]:
            mark(watched.pop(key))
        return module

    builtins.__import__ = watching_import

    def report() -> None:
        mark("exit")
        for executor in executors:
            for address, at in getattr(executor, "fork_times", {}).items():
                events.append((at - created, None, f"worker {address} forked"))
            for timing in executor.timings:
                events.append((timing.start - created, None, f"piece {timing.key} start"))
                events.append((timing.start + timing.wall_s - created, None,
                               f"piece {timing.key} end ({timing.cpu_s:.2f} processor-s)"))
        events.sort(key=lambda event: event[0])
        for wall, cpu, name in events:
            print(f"{wall:8.3f} s {'' if cpu is None else f'{cpu:6.2f}':>6} {name}",
                  file=sys.stderr)
        if os.environ.get("MDINSIM_TIMELINE_JSON"):
            with open(os.environ["MDINSIM_TIMELINE_JSON"], "w") as handle:
                json.dump(events, handle)

    atexit.register(report)
    from mantid_mdinsim.cli import main as mdinsim

    sys.argv = ["mdinsim", *sys.argv[1:]]
    sys.exit(mdinsim())


if __name__ == "__main__":   # the forkserver imports this file as __mp_main__: nothing runs then
    main()
