"""Benchmark: S(q,w) time per frame against trajectory length (goal: linear in frames).

The correlator alone (no reading, no output), fed in memory with frames of the crystal of
bench_sqw.py (1000 atoms, 408 spherical q-points up to 8 1/Angstrom, window 100, coherent +
incoherent unless ``--coherent``), for 600, 1200 and 2400 frames: CPU time (user + system, all
threads) and wall time per frame, each as a ratio to the 600-frame figure (goal: within ~10-15
%), and the blocks the plan used. The lengths alternate ``--repeats`` times; best of each.

    python benchmarks/bench_sqw_frames.py                      # numba, 1000 atoms
    python benchmarks/bench_sqw_frames.py --engines numba,torch --repeats 3
    python benchmarks/bench_sqw_frames.py --process            # also whole `mdinsim sqw` runs
    python benchmarks/bench_sqw_frames.py --blocks 592,934,1200 --frames 600   # block sizes

``--blocks`` times single blocks instead (numba, one thread, alternating, best of
``--repeats``): CPU per start of one full block of each size (B starts, B + W frames, with its
tail) against one block of the shortest ``--frames`` (all frames starts, no tail): the
asymptotic per-frame ratio of a long trajectory to a short one, which a loaded machine blurs
less than whole runs.

``--process`` also times whole processes (``mdinsim sqw`` on extended-XYZ files of those
lengths, written here, ``--no-plot``; reading included): per-frame figures after subtracting
the fixed cost estimated from the two shortest runs are not printed, only the plain ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def crystal(n_atoms: int, n_frames: int, seed: int = 0):
    """Fractional coordinates ``(n_frames, n_atoms, 3)`` of bench_sqw.py's crystal (travelling
    waves), its cell and species indices (every fifth atom the second species)."""
    from ase.build import bulk

    cells = max(1, round((n_atoms / 4) ** (1 / 3)))
    repeat = [cells, cells, max(1, round(n_atoms / 4 / cells ** 2))]
    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(repeat)
    rng = np.random.default_rng(seed)
    cell = atoms.cell.array
    waves = rng.normal(size=(24, 3)) @ (2 * np.pi * np.linalg.inv(cell).T) * 0.5
    amplitude = rng.normal(0, 0.05, (24, 3))
    omega = rng.uniform(0.005, 0.03, 24)
    phase = waves @ atoms.positions.T
    inverse = np.linalg.inv(cell)
    frames = np.empty((n_frames, len(atoms), 3))
    for frame in range(n_frames):
        displacement = np.cos(phase - omega[:, None] * frame * 10.0).T @ amplitude
        frames[frame] = (atoms.positions + displacement) @ inverse
    species = np.array([0 if i % 5 else 1 for i in range(len(atoms))])
    return frames, cell, species


def correlate(engine: str, frames: np.ndarray, species: np.ndarray, q_indices: np.ndarray,
              window: int, incoherent: bool) -> tuple[float, float, int, object]:
    """(wall s, CPU s, blocks, plan) of one correlation of ``frames``."""
    from mantid_mdinsim.sqw.correlation import StreamingCorrelator

    if engine == "torch":
        from mantid_mdinsim.sqw.engines.torch_engine import TorchCorrelator
        correlator = TorchCorrelator(species, 2, q_indices, window, incoherent)
    else:
        correlator = StreamingCorrelator(species, 2, q_indices, window, incoherent)
    wall, cpu = time.perf_counter(), time.process_time()
    for frame in frames:
        correlator.push(frame)
    correlator.finish()
    correlator.take()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    correlator.close()
    return wall, cpu, correlator.blocks_done, correlator.plan


def block_costs(frames: np.ndarray, species: np.ndarray, q_indices: np.ndarray, window: int,
                sizes: list[int], short: int, repeats: int) -> None:
    from mantid_mdinsim.sqw.correlation import BlockPlan, StreamingCorrelator, next_fast_len

    def one(starts: int, n_valid: int) -> tuple[float, float]:
        plan = BlockPlan(window, starts, next_fast_len(starts + 2 * window),
                         next_fast_len(2 * window))
        correlator = StreamingCorrelator(species, 2, q_indices, window, True, plan=plan,
                                         workers=1)
        correlator._positions[:n_valid] = frames[:n_valid][:, correlator.order]
        correlator._held = n_valid
        cpu, wall = time.process_time(), time.perf_counter()
        correlator._process(n_valid, min(starts, n_valid))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        correlator.close()
        return cpu / min(starts, n_valid), wall / min(starts, n_valid)

    one(64, window + 64)                                           # compile / warm
    best: dict[int, tuple[float, float]] = {}
    for _ in range(repeats):
        for starts in [0] + sizes:
            cpu, wall = one(short, short) if starts == 0 else one(starts, starts + window)
            previous = best.get(starts, (np.inf, np.inf))
            best[starts] = (min(previous[0], cpu), min(previous[1], wall))
    base = best[0]
    print(f"one thread, per start (best of {repeats}):")
    for starts, (cpu, wall) in best.items():
        label = f"{short} frames, one block" if starts == 0 else f"full block of {starts} starts"
        print(f"  {label:<28s} {1e3 * cpu:6.2f} ms CPU (x{cpu / base[0]:.2f}) {1e3 * wall:6.2f} "
              f"ms wall (x{wall / base[1]:.2f})")


def process_runs(lengths: list[int], atoms: int, window: int, incoherent: bool,
                 repeats: int) -> None:
    from bench_sqw import write_trajectory
    from bench_sqw_process import best_of, ours, run_process

    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        # the same seed: the shorter files are prefixes of the longest (the same frames)
        paths = {n: folder / f"f{n}.xyz" for n in lengths}
        cell = None
        for n in lengths:
            cell = write_trajectory(paths[n], atoms, n)
        q_file = folder / "q.txt"
        np.savetxt(q_file, spherical_qpoints(cell, 8.0, 408, seed=1).cartesian[:408])
        run_process(ours(paths[min(lengths)], q_file, window, incoherent, folder / "w.nxs",
                         extra=["--no-plot"]))          # warm caches
        runs = {n: best_of(ours(paths[n], q_file, window, incoherent, folder / "o.nxs",
                                extra=["--no-plot"]), repeats) for n in lengths}
        base = runs[min(lengths)]
        print("whole process (mdinsim sqw --no-plot, extended XYZ; fixed costs included):")
        for n in lengths:
            run = runs[n]
            print(f"  {n:5d} frames {run.wall:7.2f} s wall {run.cpu:7.2f} s CPU  per frame "
                  f"{1e3 * run.wall / n:6.2f} ms wall, {1e3 * run.cpu / n:6.2f} ms CPU  (x"
                  f"{(run.cpu / n) / (base.cpu / min(lengths)):.2f} CPU per frame)  peak "
                  f"{run.peak:4.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--q", type=int, default=408)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--frames", default="600,1200,2400")
    parser.add_argument("--engines", default="numba")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--coherent", action="store_true", help="the coherent part alone")
    parser.add_argument("--process", action="store_true", help="also whole mdinsim processes")
    parser.add_argument("--blocks", default="",
                        help="time single blocks of these numbers of starts instead")
    args = parser.parse_args()
    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    lengths = [int(n) for n in args.frames.split(",")]
    incoherent = not args.coherent
    sizes = [int(b) for b in args.blocks.split(",") if b]
    frames, cell, species = crystal(args.atoms, max(lengths + [b + args.window for b in sizes]))
    q_indices = spherical_qpoints(cell, 8.0, args.q, seed=1).indices[:args.q]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {frames.shape[1]} "
          f"atoms, {len(q_indices)} q-points, window {args.window}, "
          f"{'coherent + incoherent' if incoherent else 'coherent'}")
    if sizes:
        block_costs(frames, species, q_indices, args.window, sizes, min(lengths), args.repeats)
        return
    for engine in args.engines.split(","):
        correlate(engine, frames[:args.window + 20], species, q_indices, args.window,
                  incoherent)                                    # compile / warm
        best: dict[int, list[float]] = {}
        for _ in range(args.repeats):
            for n in lengths:
                wall, cpu, blocks, plan = correlate(engine, frames[:n], species, q_indices,
                                                    args.window, incoherent)
                previous = best.get(n, [np.inf, np.inf, blocks])
                best[n] = [min(previous[0], wall), min(previous[1], cpu), blocks]
        print(f"{engine}: plan {plan.starts} starts per block ({plan.frames} frames, FFT "
              f"{plan.fft_length} + tail {plan.tail_fft_length})")
        base_wall, base_cpu = (best[lengths[0]][0] / lengths[0], best[lengths[0]][1] / lengths[0])
        for n in lengths:
            wall, cpu, blocks = best[n]
            print(f"  {n:5d} frames, {blocks} blocks: {wall:7.2f} s wall {cpu:7.2f} s CPU; per "
                  f"frame {1e3 * wall / n:6.2f} ms wall (x{wall / n / base_wall:.2f}), "
                  f"{1e3 * cpu / n:6.2f} ms CPU (x{cpu / n / base_cpu:.2f})")
    if args.process:
        process_runs(lengths, args.atoms, args.window, incoherent, args.repeats)


if __name__ == "__main__":
    main()
