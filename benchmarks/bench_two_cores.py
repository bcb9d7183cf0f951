"""What running two pieces at once costs on this machine, without Dask: the ceiling of local:2.

    python benchmarks/bench_two_cores.py           # run it on the idle machine (about 2 min)
    python benchmarks/bench_two_cores.py --q-per-piece 200 100 50 --work-bytes 1M 256K
                                                   # c against a piece's size (about 8 min)

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

``--q-per-piece`` (q-points per piece, ``sqw/pieces.py``'s ``Q_BLOCK``: 200) and ``--work-bytes``
(the self part's work arrays, ``$MDINSIM_SQW_WORK_BYTES``: 1M, chosen to stay near a core's
second-level cache) measure c for other piece sizes: a piece whose working set fits a core's
own cache should contend less with its neighbour for the shared one and for memory. Each
combination prints its processor seconds per q-point alone too, so that a smaller c bought with
more work per q-point shows as such. The results of every combination are the same numbers
(tests/sqw/test_distributed.py: pieces and chunks do not change S(q,w)).
"""

from __future__ import annotations

import argparse
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


def write_inputs(folder: Path) -> None:
    """bench_distributed.py's sqw case: 1000 atoms, 600 frames, 400 q-points."""
    import numpy as np
    from bench_sqw import write_trajectory

    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    cell = write_trajectory(folder / "trajectory.xyz", 1000, 600)
    np.savetxt(folder / "q.txt", spherical_qpoints(cell, 3.0, 400, seed=1).cartesian[:400])


def make_piece(folder: Path, q_per_piece: int | None = None):
    """The first S(q,w) piece of the command's local:N run (captured, not run), with
    ``q_per_piece`` q-points (None: the pieces' own Q_BLOCK)."""
    from mantid_mdinsim import execution
    from mantid_mdinsim.sqw import compute_sqw, pieces

    if not (folder / "trajectory.xyz").is_file():
        write_inputs(folder)
    captured = []

    class Capture(execution.InProcessExecutor):
        def __init__(self):
            super().__init__(1)
            self.spec = execution.SchedulerSpec("local", 1)

        def run(self, pieces, progress=None, on_result=None, input_files=()):
            captured.extend(pieces)
            raise StopIteration

    token = execution._active.set(Capture())
    q_block = pieces.Q_BLOCK
    pieces.Q_BLOCK = q_per_piece or q_block
    try:
        compute_sqw(dict(trajectories=[str(folder / "trajectory.xyz")], time_step_fs=10.0,
                         window=100, q_file=str(folder / "q.txt"), per_q=True, weights="none",
                         incoherent="yes"))
    except StopIteration:
        pass
    finally:
        pieces.Q_BLOCK = q_block
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


def compare(name: str, job, per: int = 1) -> None:
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
    each = f" ({1e3 * median(alone) / per:.2f} ms per q-point alone)" if per > 1 else ""
    print(f"  {name}: alone {median(alone):.2f} processor-s{each}, two at once "
          f"{median(at_once):.2f} (medians of {REPEATS} interleaved tries); c = "
          f"{median(at_once) / median(alone):.3f} (paired {min(paired):.2f} to "
          f"{max(paired):.2f}); best: alone {min(alone):.2f}, at once {min(at_once):.2f}; all: "
          "alone " + " ".join(f"{v:.2f}" for v in alone)
          + ", at once " + " ".join(f"{v:.2f}" for v in at_once), flush=True)


def _bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def main() -> None:
    global _PIECE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--q-per-piece", type=int, nargs="+", default=[None],
                        help="q-points per piece (default: the pieces' Q_BLOCK, 200)")
    parser.add_argument("--work-bytes", nargs="+", default=[None],
                        help="the self part's work arrays, e.g. 1M 256K (default: 1M)")
    parser.add_argument("--no-control", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        if not args.no_control:
            compare("control (integer loop, in cache)", control)
        for q_per_piece in args.q_per_piece:
            _PIECE = make_piece(Path(folder), q_per_piece)
            n_q = len(_PIECE.args[3])
            for work in args.work_bytes:
                if work is None:
                    os.environ.pop("MDINSIM_SQW_WORK_BYTES", None)
                else:
                    os.environ["MDINSIM_SQW_WORK_BYTES"] = str(_bytes(work))
                compare(f"S(q,w) piece ({n_q} q-points, 600 frames, 1000 atoms, work arrays "
                        f"{work or '1M'})", run_piece, n_q)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
