"""Benchmark: reading trajectories, in MB/s of CPU time, against reading the file's bytes.

The atom lines of extended XYZ are parsed by the numba byte parser of
:mod:`mantid_mdinsim.io.trajectory_text` (number by number straight from the bytes, the species
column hashed to check it in every frame). The well-kept alternatives for the position columns
are measured on the same blocks of atom lines: pandas' C parser (``read_csv(engine="c")``) and
numpy's ``loadtxt`` (its C path). The NetCDF reader (netCDF4 hyperslabs) is measured on the same
frames. Every figure is the CPU time of a second pass (the page cache and numba's cache warm).

    python benchmarks/bench_read.py                 # 1000 atoms, 600 frames (27 MB of XYZ)
    python benchmarks/bench_read.py --frames 2400
    python benchmarks/bench_read.py --file /tmp/b7/bench.xyz --end-to-end   # issue 17 only

The end-to-end section (issue 17) gives the reader's wall-clock MB/s (page cache warm, frames
parsed in batches on 1 and on every allowed thread) against the disk's, ``dd iflag=direct`` on
the same file (the cache bypassed): the reader keeps up with the disk when the ratio is >= 1.
(``bench_xyz_reader.py`` is the fuller comparison: cold reads, other readers.)
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sqw import write_trajectory  # noqa: E402
from bench_sqw_process import to_netcdf  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(label: str, megabytes: float, work, reference: float | None = None) -> float:
    work()                                    # warm: page cache, numba's cache
    start, wall = cpu_seconds(), time.perf_counter()
    work()
    seconds, wall = cpu_seconds() - start, time.perf_counter() - wall
    rate = megabytes / max(seconds, 1e-9)
    share = f"  ({100 * rate / reference:5.1f} % of the rate of reading the bytes)" \
        if reference else ""
    print(f"  {label:<44s} {seconds:6.3f} s CPU {wall:6.3f} s wall {rate:7.0f} MB/s{share}")
    return rate


def disk_megabytes_per_second(path: Path) -> float | None:
    """``dd iflag=direct`` of the file: the disk's rate, the page cache bypassed."""
    try:
        done = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=4M", "iflag=direct"],
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None   # no dd, or a file system without O_DIRECT (tmpfs)
    match = re.search(r"^(\d+) bytes.*copied, ([0-9.eE+-]+) s", done.stderr, re.MULTILINE)
    return int(match.group(1)) / float(match.group(2)) / 1e6 if match else None


def end_to_end(path: Path, repeats: int = 5) -> None:
    """The reader's wall-clock rate, best of ``repeats`` warm passes, on 1 thread and on
    the threads :func:`parse_threads` allows, against dd's."""
    from mantid_mdinsim.execution import READER_THREADS
    from mantid_mdinsim.io.trajectory import open_trajectory
    from mantid_mdinsim.io.trajectory_text import parse_threads

    megabytes = path.stat().st_size / 1e6
    disks = [rate for rate in (disk_megabytes_per_second(path) for _ in range(3)) if rate]
    disk = max(disks) if disks else None
    print(f"end to end, {path} ({megabytes:.0f} MB), disk (dd iflag=direct, best of 3): "
          + (f"{disk:.0f} MB/s" if disk else "not measured (no O_DIRECT here)"))
    for threads in sorted({1, parse_threads()}):
        token = READER_THREADS.set(threads)
        try:
            best_wall, best_cpu = float("inf"), float("inf")
            for _ in range(repeats + 1):   # the first pass warms the cache and numba
                start, wall = cpu_seconds(), time.perf_counter()
                with open_trajectory(path) as reader:
                    for _ in reader.frames():
                        pass
                best_wall = min(best_wall, time.perf_counter() - wall)
                best_cpu = min(best_cpu, cpu_seconds() - start)
        finally:
            READER_THREADS.reset(token)
        rate = megabytes / best_wall
        ratio = f"  {rate / disk:4.2f} x the disk" if disk else ""
        print(f"  reader, {threads} thread(s): {best_wall:6.3f} s wall {best_cpu:6.3f} s CPU "
              f"{rate:6.0f} MB/s{ratio}")


def frame_blocks(path: Path, n_atoms: int):
    """The atom lines of each frame, as bytes (for the parsers that take a block of lines)."""
    lines = path.read_bytes().split(b"\n")
    step = n_atoms + 2
    return [b"\n".join(lines[k + 2:k + step]) for k in range(0, len(lines) - 1, step)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--file", type=Path, help="an extended XYZ file for --end-to-end "
                        "(default: the one written; on tmpfs dd cannot bypass the cache)")
    parser.add_argument("--end-to-end", action="store_true",
                        help="only the end-to-end section (issue 17)")
    args = parser.parse_args()
    if args.end_to_end and args.file:
        end_to_end(args.file)
        return
    from mantid_mdinsim.io.trajectory import open_trajectory

    with tempfile.TemporaryDirectory() as folder:
        xyz = Path(folder) / "read.xyz"
        write_trajectory(xyz, args.atoms, args.frames)
        netcdf = to_netcdf(xyz, Path(folder) / "read.nc")
        megabytes = xyz.stat().st_size / 1e6
        print(f"extended XYZ, {megabytes:.0f} MB ({args.frames} frames):")

        def read_bytes() -> None:
            with open(xyz, "rb") as handle:
                while handle.read(1 << 24):
                    pass

        end_to_end(args.file or xyz)
        if args.end_to_end:
            return
        reference = measure("reading the bytes", megabytes, read_bytes)
        reader = open_trajectory(xyz)
        measure("mdinsim ExtxyzReader.frames (every check)", megabytes,
                lambda: sum(1 for _ in reader.frames()), reference)
        reader.close()
        blocks = frame_blocks(xyz, reader.n_atoms)
        try:
            import pandas

            measure("pandas read_csv(engine='c'), per frame", megabytes, lambda: [
                pandas.read_csv(io.BytesIO(block), sep=r"\s+", header=None, engine="c",
                                usecols=[1, 2, 3]).to_numpy() for block in blocks], reference)
        except ImportError:
            print("  pandas is not installed: its C parser not measured")
        measure("numpy loadtxt, per frame", megabytes, lambda: [
            np.loadtxt(io.BytesIO(block), usecols=(1, 2, 3)) for block in blocks], reference)
        size = netcdf.stat().st_size / 1e6
        print(f"NetCDF, {size:.0f} MB (the same frames):")
        reader = open_trajectory(netcdf)
        measure("mdinsim NetcdfReader.frames (every check)", size,
                lambda: sum(1 for _ in reader.frames()))
        reader.close()


if __name__ == "__main__":
    main()
