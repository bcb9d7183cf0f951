"""Benchmark: S(q,w) as whole processes (start-up, imports, reading, computing, writing), side by
side with dynasor 2.5 on the same files, and peak memory against trajectory length.

Every figure is one fresh process, timed from its start to its end (wall time, and the CPU time
of all its threads, user + system, which a loaded machine changes less), with its peak resident
memory (``ru_maxrss`` of the child). mdinsim runs its command line (``mdinsim sqw``, output file
and PNG written); dynasor runs the shortest script that does the same work (read the file,
``compute_dynamic_structure_factors``, write the sample), with the same q-points, window and
time step. Both have their numba caches warm (a first run on a small file is not counted).

    python benchmarks/bench_sqw_process.py                 # 1000 atoms, 408 q, 600 frames, W 100
    python benchmarks/bench_sqw_process.py --small         # 256 atoms, 100 q, 200 frames, W 50
    python benchmarks/bench_sqw_process.py --skip-dynasor --no-big   # no dynasor, no 1.2 GB file

Sections: start-up (``mdinsim --help``, ``mdinsim sqw --help``; goal < 0.3 s); extended XYZ
(coherent; coherent + incoherent); NetCDF (the same frames; dynasor reads it through
MDAnalysis); peak memory at N and 4N frames for each engine (medians of ``--memory-repeats``
runs; goal: at most 10 % more; skip with ``--no-memory``). Memory is bounded by one block of
frames (``BlockPlan.choose``; for 1000 atoms and window 100: 872 frames with the self part,
500 without): a trajectory shorter than one block uses less, so flatness shows between
lengths above it.
mdinsim also draws the PNG (in a forked helper; dynasor writes no picture): the line
``--no-plot`` gives the same case without it, the work dynasor does.

Larger than memory (skip with ``--no-big``): a NetCDF trajectory of ``--big-gb`` (1.2 GB,
deleted afterwards) read by ``mdinsim sqw`` in a child process whose private memory is limited
(``RLIMIT_DATA``, 600 MB, half the file; it counts address space, not only what is resident):
the frames stream through, so it finishes, with its peak resident memory beside the file's
size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


class Run(tuple):
    """(wall s, CPU s, peak MB) of one process."""

    wall = property(lambda self: self[0])
    cpu = property(lambda self: self[1])
    peak = property(lambda self: self[2])


#: Runs each command and reports its figures. It is started before this script imports
#: anything large: Linux counts in a child's ``ru_maxrss`` the memory of the process that
#: spawned it, at the moment it did, so a large benchmark process would raise every peak.
LAUNCHER = """
import json, os, resource, subprocess, sys, time
for line in sys.stdin:
    command, limit = json.loads(line)
    def lower_limit():
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=lower_limit if limit else None)
    error = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    print(json.dumps([time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
                      usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status), error]),
          flush=True)
