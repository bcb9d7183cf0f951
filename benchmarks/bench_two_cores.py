"""What running two pieces at once costs on this machine, without Dask: the ceiling of local:2.

    python benchmarks/bench_two_cores.py           # run it on the idle machine (about 2 min)

Two jobs, each first alone, then two copies at once (one process each, one thread each), and
the processor seconds of one copy compared (a ratio above 1 is what the second core costs the
first: a shared cache, memory bandwidth, a lower clock with both cores busy, or a host that
puts both virtual cores on one physical core):

* a control that stays in the first-level cache (a Python integer loop): no memory traffic, so
  its ratio is the clock and the host;
* one S(q,w) piece of ``bench_distributed.py`` (1000 atoms, 600 frames, a block of 200
  q-points, coherent + self part), numba's kernels loaded before timing.

If the piece's ratio is c, two pieces on two workers take c/2 of one after the other, and no
scheduler gets local:2 above 2/c over local:1 (docs/scaling.md).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"          # one thread per copy, as a Dask worker piece has

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPEATS = int(os.environ.get("REPEATS", 5))   # interleaved tries; medians count


def control(_: object = None) -> float:
    """Processor seconds of a cache-resident integer loop."""
    start = time.process_time()
    total = 0
    for i in range(20_000_000):
        total += i * i & 7
    return time.process_time() - start


def make_piece(folder: Path):
    """The first S(q,w) piece of bench_distributed.py's sqw case (captured, not run)."""
    import numpy as np
    from bench_sqw import write_trajectory

    from mantid_mdinsim import execution
    from mantid_mdinsim.sqw import compute_sqw
    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    path = folder / "trajectory.xyz"
    cell = write_trajectory(path, 1000, 600)
    q = spherical_qpoints(cell, 3.0, 400, seed=1).cartesian[:400]
    np.savetxt(folder / "q.txt", q)
    captured = []

    class Capture(execution.InProcessExecutor):
        def __init__(self):
            super().__init__(1)
            self.spec = execution.SchedulerSpec("local", 1)

        def run(self, pieces, progress=None, on_result=None, input_files=()):
            captured.extend(pieces)
            raise StopIteration

    token = execution._active.set(Capture())
    try:
        compute_sqw(dict(trajectories=[str(path)], time_step_fs=10.0, window=100,
                         q_file=str(folder / "q.txt"), per_q=True, weights="none",
                         incoherent="yes"))
    except StopIteration:
        pass
    finally:
        execution._active.reset(token)
    return captured[0]


_PIECE = None


def run_piece(_: object = None) -> float:
    """Processor seconds of the piece (its kernels loaded by a first, untimed call)."""
    piece = _PIECE
    piece.function(*piece.args, **piece.kwargs)
    start = time.process_time()
    piece.function(*piece.args, **piece.kwargs)
    return time.process_time() - start


def compare(name: str, job) -> None:
    context = multiprocessing.get_context("fork")
    alone, together = [], []
    for _ in range(REPEATS):                       # interleaved: the load drifts
        with context.Pool(1) as pool:
            alone.append(pool.map(job, [0])[0])
        with context.Pool(2) as pool:
            together.append(pool.map(job, [0, 1], chunksize=1))
    at_once = [value for pair in together for value in pair]
    paired = [sum(pair) / 2 / one for pair, one in zip(together, alone)]
    median = statistics.median
    print(f"  {name}: alone {median(alone):.2f} processor-s, two at once {median(at_once):.2f} "
          f"(medians of {REPEATS} interleaved tries); c = {median(at_once) / median(alone):.3f}"
          f" (paired {min(paired):.2f} to {max(paired):.2f}); best: alone {min(alone):.2f}, "
          f"at once {min(at_once):.2f}; all: alone " + " ".join(f"{v:.2f}" for v in alone)
          + ", at once " + " ".join(f"{v:.2f}" for v in at_once))


def main() -> None:
    global _PIECE
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        _PIECE = make_piece(Path(folder))
        compare("control (integer loop, in cache)", control)
        compare("S(q,w) piece (200 q-points, 600 frames, 1000 atoms)", run_piece)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
