"""What Dask's own bookkeeping takes from the pieces on local:2: processor time outside pieces.

    python benchmarks/bench_dask_bookkeeping.py            # about 2 min; REPEATS=3, BUSY_S=4

Two pure-Python pieces of ``BUSY_S`` processor seconds run on a local:2 cluster of
``execution.session`` (the settings of ``execution._DASK_BOOKKEEPING``) and on one with Dask's
own defaults for the system and memory monitors (the profiler and tick settings of the fourth
pass kept in both), alternated. It prints the client process's processor seconds while the
pieces run (scheduler, nannies, client) and each worker's outside its piece, as a share of the
wall time: on a machine whose every core runs a piece, that is taken from the pieces (on local:1
it runs on the free core). Processor seconds, so a loaded machine blurs it less than wall time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

REPEATS = int(os.environ.get("REPEATS", 3))
BUSY_S = float(os.environ.get("BUSY_S", 4))
SHIPPED = {"distributed.admin.system-monitor.interval": "500ms",
           "distributed.worker.memory.monitor-interval": "100ms"}


def busy(seconds: float) -> int:
    end, total = time.thread_time() + seconds, 0
    while time.thread_time() < end:
        for i in range(10000):
            total += i
    return total


def process_cpu() -> float:
    times = os.times()
    return times.user + times.system


def measure(shipped: bool) -> tuple[float, float]:
    """(client, each worker outside its piece) as fractions of the pieces' wall time."""
    from mantid_mdinsim import execution
    from mantid_mdinsim.execution import Piece

    if shipped:
        for name, value in SHIPPED.items():     # Dask's value kept for these two
            execution._DASK_BOOKKEEPING[name] = (value, value)
    with execution.session("local:2", notify=lambda text: None) as executor:
        executor.run([Piece(f"warm{i}", busy, (0.05,)) for i in range(2)])
        workers_before = executor.client.run(process_cpu)
        client_before, wall = process_cpu(), time.perf_counter()
        executor.run([Piece(f"busy{i}", busy, (BUSY_S,)) for i in range(2)])
        wall = time.perf_counter() - wall
        client = process_cpu() - client_before
        workers_after = executor.client.run(process_cpu)
        pieces = sum(timing.cpu_s for timing in executor.timings[-2:])
        workers = sum(workers_after[k] - workers_before[k] for k in workers_after) - pieces
    return client / wall, workers / 2 / wall


def main() -> None:
    if len(sys.argv) > 1:      # one measurement, in a fresh process (its own forkserver)
        client, worker = measure(sys.argv[1] == "shipped")
        print(f"{client} {worker}")
        return
    print(f"load average before: {os.getloadavg()[0]:.1f}; two pieces of {BUSY_S:g} "
          "processor-s on local:2")
    results: dict[str, list[tuple[float, float]]] = {"shipped": [], "local": []}
    for repeat in range(REPEATS):
        for kind in (("shipped", "local") if repeat % 2 == 0 else ("local", "shipped")):
            completed = subprocess.run([sys.executable, __file__, kind], capture_output=True,
                                       text=True, check=True)
            client, worker = map(float, completed.stdout.split()[-2:])
            results[kind].append((client, worker))
            print(f"  #{repeat + 1} {kind:8s}: client process {100 * client:.1f} % of the wall "
                  f"time, each worker outside its piece {100 * worker:.1f} %", flush=True)
    for kind, values in results.items():
        print(f"  {kind} (Dask's monitors {'as shipped' if kind == 'shipped' else 'of execution'}"
              f"): medians client {100 * statistics.median(v[0] for v in values):.1f} %, worker "
              f"{100 * statistics.median(v[1] for v in values):.1f} %")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