"""
_launcher: subprocess.Popen | None = None


def run_process(command: list[str], data_limit_bytes: int | None = None) -> Run:
    """Wall time (s), CPU time of all its threads and reaped children (user + system, s) and
    peak resident memory (MB, of its largest process: mdinsim's plotting helper runs beside
    it) of one process; ``data_limit_bytes`` limits its private memory (RLIMIT_DATA)."""
    global _launcher
    if _launcher is None:
        _launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
    _launcher.stdin.write(json.dumps([command, data_limit_bytes or 0]) + "\n")
    _launcher.stdin.flush()
    wall, cpu, peak, code, error = json.loads(_launcher.stdout.readline())
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{error}")
    return Run((wall, cpu, peak))


def best_of(command: list[str], repeats: int) -> Run:
    runs = [run_process(command) for _ in range(repeats)]
    return Run((min(r.wall for r in runs), min(r.cpu for r in runs),
                max(r.peak for r in runs)))


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


def line(label: str, run: Run, reference: Run | None = None) -> None:
    ratio = (f"  ({reference.wall / run.wall:5.2f}x wall, {reference.cpu / run.cpu:5.2f}x CPU "
             "faster than dynasor)") if reference else ""
    print(f"  {label:<38s} {run.wall:6.2f} s wall {run.cpu:6.2f} s CPU  peak {run.peak:5.0f} "
          f"MB{ratio}")


def write_big_netcdf(path: Path, gigabytes: float, atoms: int = 4000) -> int:
    """A NetCDF trajectory of about ``gigabytes`` (the crystal of bench_sqw.py, frames of
    travelling waves, GPUMD's layout): frames written."""
    from ase.build import bulk

    from mantid_mdinsim.io.trajectory_netcdf import NetcdfTrajectoryWriter
    from mantid_mdinsim.io.trajectory_species import write_species_file

    cells = max(1, round((atoms / 4) ** (1 / 3)))
    crystal = bulk("Ar", "fcc", a=5.26, cubic=True).repeat([cells, cells, cells])
    cell, base = crystal.cell.array, crystal.positions
    rng = np.random.default_rng(0)
    waves = rng.normal(size=(8, 3)) @ (2 * np.pi * np.linalg.inv(cell).T) * 0.5
    amplitude, omega = rng.normal(0, 0.05, (8, 3)), rng.uniform(0.005, 0.03, 8)
    phase = waves @ base.T
    frames = int(gigabytes * 1e9 / (28 * len(base)))   # int32 type + 3 doubles per atom
    with NetcdfTrajectoryWriter(path, np.zeros(len(base), dtype=int)) as writer:
        for frame in range(frames):
            writer.write(base + np.cos(phase - omega[:, None] * frame * 10.0).T @ amplitude,
                         cell, frame * 10.0)
    write_species_file(path, ["Ar"])
    return frames


def larger_than_memory(folder: Path, gigabytes: float, limit_mb: float) -> None:
    from mantid_mdinsim.io.trajectory import open_trajectory
    from mantid_mdinsim.sqw.qpoints import spherical_qpoints

    big = folder / "big.nc"
    frames = write_big_netcdf(big, gigabytes)
    size = big.stat().st_size
    with open_trajectory(big) as reader:
        q_points = spherical_qpoints(reader.cell, 4.0, 16, seed=1).cartesian
        atoms = reader.n_atoms
    q_file = folder / "big_q.txt"
    np.savetxt(q_file, q_points)
    limit = int(limit_mb * 1e6)
    print(f"larger than memory: NetCDF {size / 1e9:.2f} GB ({atoms} atoms, {frames} frames), "
          f"process memory limited to {limit / 1e6:.0f} MB (RLIMIT_DATA), {len(q_points)} "
          "q-points, window 100:")
    for incoherent in (False, True):
        run = run_process(ours(big, q_file, 100, incoherent, folder / "big.nxs"), limit)
        part = "coherent + incoherent" if incoherent else "coherent"
        print(f"  mdinsim sqw, {part:<24s} {run.wall:6.1f} s wall {run.cpu:6.1f} s CPU  peak "
              f"{run.peak:5.0f} MB ({100 * run.peak * 1e6 / size:.0f} % of the file)")
    big.unlink()


def byte_compile_package() -> None:
    """Write mdinsim's bytecode (``__pycache__``), as an installation from a wheel does and as
    dynasor's installation has it: an editable install run with ``PYTHONDONTWRITEBYTECODE``
    (set in some CI and sandbox environments) compiles its modules from source in every
    process, 0.1-0.15 processor-s of each whole-process figure here (35 modules), which is
    not what a user's command costs."""
    import compileall

    import mantid_mdinsim

    compileall.compile_dir(str(Path(mantid_mdinsim.__file__).parent), quiet=1)
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("(PYTHONDONTWRITEBYTECODE is set: mdinsim's bytecode written by compileall)")


def main() -> None:
    run_process([sys.executable, "-c", "pass"])   # the launcher, while this process is small
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--q", type=int, default=408, help="number of q-points")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--window", type=int, default=100, help="time lags (frames)")
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs")
    parser.add_argument("--small", action="store_true", help="256 atoms, 100 q, 200 frames")
    parser.add_argument("--skip-dynasor", action="store_true")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak memory at --frames and 4 x --frames")
    parser.add_argument("--no-big", action="store_true",
                        help="skip the trajectory larger than the process's memory")
    parser.add_argument("--big-gb", type=float, default=1.2,
                        help="size of that trajectory (GB, written and deleted)")
    parser.add_argument("--big-limit-mb", type=float, default=600,
                        help="the private memory that process may use (MB)")
    parser.add_argument("--memory-repeats", type=int, default=3,
                        help="runs at each length for the peak memory (their median)")
    parser.add_argument("--engines", default="numba,torch",
                        help="engines for the memory section (comma-separated)")
    args = parser.parse_args()
    if args.small:
        args.atoms, args.q, args.frames, args.window = 256, 100, 200, 50
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a loaded machine "
          "slows every figure; the ratios are side by side)")
    byte_compile_package()
    print("start-up (best of 5):")
    for command in (["--help"], ["sqw", "--help"]):
        line("mdinsim " + " ".join(command), best_of(MDINSIM + command, 5))

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
                    reference = best_of(dynasor(path, q_file, args.window, incoherent,
                                                folder / "d.npz", species), args.repeats)
                    line(f"dynasor, {part}", reference)
                line(f"mdinsim sqw, {part}", best_of(ours(path, q_file, args.window, incoherent,
                                                          folder / "ours.nxs"), args.repeats),
                     reference)
                line("  the same, --no-plot", best_of(ours(path, q_file, args.window,
                                                           incoherent, folder / "ours.nxs",
                                                           extra=["--no-plot"]), args.repeats),
                     reference)

        if not args.no_memory:
            long_xyz = folder / "long.xyz"
            write_trajectory(long_xyz, args.atoms, 4 * args.frames)
            long_netcdf = to_netcdf(long_xyz, folder / "long.nc")
            print(f"peak memory, {args.frames} and {4 * args.frames} frames (goal: at most "
                  "10 % more for 4x the frames):")
            for engine in args.engines.split(","):
                for incoherent in (False, True):
                    for name, short, long in (("XYZ", xyz, long_xyz),
                                              ("NetCDF", netcdf, long_netcdf)):
                        # single runs scatter by ~10 MB: the median of interleaved runs
                        runs = [[run_process(ours(path, q_file, args.window, incoherent,
                                                  folder / "m.nxs", engine)).peak
                                 for path in (short, long)]
                                for _ in range(args.memory_repeats)]
                        peaks = [statistics.median(run[index] for run in runs)
                                 for index in (0, 1)]
                        part = "coherent + incoherent" if incoherent else "coherent"
                        print(f"  {engine:<6s} {name:<7s} {part:<22s} {peaks[0]:6.0f} MB -> "
                              f"{peaks[1]:6.0f} MB  ({100 * (peaks[1] / peaks[0] - 1):+.1f} %)")
            long_xyz.unlink()
            long_netcdf.unlink()
        if not args.no_big:
            larger_than_memory(folder, args.big_gb, args.big_limit_mb)


if __name__ == "__main__":
    main()
