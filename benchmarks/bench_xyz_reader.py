"""Benchmark (issue 17): the extended-XYZ reader against the disk, and against what a user would
otherwise read the file with, side by side on the same file.

    python benchmarks/bench_xyz_reader.py                      # 1000 atoms x 600 frames, 27 MB
    python benchmarks/bench_xyz_reader.py --file /tmp/b7/bench.xyz --repeats 7
    PYTHONPATH=/tmp/before python benchmarks/bench_xyz_reader.py --no-others   # older code

Measured, each the median of ``--repeats`` passes (wall and processor time, user + system of
every thread of the process):

Runs that are compared are made in turn (the disk, then each reader; ``--repeats`` rounds), as
the VM's disk and processor speeds drift within a minute.

- the disk, cold: the file's pages evicted from the page cache (``posix_fadvise(DONTNEED)``,
  no root needed), then read front to back in blocks of 256 kB, 1 MB and 16 MB (``readinto``
  into a page-aligned buffer, no parsing): the disk's pace is the fastest of them; and ``dd
  iflag=direct`` (O_DIRECT, the page cache bypassed), where the file system allows it. (Until
  session 14 the disk was only read in 16 MB blocks into a buffer that the kernel copies into
  slowly on this VM's processor, at about half the disk's pace: see :func:`read_blocks`. The
  ratios of sessions 10-13 are to that.);
- memory: the same read with the file in the page cache, 1 MB blocks (the fastest any reader
  could be);
- ``open_trajectory`` over every frame: warm (file in the page cache) and cold (evicted first),
  on 1 thread and on the threads :func:`parse_threads` allows, with no limit set (the
  process's own choice, as ``mdinsim sqw`` reads: the reader's pool then has a thread more);
  ``--threads`` counts are set as a Dask piece's limit;
- a fresh process's one cold pass (``--fresh-repeats`` processes, each in turn with a cold
  read of the disk here), as ``mdinsim sqw`` reads a trajectory once: the process's first
  buffers are touched then (page faults), where the passes above, in one process, find them
  kept from the pass before;
- ASE's ``ase.io.iread``, dynasor's ``Trajectory`` (its extxyz reader, through ASE) and
  MDAnalysis (its XYZ reader, no cell) where installed, over the first ``--others-frames``
  frames (they are slow), as MB/s of the bytes of those frames.

The reader keeps up with the disk when "reader cold / disk cold" is >= 1. The VM's disk
varies (1.3 to 2.6 GB/s cold on the same file, session 14): compare the ratios of one run. The reader is
bound by processor time where cores are few, so the last line also gives the cores it keeps
busy to read at the disk's pace: its processor time for the file (cold, user + system of every
thread) over the disk's wall time. Where that is above the cores it may use (``--threads``
threads each reading and parsing parts of the file, and the caller's), no pipelining can
reach the disk. ``--threads 1,2,4`` measures the scaling on a machine with the cores
(``.ci/device-check.sh reader`` on the 16-core GPU machine).
"""

from __future__ import annotations

