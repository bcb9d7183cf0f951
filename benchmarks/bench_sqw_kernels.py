"""Benchmark: where the self part of S(q,w) spends its time, phase by phase.

The numba engine's self part of one block (``StreamingCorrelator._self_part``) is, per atom and
q-point: the phase series exp(i q.r(t)) (``kernels.atom_phase_series``), one forward FFT of
``n + W`` points (``correlation.fft_in_place``), and the sums of the transforms and of their
powers per species (``kernels.accumulate_spectra``). This times each on its own, one thread,
on the work arrays the engine uses (one atom x one q-chunk), for the crystal of bench_sqw.py
(1000 atoms, 408 spherical q-points, 600 frames, W 100: one block of 600 starts, 700-point
FFTs), with numpy's FFT beside the engine's (ducc0) as the reference; then whole blocks
(``_process``) with 1 and 2 worker threads: CPU time (user + system), wall time and their
ratio (how busy the threads kept the cores). Alternating ``--repeats`` times, best of each.

    python benchmarks/bench_sqw_kernels.py              # ~1 minute on 2 cores
    python benchmarks/bench_sqw_kernels.py --repeats 5

Prints microseconds per atom and q-point and the totals they imply for the whole block.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def best_cpu(function, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        cpu = time.process_time()
        function()
        best = min(best, time.process_time() - cpu)
    return best


def kernel_costs(frames, species, q_indices, window, atoms, repeats):
    """CPU seconds per atom and q-point of each step, one thread, on the engine's work array
    shapes (one atom x one q-chunk)."""
    from mantid_mdinsim.sqw import kernels
    from mantid_mdinsim.sqw.correlation import StreamingCorrelator, fft_in_place, next_fast_len

    n_frames = len(frames)
    correlator = StreamingCorrelator(species, 2, q_indices, window, True, workers=1)
    length = next_fast_len(n_frames + window)
    q_chunk, atom_chunk = correlator._chunk_sizes(length, 0)
    correlator.close()
    order = np.argsort(species, kind="stable")
    positions = np.ascontiguousarray(frames[:, order])
    sorted_species = species[order]
    magnitude, sign, sizes = kernels.split_indices(q_indices)
    magnitude, sign = magnitude[:q_chunk], sign[:q_chunk]
    series = np.empty((1, q_chunk, length), dtype=complex)
    density = np.zeros((2, q_chunk, length), dtype=complex)
    power = np.zeros((2, q_chunk, length))
    numbers = np.arange(positions.shape[1])

    def phases():
        for atom in range(atoms):
            kernels.atom_phase_series(positions, numbers[atom:atom + 1], n_frames, magnitude,
                                      sign, sizes, series)

    kernels.atom_phase_series(positions, numbers[:1], n_frames, magnitude, sign, sizes, series)
    source = series.copy()

    def refill():
        for _ in range(atoms):
            np.copyto(series, source)

    def numpy_fft():
        for _ in range(atoms):
            np.copyto(series, source)
            np.fft.fft(series, axis=-1, out=series)

    def engine_fft():
        for _ in range(atoms):
            np.copyto(series, source)
            fft_in_place(series)

    def accumulate():
        for atom in range(atoms):
            kernels.accumulate_spectra(series, sorted_species[atom:atom + 1], density, power)

    steps = {"phase series": phases, "copy (subtracted from the FFTs)": refill,
             "FFT numpy": numpy_fft, "FFT engine (ducc0)": engine_fft,
             "accumulation": accumulate}
    for step in steps.values():
        step()                                                   # compile / warm
    best = {name: np.inf for name in steps}
    for _ in range(repeats):                                     # alternated
        for name, step in steps.items():
            best[name] = min(best[name], best_cpu(step, 1))
    copy = best.pop("copy (subtracted from the FFTs)")
    for name in ("FFT numpy", "FFT engine (ducc0)"):
        best[name] -= copy
    return best, q_chunk, length


def block_costs(frames, species, q_indices, window, repeats):
    """(wall, CPU) of one whole block (all frames starts) with 1 and 2 worker threads."""
    from mantid_mdinsim.sqw.correlation import StreamingCorrelator

    def one(workers: int) -> tuple[float, float]:
        correlator = StreamingCorrelator(species, 2, q_indices, window, True, workers=workers)
        for frame in frames:
            correlator.push(frame)
        wall, cpu = time.perf_counter(), time.process_time()
        correlator.finish()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        correlator.close()
        return wall, cpu

    one(2)
    best = {1: [np.inf, np.inf], 2: [np.inf, np.inf]}
    for _ in range(repeats):
        for workers in (1, 2):
            wall, cpu = one(workers)
            best[workers] = [min(best[workers][0], wall), min(best[workers][1], cpu)]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--q", type=int, default=408)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--sample-atoms", type=int, default=200,
                        help="atoms timed per step (scaled up to the whole block)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from bench_sqw_frames import crystal
    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    frames, cell, species = crystal(args.atoms, args.frames)
    q_indices = spherical_qpoints(cell, 8.0, args.q, seed=1).indices[:args.q]
    n_atoms, n_q = frames.shape[1], len(q_indices)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {n_atoms} atoms, "
          f"{n_q} q-points, {args.frames} frames, window {args.window}, one block")
    costs, q_chunk, length = kernel_costs(frames, species, q_indices, args.window,
                                          args.sample_atoms, args.repeats)
    per = 1.0 / (args.sample_atoms * q_chunk)
    print(f"one thread, CPU per atom and q-point ({q_chunk} q-points per work array, "
          f"{length}-point FFTs), best of {args.repeats}; whole block = x {n_atoms * n_q}:")
    for name, seconds in costs.items():
        print(f"  {name:22s} {1e6 * seconds * per:6.2f} us  -> {seconds * per * n_atoms * n_q:5.2f}"
              f" s CPU for the block")
    ratio = costs["FFT numpy"] / costs["FFT engine (ducc0)"]
    print(f"  FFT numpy / engine: x{ratio:.2f}")
    blocks = block_costs(frames, species, q_indices, args.window, args.repeats)
    for workers, (wall, cpu) in blocks.items():
        print(f"whole block, {workers} worker thread{'s' if workers > 1 else ''}: {wall:5.2f} s "
              f"wall, {cpu:5.2f} s CPU (CPU / wall {cpu / wall:.2f})")


if __name__ == "__main__":
    main()
