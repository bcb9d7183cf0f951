"""Scaling on Dask: local:1 against local:2 for S(q,w) and for MD, and the in-process time.

    python benchmarks/bench_distributed.py                  # sqw: 1000 atoms, 600 frames, 400 q
    python benchmarks/bench_distributed.py --only md        # md: two runs of 64 Si atoms
    python benchmarks/bench_distributed.py --workers 1 2 4  # more points

S(q,w): the trajectory of bench_sqw.py (an fcc crystal with travelling waves, two species),
window 100, coherent and incoherent parts, per q-point. MD: the CPU backend, two independent
runs (NVT 0.2 ps, NVE 1 ps, 2 fs steps) of the published Si NEP. Each cluster is started, warmed
up (numba's cache and the imports loaded on every worker by a tiny run) and then timed, so the
times are those of the work, not of starting workers; the start-up is printed apart. Prints the
wall times, the speed-up of N workers over one and the largest difference from the in-process
result (S: relative to the largest value; MD: whether the trajectories are byte for byte equal).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DEFAULT_MODEL = HERE.parents[1] / "shared" / "data" / "nep" / "Si_2022_NEP4_3body.txt"


@contextmanager
def worker_cpu_seconds(executor, into: list):
    """Processor seconds the workers spent inside the block (all of them together): under a
    loaded machine wall times scale poorly, the work done shows whether the pieces add any."""
    before = executor.client.run(time.process_time)
    yield
    after = executor.client.run(time.process_time)
    into.append(sum(after[w] - before.get(w, 0.0) for w in after))


def compare_scaling(args, label: str, warm, work, agreement) -> None:
    """Time ``work()`` in this process and on local:N for each N of ``args.workers`` (each
    cluster warmed up by ``warm(tag)`` first); print times, speed-ups, the workers' processor
    seconds and ``agreement(reference, result)``."""
    from mantid_mdinsim import execution

    warm("in_process")
    started, cpu_start = time.perf_counter(), time.process_time()
    reference = work("in_process")
    print(f"  in-process: {time.perf_counter() - started:7.1f} s, "
          f"{time.process_time() - cpu_start:.1f} processor-s ({label})")
    times = {}
    for workers in args.workers:
        started = time.perf_counter()
        cpu: list[float] = []
        with execution.session(f"local:{workers}") as executor:
            startup = time.perf_counter() - started
            warm(f"local_{workers}")
            started = time.perf_counter()
            with worker_cpu_seconds(executor, cpu):
                result = work(f"local_{workers}")
            times[workers] = time.perf_counter() - started
        print(f"  local:{workers}: {times[workers]:7.1f} s (cluster start {startup:.1f} s), "
              f"speed-up over local:{args.workers[0]}: "
              f"{times[args.workers[0]] / times[workers]:.2f}x, workers' processor-s "
              f"{cpu[0]:.1f}, {agreement(reference, result)}")


def sqw_benchmark(folder: Path, args) -> None:
    from bench_sqw import write_trajectory

    from mantid_mdinsim.sqw import compute_sqw
    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    path = folder / "trajectory.xyz"
    cell = write_trajectory(path, args.atoms, args.frames)
    q = spherical_qpoints(cell, 3.0, args.q, seed=1).cartesian[:args.q]
    q_file = folder / "q.txt"
    np.savetxt(q_file, q)
    tiny = folder / "tiny.xyz"
    write_trajectory(tiny, 32, 60)
    settings = dict(trajectories=[str(path)], time_step_fs=10.0, window=args.window,
                    q_file=str(q_file), per_q=True, weights="none", incoherent="yes")
    warm = dict(settings, trajectories=[str(tiny)], window=10, q_file=None,
                q_max_inv_angstrom=2.0, q_count=20)
    print(f"sqw: {args.atoms} atoms, {args.frames} frames, {len(q)} q-points, window "
          f"{args.window}, coherent + incoherent")

    def agreement(reference, result) -> str:
        scale = np.nanmax(np.abs(reference.parts["total"][0]))
        difference = max(np.nanmax(np.abs(result.parts[n][0] - reference.parts[n][0]))
                         for n in reference.parts) / scale
        return f"largest difference from in-process {difference:.1e} (relative)"

    compare_scaling(args, "numba threads: all cores", lambda tag: compute_sqw(warm),
                    lambda tag: compute_sqw(settings), agreement)


def md_benchmark(folder: Path, args) -> None:
    from ase.build import bulk
    from ase.io import write

    from mantid_mdinsim.md import run_md

    structure = folder / "si.xyz"
    write(structure, bulk("Si", "diamond", a=5.43, cubic=True), format="extxyz")
    values = dict(structure=str(structure), model=str(args.model), temperature_k=[300.0],
                  number_of_runs=2, supercell=[2, 2, 2], time_step_fs=2.0, equilibration="nvt",
                  equilibration_time_ps=0.2, production_time_ps=args.production_ps,
                  dump_interval_fs=10.0, max_frequency_mev=65.0, backend="cpu", processes=1)
    warm = dict(values, number_of_runs=1, equilibration_time_ps=0.02, production_time_ps=0.04)
    print(f"md: two runs of 64 Si atoms, {args.production_ps:g} ps NVE after 0.2 ps NVT, "
          "CPU backend")

    def agreement(reference, result) -> str:
        same = all(filecmp.cmp(a["trajectory_path"], b["trajectory_path"], shallow=False)
                   for a, b in zip(reference.runs, result.runs))
        return f"trajectories byte-identical to in-process: {same}"

    compare_scaling(args, "one run after the other",
                    lambda tag: run_md(warm, output_dir=str(folder / f"warm_{tag}")),
                    lambda tag: run_md(values, output_dir=str(folder / tag)), agreement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("sqw", "md"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--q", type=int, default=400)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--production-ps", type=float, default=1.0)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "sqw"):
            sqw_benchmark(Path(folder), args)
        if args.only in (None, "md"):
            md_benchmark(Path(folder), args)


if __name__ == "__main__":
    main()