import argparse
import functools
import mmap
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: Block sizes the disk is read in: the disk's pace is the fastest of them. Small reads are
#: the faster on this VM (the kernel reads ahead while the block before is copied out): cold,
#: 27 MB, 256 kB 2.1-2.6 GB/s, 1 MB 1.9-2.1, 16 MB 0.9-1.3 (``dd bs=...``, session 14).
DISK_BLOCKS = {"256 kB": 256 << 10, "1 MB": 1 << 20, "16 MB": 16 << 20}
_BLOCKS: dict[int, mmap.mmap] = {}


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache (only pages no process holds dirty)."""
    with open(path, "rb") as handle:
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def read_blocks(path: Path, block_bytes: int = 1 << 20) -> int:
    """The file read front to back in blocks into one page-aligned buffer, kept for the
    process (touched already: no page faults in the pass). Page-aligned as the file's
    blocks are: the kernel's copy (``rep movsb``) runs ~7x slower on AMD Zen where the
    destination is 1-31 bytes past the source modulo 4 kB, as a fresh ``bytearray`` of 16
    MB is (glibc's ``mmap`` header: 16 bytes); until session 14 the disk was read so here,
    at about half its pace (see trajectory_parts._PositionalFile.read_at)."""
    if block_bytes not in _BLOCKS:
        _BLOCKS[block_bytes] = mmap.mmap(-1, block_bytes)
        _BLOCKS[block_bytes].write(bytes(block_bytes))
    total = 0
    with memoryview(_BLOCKS[block_bytes]) as view, open(path, "rb", buffering=0) as handle:
        while True:
            got = handle.readinto(view)
            if not got:
                return total
            total += got


def dd_direct(path: Path) -> float | None:
    """Seconds of ``dd iflag=direct`` over the file, or None (no dd, or no O_DIRECT here)."""
    try:
        done = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=16M", "iflag=direct"],
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"copied, ([0-9.eE+-]+) s", done.stderr)
    return float(match.group(1)) if match else None


def timed(work, cold: bool, path: Path) -> tuple[float, float]:
    if cold:
        evict(path)
    start_cpu, start = time.process_time(), time.perf_counter()
    work()
    return time.perf_counter() - start, time.process_time() - start_cpu


def median_of(repeats: int, work, cold: bool, path: Path) -> tuple[float, float]:
    runs = [timed(work, cold, path) for _ in range(repeats)]
    return (statistics.median(run[0] for run in runs),
            statistics.median(run[1] for run in runs))


def interleaved(repeats: int, works: dict, cold: bool, path: Path) -> dict:
    """(wall, CPU) medians of each of ``works``, run in turn ``repeats`` times: the VM's disk
    and processor speeds drift within a minute, so what is compared is measured together."""
    runs: dict = {label: [] for label in works}
    for _ in range(repeats):
        for label, work in works.items():
            runs[label].append(timed(work, cold, path))
    return {label: (statistics.median(run[0] for run in done),
                    statistics.median(run[1] for run in done))
            for label, done in runs.items()}


def ours(path: Path, threads: int | None):
    """Every frame of ``path`` through ``open_trajectory``, on ``threads`` threads as a
    piece's limit, or (None) on the threads the process takes by itself."""
    import contextvars

    from mantid_mdinsim.io.trajectory import open_trajectory
    try:
        from mantid_mdinsim.execution import READER_THREADS
    except ImportError:       # code before 3 December (PYTHONPATH=<old tree>): one thread
        READER_THREADS = contextvars.ContextVar("unused")

    def work() -> None:
        token = READER_THREADS.set(threads)
        try:
            with open_trajectory(path) as reader:
                for _ in reader.frames():
                    pass
        finally:
            READER_THREADS.reset(token)
    return work


def fresh_child(path: Path) -> None:
    """In a fresh process: the kernels loaded (numba's cache) on a copy of the file's first
    frames, then one cold pass over ``path``; prints wall and processor seconds and the page
    faults of the pass."""
    import resource
    import tempfile

    with open(path, "rb") as handle:
        n_atoms = int(handle.readline())
        handle.seek(0)
        head = b"".join(handle.readline() for _ in range(3 * (n_atoms + 2)))
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "head.xyz"
        small.write_bytes(head)
        ours(small, None)()
    evict(path)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    wall, cpu = timed(ours(path, None), False, path)
    print(wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)


def fresh_runs(path: Path, repeats: int, block_bytes: int
               ) -> tuple[tuple[float, float], float, float]:
    """Medians of (wall, CPU) of a fresh process's one cold pass, of the disk read cold in
    turn with them (in blocks of ``block_bytes``), and of the pass's page faults."""
    passes, disk, faults = [], [], []
    for _ in range(repeats):
        disk.append(timed(lambda: read_blocks(path, block_bytes), True, path)[0])
        done = subprocess.run([sys.executable, __file__, "--fresh-child", str(path)],
                              capture_output=True, text=True, check=True)
        wall, cpu, pass_faults = done.stdout.split()
        passes.append((float(wall), float(cpu)))
        faults.append(int(pass_faults))
    return ((statistics.median(run[0] for run in passes),
             statistics.median(run[1] for run in passes)),
            statistics.median(disk), statistics.median(faults))


def parse_threads() -> int:
    try:
        from mantid_mdinsim.io.trajectory_parts import parse_threads as threads
    except ImportError:
        try:        # code before session 12 (PYTHONPATH=<old tree>)
            from mantid_mdinsim.io.trajectory_text import parse_threads as threads
        except ImportError:
            return 1
    return threads()


def others(path: Path, frames: int) -> dict:
    """The readers a user would otherwise take, over the first ``frames`` frames."""
    import itertools

    readers = {}

    def ase_iread() -> None:
        from ase.io import iread
        for _ in itertools.islice(iread(str(path), index=":", format="extxyz"), frames):
            pass
    readers["ase.io.iread"] = ase_iread

    try:
        from dynasor.trajectory import Trajectory

        import logging
        logging.getLogger("dynasor").setLevel(logging.WARNING)   # a line per file opened

        def dynasor_reader() -> None:
            trajectory = Trajectory(str(path), trajectory_format="extxyz", frame_stop=frames)
            for _ in trajectory:
                pass
        readers["dynasor Trajectory (extxyz)"] = dynasor_reader
    except ImportError:
        pass
    try:
        import MDAnalysis  # noqa: F401

        def mdanalysis_reader() -> None:
            import warnings

            import MDAnalysis as mda
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                universe = mda.Universe(str(path), format="XYZ")
                for _ in itertools.islice(universe.trajectory, frames):
                    pass
        readers["MDAnalysis XYZReader"] = mdanalysis_reader
    except ImportError:
        pass
    return readers


def frame_bytes(path: Path, frames: int) -> int:
    """Bytes of the first ``frames`` frames (all frames are the same size here)."""
    with open(path, "rb") as handle:
        n_atoms = int(handle.readline())
    size = path.stat().st_size
    with open(path, "rb") as handle:
        lines = sum(1 for _ in handle)
    total_frames = lines // (n_atoms + 2)
    return size * min(frames, total_frames) // max(1, total_frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, help="an extended XYZ file (default: write the "
                        "1000-atom, 600-frame case of bench_sqw_process.py)")
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--others-frames", type=int, default=60)
    parser.add_argument("--no-others", action="store_true")
    parser.add_argument("--threads", help="reader thread counts, comma-separated (default: 1 "
                        "and the threads the reader takes here)")
    parser.add_argument("--fresh-repeats", type=int, default=9, help="fresh processes, each "
                        "one cold pass (0: none)")
    parser.add_argument("--fresh-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh_child:
        fresh_child(args.fresh_child)
        return

    path = args.file
    if path is None:
        from bench_sqw import default_trajectory
        path = default_trajectory(Path(os.environ.get("TMPDIR", "/tmp")), args.atoms,
                                  args.frames)
    megabytes = path.stat().st_size / 1e6
    import mantid_mdinsim
    load = os.getloadavg()[0]
    print(f"{path}: {megabytes:.1f} MB; load {load:.2f} on {os.cpu_count()} cores; medians of "
          f"{args.repeats}; code {Path(mantid_mdinsim.__file__).parent}")
    ours(path, 1)()                      # numba's cache, the page cache

    rows: list[tuple[str, float, float, float]] = []

    def row(label: str, wall: float, cpu: float, size: float = megabytes) -> float:
        rate = size / wall
        rows.append((label, wall, cpu, rate))
        return rate

    thread_counts = sorted({int(count) for count in args.threads.split(",")} if args.threads
                           else {1, parse_threads()})
    # Without --threads the most threads are the process's own choice (no limit set: the
    # reader's pool then has a thread more); --threads N sets N as a piece's limit.
    own = None if args.threads else max(thread_counts)
    works = {threads: ours(path, None if threads == own else threads)
             for threads in thread_counts}
    # the disk and the readers in turn, cold then warm
    disks = {f"disk {label}": functools.partial(read_blocks, path, block)
             for label, block in DISK_BLOCKS.items()}
    cold_runs = interleaved(args.repeats, disks | works, True, path)
    warm_runs = interleaved(args.repeats, {"memory": lambda: read_blocks(path)} | works, False,
                            path)
    # the disk's pace: the fastest plain reading of the file (the rows' ratios are to it)
    fastest = min(DISK_BLOCKS, key=lambda label: cold_runs[f"disk {label}"][0])
    disk = megabytes / cold_runs[f"disk {fastest}"][0]
    for label in DISK_BLOCKS:
        row(f"disk cold: evicted, read in {label} blocks", *cold_runs[f"disk {label}"])
    direct = [dd_direct(path) for _ in range(args.repeats)]
    direct = [seconds for seconds in direct if seconds]
    if direct:
        row("disk: dd iflag=direct bs=16M", statistics.median(direct), float("nan"))
    row("memory: page cache, read in 1 MB blocks", *warm_runs["memory"])
    reader, reader_cpu = {}, {}
    for threads in thread_counts:
        label = f"{threads} thread(s)" + (", no limit" if threads == own else "")
        reader[("warm", threads)] = row(f"reader warm, {label}", *warm_runs[threads])
        reader[("cold", threads)] = row(f"reader cold, {label}", *cold_runs[threads])
        reader_cpu[threads] = cold_runs[threads][1]
    fresh = None
    if args.fresh_repeats > 0:
        fresh, fresh_disk, fresh_faults = fresh_runs(path, args.fresh_repeats,
                                                          DISK_BLOCKS[fastest])
        fresh_rate = row(f"reader cold, fresh process, one pass ({fresh_faults:.0f} faults)",
                         *fresh)
    if not args.no_others:
        size = frame_bytes(path, args.others_frames) / 1e6
        for label, work in others(path, args.others_frames).items():
            work()   # imports
            row(f"{label} ({args.others_frames} frames, warm)",
                *median_of(max(1, args.repeats // 2), work, False, path), size=size)

    print(f"  {'':<50s} {'wall s':>8s} {'CPU s':>8s} {'MB/s':>8s} {'x disk cold':>11s}")
    for label, wall, cpu, rate in rows:
        print(f"  {label:<50s} {wall:8.3f} {cpu:8.3f} {rate:8.0f} {rate / disk:11.2f}")
    best = max(thread_counts)
    one = min(thread_counts)
    print(f"reader cold {reader[('cold', best)]:.0f} MB/s vs disk cold {disk:.0f} MB/s "
          f"({fastest} blocks, the fastest): "
          f"ratio {reader[('cold', best)] / disk:.2f}; reader warm {reader[('warm', best)]:.0f}"
          f" MB/s ({best} thread(s); {one} thread(s) {reader[('warm', one)]:.0f} MB/s)")
    if fresh is not None:
        print(f"fresh process, one cold pass (no limit): {fresh_rate:.0f} MB/s vs disk cold "
              f"{megabytes / fresh_disk:.0f} MB/s read in turn with it: ratio "
              f"{fresh_rate * fresh_disk / megabytes:.2f}")
    disk_seconds = megabytes / disk
    print("cores kept busy to read at the disk's pace (reader CPU cold / disk wall): "
          + ", ".join(f"{reader_cpu[threads] / disk_seconds:.2f} ({threads} thread(s))"
                      for threads in thread_counts)
          + f"; this machine has {os.cpu_count()}")


if __name__ == "__main__":
    main()
