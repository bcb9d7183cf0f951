"""The cost of the frame checks every trajectory reader shares (issue 14: finite positions,
repeated frames, gaps in recorded time, a file cut inside its last line): reading an extended
XYZ trajectory with the parser alone and through the checked ``frames``.

    python benchmarks/bench_frame_checks.py                      # 4096 atoms, 300 frames
    python benchmarks/bench_frame_checks.py --atoms 20000 --frames 200

Prints atom-frames per second of both, best of three, and their ratio; and the fixed cost of
``open_trajectory`` (frame 0's species, the cell, the next frame's time), median of nine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mantid_mdinsim.io.trajectory import FrameBatch, open_trajectory
from mantid_mdinsim.io.trajectory_extxyz import ExtxyzReader


def write_trajectory(path: Path, n_atoms: int, n_frames: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        for frame in range(n_frames):
            handle.write(f"{n_atoms}\nTime={10.0 * frame:.1f} Lattice=\"40 0 0 0 40 0 0 0 40\" "
                         "Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n")
            positions = rng.uniform(0.0, 40.0, (n_atoms, 3))
            handle.write("".join(f"Si {x:.8f} {y:.8f} {z:.8f}\n" for x, y, z in positions))


def best_rate(path: Path, checked: bool) -> float:
    best = 0.0
    for _ in range(3):
        with open_trajectory(path) as reader:
            started = time.perf_counter()
            frames = reader.frames() if checked else ExtxyzReader.frames.__wrapped__(reader, 0)
            # the parser alone yields batches of frames (FrameBatch) too
            count = sum(len(item.positions) if isinstance(item, FrameBatch) else 1
                        for item in frames)
            best = max(best, count * reader.n_atoms / (time.perf_counter() - started))
    return best


def open_seconds(path: Path) -> float:
    """Median of nine ``open_trajectory`` calls (the file in the page cache)."""
    open_trajectory(path).close()
    times = []
    for _ in range(9):
        started = time.perf_counter()
        open_trajectory(path).close()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=4096)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trajectory.xyz"
        write_trajectory(path, args.atoms, args.frames)
        raw, checked = best_rate(path, False), best_rate(path, True)
        opening = open_seconds(path)
    print(f"parser alone      {raw / 1e6:8.2f} M atom-frames/s")
    print(f"with frame checks {checked / 1e6:8.2f} M atom-frames/s")
    print(f"ratio checked/raw {checked / raw:8.3f}")
    print(f"open_trajectory   {opening * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
