"""Property-based tests of the readers (issue 14): truncated, garbled and extreme inputs end in a
clean error (:class:`~mantid_mdinsim.errors.MdinsimError`) or a correct result, never in another
exception, a crash or a hang.

Formats: extended XYZ, LAMMPS text dumps, ASE ``.traj``, processed NeXus and q-point files.
Each example takes a valid file and spoils it one way (cut at any byte, bytes overwritten or
inserted, a number replaced by nan/inf/huge/empty). A read that succeeds must give frames of
the right shape, finite; a read of a file cut at a frame boundary must give exactly the frames
before the cut. HDF5 is native code that may crash on damaged files, so the NeXus examples
run in a child process (a segmentation fault fails the test instead of killing the run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mantid_mdinsim.errors import MdinsimError
from mantid_mdinsim.io.trajectory import open_trajectory

N_ATOMS, N_FRAMES = 4, 4
SETTINGS = settings(max_examples=int(os.environ.get("MDINSIM_FUZZ_EXAMPLES", 60)), deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
EXTREME = [b"nan", b"inf", b"-inf", b"1e308", b"1e-320", b"", b"--1", b"0x10", b"1,5",
           b"99999999999999999999999"]


def _frames() -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.uniform(0.0, 6.0, size=(N_ATOMS, 3))
    return np.array([base + 0.05 * rng.standard_normal((N_ATOMS, 3)) for _ in range(N_FRAMES)])


CELL = np.diag([6.0, 6.0, 6.0])


def _extxyz() -> tuple[bytes, list[int]]:
    """The file and the byte offset at which each frame starts."""
    text, starts = b"", []
    for index, positions in enumerate(_frames()):
        starts.append(len(text))
        lines = [f"{N_ATOMS}", f'Time={10.0 * index:.1f} Lattice="6 0 0 0 6 0 0 0 6" '
                 'Properties=species:S:1:pos:R:3 pbc="T T T"']
        lines += [f"Si {x:.6f} {y:.6f} {z:.6f}" for x, y, z in positions]
        text += ("\n".join(lines) + "\n").encode()
    return text, starts


def _lammps() -> tuple[bytes, list[int]]:
    text, starts = b"", []
    for index, positions in enumerate(_frames()):
        starts.append(len(text))
        lines = ["ITEM: TIMESTEP", f"{10 * index}", "ITEM: NUMBER OF ATOMS", f"{N_ATOMS}",
                 "ITEM: BOX BOUNDS pp pp pp", "0 6", "0 6", "0 6",
                 "ITEM: ATOMS id element x y z"]
        lines += [f"{i + 1} Si {x:.6f} {y:.6f} {z:.6f}" for i, (x, y, z) in enumerate(positions)]
        text += ("\n".join(lines) + "\n").encode()
    return text, starts


def _traj(folder: Path) -> bytes:
    from ase import Atoms
    from ase.io.trajectory import Trajectory

    path = folder / "source.traj"
    with Trajectory(str(path), "w") as trajectory:
        for positions in _frames():
            trajectory.write(Atoms(["Si"] * N_ATOMS, positions=positions, cell=CELL, pbc=True))
    return path.read_bytes()


@st.composite
def spoiled(draw, data: bytes):
    """``data`` spoiled one way; returns (bytes, cut) with cut the length kept by a pure cut,
    else None."""
    how = draw(st.sampled_from(["cut", "overwrite", "insert", "extreme"]))
    if how == "cut":
        cut = draw(st.integers(0, len(data)))
        return data[:cut], cut
    if how in ("overwrite", "insert"):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        junk = draw(st.binary(min_size=1, max_size=12))
        end = at + (len(junk) if how == "overwrite" else 0)
        return data[:at] + junk + data[end:], None
    numbers = [i for i in range(len(data) - 1)
               if data[i:i + 1].isdigit() and (i == 0 or data[i - 1:i] in b" \n=\"")]
    at = draw(st.sampled_from(numbers))
    end = at
    while end < len(data) and data[end:end + 1] not in b" \n\"":
        end += 1
    return data[:at] + draw(st.sampled_from(EXTREME)) + data[end:], None


def _read_all(path: Path) -> list[np.ndarray]:
    with open_trajectory(path) as reader:
        frames = [np.array(frame) for frame in reader.frames()]
        for frame in frames:
            assert frame.shape == (reader.n_atoms, 3)
        return frames


def _check_text_reader(tmp_path: Path, suffix: str, data: bytes, starts: list[int],
                       example: tuple[bytes, int | None]) -> None:
    spoiled_bytes, cut = example
    path = tmp_path / f"spoiled{suffix}"
    path.write_bytes(spoiled_bytes)
    try:
        frames = _read_all(path)
    except MdinsimError:
        return                                   # a clean error: fine
    assert all(np.all(np.isfinite(frame)) for frame in frames)
    if cut is not None:
        # A clean cut at or after a frame boundary: the complete frames before it, exactly.
        complete = sum(1 for start in starts[1:] + [len(data)] if start <= cut)
        assert len(frames) == complete
        original = _frames()
        for frame, expected in zip(frames, original):
            np.testing.assert_allclose(frame, expected, atol=1e-6)


@SETTINGS
@given(data=st.data())
def test_extended_xyz(tmp_path, data):
    text, starts = _extxyz()
    _check_text_reader(tmp_path, ".xyz", text, starts, data.draw(spoiled(text)))


@SETTINGS
@given(data=st.data())
def test_lammps_dump(tmp_path, data):
    text, starts = _lammps()
    _check_text_reader(tmp_path, ".lammpstrj", text, starts, data.draw(spoiled(text)))


@SETTINGS
@given(data=st.data())
def test_ase_traj(tmp_path, data):
    original = _traj(tmp_path)
    spoiled_bytes, _ = data.draw(spoiled(original))
    path = tmp_path / "spoiled.traj"
    path.write_bytes(spoiled_bytes)
    try:
        frames = _read_all(path)
    except MdinsimError:
        return
    assert all(np.all(np.isfinite(frame)) for frame in frames)


@SETTINGS
@given(data=st.data())
def test_q_file(tmp_path, data):
    from mantid_mdinsim.sqw.qpoints import file_qpoints

    b = 2 * np.pi / 6.0
    text = f"# qx qy qz\n{b} 0 0\n0 {2 * b} 0\n{b}, {b}, {b}\n".encode()
    spoiled_bytes, _ = data.draw(spoiled(text))
    path = tmp_path / "q.txt"
    path.write_bytes(spoiled_bytes)
    try:
        q_points = file_qpoints(path, CELL)
    except MdinsimError:
        return
    # What is read lies on the reciprocal lattice of the cell, finite and of a sane size
    # (1e308 once overflowed into garbage integer coordinates).
    assert np.all(np.isfinite(q_points.cartesian))
    assert np.all(np.abs(q_points.indices) < 1e6)
    np.testing.assert_allclose(q_points.cartesian, q_points.indices @ (2 * np.pi *
                                                                       np.linalg.inv(CELL).T))


_NEXUS_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    from hypothesis import given, settings, strategies as st
    sys.path.insert(0, {tests!r})
    from io_fuzz_nexus import spoiled_nexus_property
    spoiled_nexus_property(Path({folder!r}))
    print("ok")
""")


def test_processed_nexus_in_a_child_process(tmp_path):
    """The NeXus reader on spoiled files, in a child process: no crash, only clean errors or
    spectra equal to the original's."""
    child = _NEXUS_CHILD.format(tests=str(Path(__file__).parent), folder=str(tmp_path))
    completed = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                               timeout=540)
    assert completed.returncode == 0, (
        f"child ended with status {completed.returncode} (negative: killed by a signal, "
        f"e.g. -11 for a segmentation fault):\n{completed.stdout[-3000:]}"
        f"\n{completed.stderr[-3000:]}")
    assert completed.stdout.strip().endswith("ok")
