"""Benchmark (issue 17): the extended-XYZ batch kernel alone (``trajectory_parts.parse_part``;
in trees before 3 December ``scan_frames`` then ``parse_frames``), no Python around it, this
tree's against an older tree's, side by side in one process.

    python benchmarks/bench_xyz_kernel.py                       # main's kernel as "before"
    python benchmarks/bench_xyz_kernel.py --file /tmp/b7/bench.xyz --repeats 15
    python benchmarks/bench_xyz_kernel.py --before /tmp/old-tree   # any tree holding the file

Three files of the same atoms and frames (``--atoms`` x ``--frames``, or ``--file``):
GPUMD-like lines (``Ar -0.4378799647 2.8499828209 3.0500152149``, bench_sqw's writer), the same
frames written by ASE (``ase.io.write(format="extxyz")``: aligned ``%16.8f`` columns) and with
velocities (``Properties=species:S:1:pos:R:3:vel:R:3``: three ignored columns). For each: the
frames are parsed by each kernel on 1 thread (all frames)
and on 2 threads (half the frames each; the kernel releases the GIL), alternately, ``--repeats``
times; printed: the median and best MB/s (bytes of the whole file over the kernel's wall time),
processor time (user + system of the process) and the ratio after/before. The outputs of both
kernels are checked equal bit for bit.

``--before``: a directory holding ``mantid_mdinsim/io/`` of the older code (its
``trajectory_text.py``, and ``trajectory_parts.py`` from session 12 on; default: main's, from
``git archive main`` into a temporary directory). Its files are loaded from copies there, so
that numba's cache is not written into that tree.

Other processors' code paths, on this machine (both kernels compiled the same way; a numba
cache directory of their own, as numba's cache does not know MDINSIM_PORTABLE_KERNELS):

    MDINSIM_PORTABLE_KERNELS=1 NUMBA_CACHE_DIR=/tmp/nc-words python benchmarks/bench_xyz_kernel.py
    NUMBA_CPU_NAME=haswell NUMBA_CACHE_DIR=/tmp/nc-avx2 \
        NUMBA_CPU_FEATURES=+ssse3,+sse4.1,+sse4.2,+avx,+avx2,+bmi,+bmi2,+popcnt,+lzcnt,+fma \
        python benchmarks/bench_xyz_kernel.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def kernels(text_module, parts_module=None) -> types.SimpleNamespace:
    """One tree's kernels: ``parse_part`` where it has ``trajectory_parts`` (session 12 on),
    else ``scan_frames`` and ``parse_frames``; its species hashes and powers of ten."""
    found = types.SimpleNamespace(species_hashes=text_module.species_hashes,
                                  _POWERS_OF_TEN=text_module._POWERS_OF_TEN)
    if parts_module is not None:
        found.parse_part = parts_module.parse_part
    else:
        found.scan_frames, found.parse_frames = (text_module.scan_frames,
                                                 text_module.parse_frames)
    return found


def old_kernels(before: Path, scratch: Path) -> types.SimpleNamespace:
    """The older tree's kernels as modules of this package (their relative imports are helpers
    of this tree: numba set-up, thread limits), loaded from copies in ``scratch``: numba
    caches beside the file it compiles, and a cache written for another module name breaks
    the tree's own imports later."""
    source = before / "mantid_mdinsim" / "io"
    modules = {}
    for stem in ("trajectory_text", "trajectory_parts"):
        if not (source / f"{stem}.py").exists():
            continue
        text = (source / f"{stem}.py").read_text()
        # the older parts import the older text kernels
        text = text.replace("from .trajectory_text import", "from ._trajectory_text_before import")
        copy = scratch / f"{stem}_before.py"
        copy.write_text(text)
        spec = importlib.util.spec_from_file_location(f"mantid_mdinsim.io._{stem}_before", copy)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[stem] = module
    return kernels(modules["trajectory_text"], modules.get("trajectory_parts"))


