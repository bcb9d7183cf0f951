"""Benchmark: S(q,w) as whole processes (start-up, imports, reading, computing, writing), side by
side with dynasor 2.5 on the same files, and peak memory against trajectory length.

Every figure is one fresh process, timed from its start to its end, with its peak resident
memory (``ru_maxrss`` of the child). mdinsim runs its command line (``mdinsim sqw``, output file
and PNG written); dynasor runs the shortest script that does the same work (read the file,
``compute_dynamic_structure_factors``, write the sample), with the same q-points, window and
time step. Both have their numba caches warm (a first run on a small file is not counted).

    python benchmarks/bench_sqw_process.py                 # 1000 atoms, 408 q, 600 frames, W 100
    python benchmarks/bench_sqw_process.py --small         # 256 atoms, 100 q, 200 frames, W 50
    python benchmarks/bench_sqw_process.py --skip-dynasor --memory   # memory at 600 and 2400

Sections: start-up (``mdinsim --help``, ``mdinsim sqw --help``; goal < 0.3 s); extended XYZ
(coherent; coherent + incoherent); NetCDF (the same frames; dynasor reads it through
MDAnalysis); with ``--memory``, peak memory at N and 4N frames for each engine (goal: at most
10 % more). Memory is bounded by one block of frames (with the self part about 13 windows, e.g.
1,300 frames for window 100; without it about 5): a trajectory shorter than one block uses less,
so flatness shows between lengths above it (``--frames 2400 --memory``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sqw import write_trajectory  # noqa: E402  (the same crystal as bench_sqw.py)

MDINSIM = [sys.executable, "-m", "mantid_mdinsim.cli"]

DYNASOR_SCRIPT = """
import sys, numpy as np
from dynasor import Trajectory, compute_dynamic_structure_factors
path, q_file, window, incoherent, out = sys.argv[1:6]
if path.endswith('.nc'):
    symbols = open(sys.argv[6]).read().split()
    indices = {{}}
    for index, symbol in enumerate(symbols):
        indices.setdefault(symbol, []).append(index)
    trajectory = Trajectory(path, trajectory_format='NCDF', atomic_indices=indices,
                            length_unit='Angstrom', time_unit='ps')
else:
    trajectory = Trajectory(path, trajectory_format='extxyz',
                            atomic_indices='read_from_trajectory')
sample = compute_dynamic_structure_factors(trajectory, np.loadtxt(q_file), dt=10.0,
                                           window_size=int(window),
                                           calculate_incoherent=incoherent == 'yes')
