"""Benchmark: the S(q,w) engine against dynasor's compute_dynamic_structure_factors.

Both read the same extended-XYZ trajectory (written here: an fcc crystal with thermal-like
displacements) and use the same q-points, window and time step; both times are end to end
(reading and parsing the file, the correlations, the transform to frequency). Numba compilation
is excluded from both by a warm-up on a tiny trajectory.

    python benchmarks/bench_sqw.py                      # 1000 atoms, 400 q, 600 frames
    python benchmarks/bench_sqw.py --small              # 256 atoms, 100 q, 200 frames
    python benchmarks/bench_sqw.py --incoherent         # also the self part (dynasor is slow)

Prints the times, the rates in atom*q*frame/s, their ratio and the largest difference between
the results relative to the largest value of each part.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def write_trajectory(path: Path, n_atoms: int, n_frames: int, seed: int = 0) -> np.ndarray:
    """fcc argon-like crystal, displacements from a few random travelling waves: an extended
    XYZ file as GPUMD writes it (Lattice, Properties=species:S:1:pos:R:3, 10 decimals)."""
    from ase.build import bulk

    cells = max(1, round((n_atoms / 4) ** (1 / 3)))
    repeat = [cells, cells, max(1, round(n_atoms / 4 / cells ** 2))]
    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(repeat)
    symbols = ["Ar" if i % 5 else "Kr" for i in range(len(atoms))]   # two species: partials
    rng = np.random.default_rng(seed)
    cell = atoms.cell.array
    waves = rng.normal(size=(24, 3)) @ (2 * np.pi * np.linalg.inv(cell).T) * 0.5
    amplitude = rng.normal(0, 0.05, (24, 3))
    omega = rng.uniform(0.005, 0.03, 24)
    phase = waves @ atoms.positions.T                         # (waves, atoms)
    lattice = " ".join(f"{v:.10f}" for v in cell.reshape(-1))
    with open(path, "w") as handle:
        for frame in range(n_frames):
            displacement = np.cos(phase - omega[:, None] * frame * 10.0).T @ amplitude
            positions = atoms.positions + displacement
            handle.write(f"{len(atoms)}\nTime={frame * 10.0:.8f} pbc=\"T T T\" "
                         f"Lattice=\"{lattice}\" Properties=species:S:1:pos:R:3\n")
            handle.write("".join(f"{s} {x:.10f} {y:.10f} {z:.10f}\n"
                                 for s, (x, y, z) in zip(symbols, positions)))
    return cell


def default_trajectory(folder: Path, n_atoms: int, n_frames: int) -> Path:
    """The :func:`write_trajectory` file of ``n_atoms`` x ``n_frames`` in ``folder``, written
    once (under a temporary name, then renamed) and reused by later runs."""
    path = folder / f"mdinsim-bench-xyz-{n_atoms}x{n_frames}.xyz"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_trajectory(partial, n_atoms, n_frames)
        partial.rename(path)
    return path


def run_ours(path: Path, q_file: Path, window: int, incoherent: bool):
    from mantid_mdinsim.sqw import compute_sqw

    start = time.perf_counter()
    result = compute_sqw(trajectories=[str(path)], time_step_fs=10.0, window=window,
                         q_file=str(q_file), per_q=True, weights="none",
                         incoherent="yes" if incoherent else "no")
    return time.perf_counter() - start, result


def run_dynasor(path: Path, q_points: np.ndarray, window: int, incoherent: bool):
    from dynasor import Trajectory, compute_dynamic_structure_factors

    start = time.perf_counter()
    trajectory = Trajectory(str(path), trajectory_format="extxyz",
                            atomic_indices="read_from_trajectory")
    sample = compute_dynamic_structure_factors(trajectory, q_points, dt=10.0, window_size=window,
                                               calculate_incoherent=incoherent)
    return time.perf_counter() - start, sample


def compare(result, sample, incoherent: bool) -> dict[str, float]:
    from mantid_mdinsim.units import HBAR_MEV_FS

    positive = result.energy_mev >= 0
    names = {f"Sqw_coh_{a}_{b}": f"coherent_{a}_{b}" for a, b in sample.pairs}
    if incoherent:
        names.update({f"Sqw_incoh_{a}": f"incoherent_{a}" for a in sample.atom_types})
    differences = {}
    for theirs, ours in names.items():
        reference = getattr(sample, theirs)
        found = result.parts[ours][0][:, positive] * 2 * np.pi * HBAR_MEV_FS
        differences[ours] = float(np.max(np.abs(found - reference)) / np.max(np.abs(reference)))
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--q", type=int, default=400, help="number of q-points")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--window", type=int, default=100, help="time lags (frames)")
    parser.add_argument("--small", action="store_true", help="256 atoms, 100 q, 200 frames")
    parser.add_argument("--incoherent", action="store_true",
                        help="also compute the self part (dynasor takes window times longer)")
    parser.add_argument("--skip-dynasor", action="store_true")
    args = parser.parse_args()
    if args.small:
        args.atoms, args.q, args.frames, args.window = 256, 100, 200, 50
    import dynasor.logging_tools  # noqa: F401  (sets dynasor's logger to INFO on import)

    logging.getLogger("dynasor").setLevel(logging.WARNING)
    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path, tiny = folder / "bench.xyz", folder / "tiny.xyz"
        t0 = time.perf_counter()
        cell = write_trajectory(path, args.atoms, args.frames)
        write_trajectory(tiny, 32, 12)
        print(f"wrote {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
        # spherical sampling up to 8 1/Angstrom (the range of an INS instrument), about
        # evenly spread in |q|, as the paper's q-point sets
        q_max = 8.0
        q_points = spherical_qpoints(cell, q_max, args.q, seed=1).cartesian
        q_points = q_points[np.random.default_rng(0).permutation(len(q_points))[:args.q]]
        q_file = folder / "q.txt"
        np.savetxt(q_file, q_points)
        tiny_q = folder / "tiny_q.txt"
        tiny_cell = write_trajectory(tiny, 32, 12)
        np.savetxt(tiny_q, spherical_qpoints(tiny_cell, 2.0, 10).cartesian)
        n_atoms = sum(1 for _ in open(path)) // args.frames - 2
        work = n_atoms * len(q_points) * args.frames
        print(f"{n_atoms} atoms, {len(q_points)} q-points (|q| <= {q_max:.2f} 1/Angstrom), "
              f"{args.frames} frames, window {args.window}, numba threads "
              f"{os.environ.get('NUMBA_NUM_THREADS', 'default')}, "
              f"{'coherent + incoherent' if args.incoherent else 'coherent only'}")
        run_ours(tiny, tiny_q, 4, args.incoherent)                     # compile / load caches
        ours_time, result = run_ours(path, q_file, args.window, args.incoherent)
        print(f"mdinsim : {ours_time:7.2f} s  {work / ours_time:.3g} atom*q*frame/s")
        if args.skip_dynasor:
            return
        run_dynasor(tiny, np.loadtxt(tiny_q), 4, args.incoherent)
        dynasor_time, sample = run_dynasor(path, q_points, args.window, args.incoherent)
        print(f"dynasor : {dynasor_time:7.2f} s  {work / dynasor_time:.3g} atom*q*frame/s")
        print(f"speed-up: {dynasor_time / ours_time:.2f}x")
        differences = compare(result, sample, args.incoherent)
        worst = max(differences, key=differences.get)
        print(f"max relative difference: {differences[worst]:.2e} ({worst}; relative to the "
              "largest value of that part)")


if __name__ == "__main__":
    main()
