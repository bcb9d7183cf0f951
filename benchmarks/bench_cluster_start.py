"""The fixed costs of a distributed command: starting local:N, the workers' loading, closing.

    python benchmarks/bench_cluster_start.py                # sqw and md, local:1 and local:2
    python benchmarks/bench_cluster_start.py --only sqw --workers 2

Each configuration runs in a fresh Python process (as a command does), for each way of starting
the workers: ``spawn`` (Dask's default: each worker starts Python and imports everything) and
``forkserver`` (mdinsim's default on Linux: workers forked from a process that imported the
step's modules once; :func:`mantid_mdinsim.execution.prepare_local_workers`). The work is tiny
(S(q,w) of 64 atoms, 40 frames, 8 q-points; MD of 8 atoms, 30 steps per run), so what is
measured is what a command pays besides its work. Printed: wall seconds of the command, of its
imports, of the step, and within it of the cluster's start and close; processor seconds of the
command's process and of all its child processes (workers, forkserver) in all. On a loaded machine wall times
mostly show the load; processor seconds show the work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = HERE.parents[1] / "shared" / "data" / "nep" / "Si_2022_NEP4_3body.txt"


def one(step: str, workers: int, method: str, folder: Path) -> dict:
    """One command's fixed costs (runs in a fresh process, as the command would)."""
    import resource

    started = time.perf_counter()
    from mantid_mdinsim import execution

    if method == "spawn":
        execution.prepare_local_workers = lambda *args, **kwargs: "spawn"
    phases = {"start_s": 0.0, "close_s": 0.0}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            begun = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] += time.perf_counter() - begun
        return wrapper

    execution.DaskExecutor._start = timed("start_s", execution.DaskExecutor._start)
    execution.DaskExecutor.close = timed("close_s", execution.DaskExecutor.close)
    scheduler = f"local:{workers}"
    if step == "sqw":
        import numpy as np
        from bench_sqw import write_trajectory

        from mantid_mdinsim.sqw import compute
        from mantid_mdinsim.sqw.qpoints import spherical_qpoints

        path = folder / "trajectory.xyz"
        cell = write_trajectory(path, 64, 40)
        q_file = folder / "q.txt"
        np.savetxt(q_file, spherical_qpoints(cell, 3.0, 8, seed=1).cartesian[:8])
        settings = dict(trajectories=[str(path)], time_step_fs=10.0, window=10,
                        q_file=str(q_file), per_q=True, weights="none", incoherent="yes",
                        scheduler=scheduler)
        work = lambda: compute.compute_sqw(settings)  # noqa: E731
    else:
        from ase.build import bulk
        from ase.io import write

        from mantid_mdinsim.md import core

        structure = folder / "si.xyz"
        write(structure, bulk("Si", "diamond", a=5.43, cubic=True), format="extxyz")
        values = dict(structure=str(structure), model=str(MODEL), temperature_k=[300.0],
                      number_of_runs=workers, supercell=[1, 1, 1], time_step_fs=2.0,
                      equilibration="nvt", equilibration_time_ps=0.02, production_time_ps=0.04,
                      dump_interval_fs=10.0, max_frequency_mev=65.0, backend="cpu",
                      scheduler=scheduler)
        work = lambda: core.run_md(values, output_dir=str(folder / "md"))  # noqa: E731
    begun = time.perf_counter()
    work()
    phases["step_s"] = time.perf_counter() - begun
    phases["imports_s"] = begun - started
    from multiprocessing import forkserver

    with contextlib.suppress(AttributeError):   # stopped: its processor time is counted
        forkserver._forkserver._stop()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    phases["client_cpu_s"] = own.ru_utime + own.ru_stime
    phases["children_cpu_s"] = children.ru_utime + children.ru_stime
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("sqw", "md"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--methods", nargs="+", default=["spawn", "forkserver"])
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        sys.path.insert(0, str(HERE))
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(one(args.one[0], int(args.one[1]), args.one[2], Path(folder))))
        return
    for step in ("sqw", "md") if args.only is None else (args.only,):
        for workers in args.workers:
            for method in args.methods:
                started = time.perf_counter()
                output = subprocess.run([sys.executable, __file__, "--one", step, str(workers),
                                         method], capture_output=True, text=True, check=True)
                wall = time.perf_counter() - started
                r = json.loads(output.stdout.strip().splitlines()[-1])
                print(f"{step} local:{workers} {method:10s}: command {wall:5.1f} s (imports "
                      f"{r['imports_s']:.1f}, step {r['step_s']:.1f}, of which cluster start "
                      f"{r['start_s']:.1f}, close {r['close_s']:.1f}); processor-s: this "
                      f"process {r['client_cpu_s']:.1f}, workers and forkserver "
                      f"{r['children_cpu_s']:.1f}, in all "
                      f"{r['client_cpu_s'] + r['children_cpu_s']:.1f}", flush=True)


if __name__ == "__main__":
    main()
