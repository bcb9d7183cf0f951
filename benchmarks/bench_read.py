"""Benchmark: reading trajectories, in MB/s of CPU time, against reading the file's bytes.

The atom lines of extended XYZ are parsed by the numba byte parser of
:mod:`mantid_mdinsim.io.trajectory_text` (number by number straight from the bytes, the species
column hashed to check it in every frame). The well-kept alternatives for the position columns
are measured on the same blocks of atom lines: pandas' C parser (``read_csv(engine="c")``) and
numpy's ``loadtxt`` (its C path). The NetCDF reader (netCDF4 hyperslabs) is measured on the same
frames. Every figure is the CPU time of a second pass (the page cache and numba's cache warm).

    python benchmarks/bench_read.py                 # 1000 atoms, 600 frames (27 MB of XYZ)
    python benchmarks/bench_read.py --frames 2400

(The reader end to end against the disk, warm and cold, and against other readers:
``bench_xyz_reader.py``.)
"""

from __future__ import annotations

import argparse
import io
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


def frame_blocks(path: Path, n_atoms: int):
    """The atom lines of each frame, as bytes (for the parsers that take a block of lines)."""
    lines = path.read_bytes().split(b"\n")
    step = n_atoms + 2
    return [b"\n".join(lines[k + 2:k + step]) for k in range(0, len(lines) - 1, step)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=600)
    args = parser.parse_args()
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