def main_tree(directory: Path) -> Path:
    """``mantid_mdinsim/io`` of branch main, under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", "main",
                              "mantid_mdinsim/io"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def derived_files(path: Path, directory: Path) -> list[Path]:
    """The ASE-written and the with-velocities versions of ``path`` (written once, kept in
    ``directory`` next to nothing else)."""
    from mantid_mdinsim.io.trajectory import open_trajectory

    ase_path = directory / (path.stem + "-ase.xyz")
    velocity_path = directory / (path.stem + "-vel.xyz")
    if ase_path.exists() and velocity_path.exists():
        return [ase_path, velocity_path]
    from ase import Atoms
    from ase.io import write

    with open_trajectory(path) as reader:
        frames = [positions.copy() for positions in reader.frames()]
        species, cell = reader.species, reader.cell
    rng = np.random.default_rng(0)
    atoms_list = [Atoms(species, positions=positions, cell=cell, pbc=True)
                  for positions in frames]
    partial = ase_path.with_suffix(".partial")
    write(str(partial), atoms_list, format="extxyz")
    partial.rename(ase_path)
    lattice = " ".join(f"{v:.10f}" for v in np.asarray(cell).reshape(-1))
    partial = velocity_path.with_suffix(".partial")
    with open(partial, "w") as handle:
        for frame, positions in enumerate(frames):
            velocities = rng.normal(0, 0.01, positions.shape)
            handle.write(f"{len(species)}\nTime={frame * 10.0:.8f} pbc=\"T T T\" Lattice="
                         f"\"{lattice}\" Properties=species:S:1:pos:R:3:vel:R:3\n")
            handle.write("".join(
                f"{s} {x:.10f} {y:.10f} {z:.10f} {u:.10f} {v:.10f} {w:.10f}\n"
                for s, (x, y, z), (u, v, w) in zip(species, positions, velocities)))
    partial.rename(velocity_path)
    return [ase_path, velocity_path]


class Case:
    """One file in memory and where its frames start (every frame is a count line, a comment
    line and its atom lines here)."""

    def __init__(self, path: Path):
        from mantid_mdinsim.io.trajectory import open_trajectory

        with open_trajectory(path) as reader:
            self.n_atoms, self.roles = reader.n_atoms, reader._roles
            self.species_tokens = list(reader.species)
        self.path = path
        self.data = np.fromfile(path, dtype=np.uint8)
        self.megabytes = self.data.size / 1e6
        line_starts = np.concatenate([[0], np.flatnonzero(self.data == 10) + 1])
        self.frame_starts = line_starts[::self.n_atoms + 2]
        self.frames = len(self.frame_starts) - 1

    def runner(self, module: types.SimpleNamespace, threads: int):
        """A function parsing every frame with ``module``'s kernels (:func:`kernels`) on
        ``threads`` threads (a share of the frames each; the kernel releases the GIL),
        returning the positions: ``parse_part`` (the frames found as they are parsed), or in
        trees before session 12 ``scan_frames`` then ``parse_frames``, both timed."""
        out = np.empty((self.frames, self.n_atoms, 3))
        expected = module.species_hashes(self.species_tokens)
        bounds = [self.frames * part // threads for part in range(threads + 1)]
        found = [0] * threads
        data, n_atoms, roles = self.data, self.n_atoms, self.roles
        words = data[:data.size // 8 * 8].view(np.uint64)

        def scan_then_parse(index: int) -> None:
            first, last = bounds[index], bounds[index + 1]
            count = last - first
            frame_starts = np.empty(count + 1, dtype=np.int64)
            lines_before = np.empty(count + 1, dtype=np.int64)
            comment_starts, comment_ends, atom_starts = (np.empty(count, dtype=np.int64)
                                                         for _ in range(3))
            scanned, _ = module.scan_frames(data, words, self.frame_starts[first], n_atoms,
                                            count, frame_starts, comment_starts, comment_ends,
                                            atom_starts, lines_before)
            found[index] = module.parse_frames(
                data, atom_starts, frame_starts, 0, scanned, roles, out[first:last],
                np.empty(n_atoms, dtype=np.uint64), expected, module._POWERS_OF_TEN)

        def parse_part(index: int) -> None:
            first, last = bounds[index], bounds[index + 1]
            count = last - first
            found[index], *_ = module.parse_part(
                data, self.frame_starts[first], self.frame_starts[last], False, n_atoms, roles,
                out[first:last], 0, np.empty(n_atoms, dtype=np.uint64), expected,
                module._POWERS_OF_TEN, np.empty(count, dtype=np.int64),
                np.empty(count, dtype=np.int64), np.zeros(1, dtype=np.int64))

        part = parse_part if hasattr(module, "parse_part") else scan_then_parse

        def run() -> np.ndarray:
            workers = [threading.Thread(target=part, args=(index,))
                       for index in range(1, threads)]
            for worker in workers:
                worker.start()
            part(0)
            for worker in workers:
                worker.join()
            if found != [bounds[k + 1] - bounds[k] for k in range(threads)]:
                raise RuntimeError(f"{self.path}: the kernel parsed {found} frames")
            return out
        return run


def timed(run) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, help="a GPUMD-like extended XYZ file (default: "
                        "bench_sqw's writer, --atoms x --frames)")
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--before", type=Path, help="a tree with the older mantid_mdinsim/io "
                        "(default: main's)")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")),
                        help="where the derived files are written (default: $TMPDIR or /tmp)")
    args = parser.parse_args()

    path = args.file
    if path is None:
        from bench_sqw import default_trajectory
        path = default_trajectory(args.work, args.atoms, args.frames)
    files = [path, *derived_files(path, args.work)]

    from mantid_mdinsim.io import trajectory_parts, trajectory_text
    after = kernels(trajectory_text, trajectory_parts)
    with tempfile.TemporaryDirectory() as scratch:
        tree = args.before or main_tree(Path(scratch) / "main")
        before = old_kernels(tree, Path(scratch))
        print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.repeats} passes "
              f"each, alternating; before: {tree}")
        print(f"  {'file':<34s} {'thr':>3s} {'before MB/s':>16s} {'after MB/s':>16s} "
              f"{'CPU s b/a':>13s} {'ratio':>6s}")
        for file in files:
            case = Case(file)
            for threads in (1, 2):
                runs = {"before": case.runner(before, threads),
                        "after": case.runner(after, threads)}
                first = {name: run().copy() for name, run in runs.items()}   # compile, check
                if first["before"].tobytes() != first["after"].tobytes():
                    raise RuntimeError(f"{file}: the kernels' positions differ")
                times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
                for _ in range(args.repeats):
                    for name, run in runs.items():
                        times[name].append(timed(run))
                rate = {name: case.megabytes / statistics.median(t[0] for t in times[name])
                        for name in runs}
                best = {name: case.megabytes / min(t[0] for t in times[name])
                        for name in runs}
                cpu = {name: statistics.median(t[1] for t in times[name]) for name in runs}
                print(f"  {file.name:<34s} {threads:3d} "
                      f"{rate['before']:7.0f} ({best['before']:5.0f}) "
                      f"{rate['after']:7.0f} ({best['after']:5.0f}) "
                      f"{cpu['before']:6.3f}/{cpu['after']:.3f} "
                      f"{rate['after'] / rate['before']:6.2f}")
        print(f"MB/s: median (best) of {args.repeats}; ratio of the medians; load now "
              f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