sample.write_to_npz(out)
"""


def run_process(command: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{process.stderr.read().decode()}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss / 1024.0


def best_of(command: list[str], repeats: int) -> tuple[float, float]:
    runs = [run_process(command) for _ in range(repeats)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def ours(path: Path, q_file: Path, window: int, incoherent: bool, out: Path,
         engine: str = "auto", extra: list[str] | None = None) -> list[str]:
    return MDINSIM + ["sqw", str(path), "--time-step-fs", "10", "--window", str(window),
                      "--q-file", str(q_file), "--per-q", "--weights", "none", "--incoherent",
                      "yes" if incoherent else "no", "--engine", engine, "--output",
                      str(out)] + (extra or [])


def dynasor(path: Path, q_file: Path, window: int, incoherent: bool, out: Path,
            species_file: Path | None = None) -> list[str]:
    return [sys.executable, "-c", DYNASOR_SCRIPT.replace("{{", "{").replace("}}", "}"),
            str(path), str(q_file), str(window), "yes" if incoherent else "no", str(out),
            str(species_file or "")]


def to_netcdf(xyz: Path, target: Path) -> Path:
    """The same frames in AMBER NetCDF (mdinsim's writer, GPUMD's layout) and a file of the
    symbols per atom (for dynasor)."""
    from mantid_mdinsim.io.trajectory import open_trajectory
    from mantid_mdinsim.io.trajectory_netcdf import NetcdfTrajectoryWriter
    from mantid_mdinsim.io.trajectory_species import write_species_file

    reader = open_trajectory(xyz)
    elements = sorted(set(reader.species))
    with NetcdfTrajectoryWriter(target, [elements.index(s) for s in reader.species]) as writer:
        for index, positions in enumerate(reader.frames()):
            writer.write(positions, reader.cell, index * 10.0)
    write_species_file(target, elements)
    target.with_suffix(".symbols").write_text(" ".join(reader.species))
    reader.close()
    return target


def prepare_case(folder: Path, atoms: int, frames: int, q_count: int, q_max: float):
    """The trajectory (XYZ and NetCDF), its q-points (spherical up to ``q_max``, 1/Angstrom)
    and a tiny case to warm the caches: paths (xyz, netcdf, q_file, tiny, tiny_q)."""
    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    xyz, tiny = folder / "bench.xyz", folder / "tiny.xyz"
    cell = write_trajectory(xyz, atoms, frames)
    tiny_cell = write_trajectory(tiny, 32, 12)
    q_points = spherical_qpoints(cell, q_max, q_count, seed=1).cartesian
    q_points = q_points[np.random.default_rng(0).permutation(len(q_points))[:q_count]]
    q_file, tiny_q = folder / "q.txt", folder / "tiny_q.txt"
    np.savetxt(q_file, q_points)
    np.savetxt(tiny_q, spherical_qpoints(tiny_cell, 2.0, 10).cartesian)
    netcdf = to_netcdf(xyz, folder / "bench.nc")
    to_netcdf(tiny, folder / "tiny.nc")
    return xyz, netcdf, q_file, tiny, tiny_q


def line(label: str, seconds: float, megabytes: float, reference: float | None = None) -> None:
    ratio = f"  ({reference / seconds:5.2f}x faster than dynasor)" if reference else ""
    print(f"  {label:<44s} {seconds:7.2f} s  peak {megabytes:7.0f} MB{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--q", type=int, default=408, help="number of q-points")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--window", type=int, default=100, help="time lags (frames)")
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs")
    parser.add_argument("--small", action="store_true", help="256 atoms, 100 q, 200 frames")
    parser.add_argument("--skip-dynasor", action="store_true")
    parser.add_argument("--memory", action="store_true",
                        help="peak memory at --frames and 4 x --frames, every engine")
    parser.add_argument("--engines", default="numba,torch",
                        help="engines for the memory section (comma-separated)")
    args = parser.parse_args()
    if args.small:
        args.atoms, args.q, args.frames, args.window = 256, 100, 200, 50
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a loaded machine "
          "slows every figure; the ratios are side by side)")
    print("start-up (best of 5):")
    for command in (["--help"], ["sqw", "--help"]):
        seconds, megabytes = best_of(MDINSIM + command, 5)
        line("mdinsim " + " ".join(command), seconds, megabytes)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        xyz, netcdf, q_file, tiny, tiny_q = prepare_case(folder, args.atoms, args.frames,
                                                         args.q, 8.0)
        print(f"{args.atoms} atoms, {len(np.loadtxt(q_file))} q-points, {args.frames} frames, window "
              f"{args.window}; extended XYZ {xyz.stat().st_size / 1e6:.0f} MB, NetCDF "
              f"{netcdf.stat().st_size / 1e6:.0f} MB")
        for incoherent in (False, True):     # warm the numba caches of both
            run_process(ours(tiny, tiny_q, 4, incoherent, folder / "tiny.nxs"))
            if not args.skip_dynasor:
                run_process(dynasor(tiny, tiny_q, 4, incoherent, folder / "tiny.npz"))
        for name, path in (("extended XYZ", xyz), ("NetCDF", netcdf)):
            print(f"{name}:")
            for incoherent in (False, True):
                part = "coherent + incoherent" if incoherent else "coherent"
                reference = None
                if not args.skip_dynasor:
                    species = path.with_suffix(".symbols") if name == "NetCDF" else None
                    reference, megabytes = best_of(dynasor(path, q_file, args.window,
                                                           incoherent, folder / "d.npz",
                                                           species), args.repeats)
                    line(f"dynasor, {part}", reference, megabytes)
                seconds, megabytes = best_of(ours(path, q_file, args.window, incoherent,
                                                  folder / "ours.nxs"), args.repeats)
                line(f"mdinsim sqw, {part}", seconds, megabytes, reference)

        if args.memory:
            long_xyz = folder / "long.xyz"
            write_trajectory(long_xyz, args.atoms, 4 * args.frames)
            long_netcdf = to_netcdf(long_xyz, folder / "long.nc")
            print(f"peak memory, {args.frames} and {4 * args.frames} frames (goal: at most "
                  "10 % more for 4x the frames):")
            for engine in args.engines.split(","):
                for incoherent in (False, True):
                    for name, short, long in (("XYZ", xyz, long_xyz),
                                              ("NetCDF", netcdf, long_netcdf)):
                        peaks = [run_process(ours(path, q_file, args.window, incoherent,
                                                  folder / "m.nxs", engine))[1]
                                 for path in (short, long)]
                        part = "coherent + incoherent" if incoherent else "coherent"
                        print(f"  {engine:<6s} {name:<7s} {part:<22s} {peaks[0]:6.0f} MB -> "
                              f"{peaks[1]:6.0f} MB  ({100 * (peaks[1] / peaks[0] - 1):+.1f} %)")


if __name__ == "__main__":
    main()
