"""Streaming trajectory readers (mantid_mdinsim/io/trajectory*.py) against ASE's readers and
files written by GPUMD, and the exactness of the fast number parser."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write
from ase.io.trajectory import Trajectory

from mantid_mdinsim.io import trajectory_parts, trajectory_text
from mantid_mdinsim.io.trajectory import open_trajectory
from mantid_mdinsim.io.trajectory_extxyz import ExtxyzReader


def random_frames(n_frames=5, n_atoms=7, seed=0):
    rng = np.random.default_rng(seed)
    cell = np.array([[6.0, 0.3, 0.0], [0.0, 5.5, 0.2], [0.1, 0.0, 7.0]])
    symbols = list(rng.choice(["Si", "O", "H"], n_atoms))
    frames = []
    for _ in range(n_frames):
        atoms = Atoms(symbols, positions=rng.uniform(-1, 8, (n_atoms, 3)), cell=cell, pbc=True)
        atoms.set_velocities(rng.normal(size=(n_atoms, 3)))
        frames.append(atoms)
    return frames


def test_extxyz_written_by_ase_with_extra_columns_reads_as_ase_reads_it(tmp_path):
    frames = random_frames()
    path = tmp_path / "traj.extxyz"
    write(path, frames, format="extxyz")
    reader = open_trajectory(path)
    assert reader.format == "extxyz" and reader.species == frames[0].get_chemical_symbols()
    np.testing.assert_allclose(reader.cell, frames[0].cell.array)
    reference = read(path, index=":")
    positions = list(reader.frames())
    assert len(positions) == len(reference)
    for ours, theirs in zip(positions, reference):
        np.testing.assert_array_equal(ours, theirs.positions)   # the same float, bit for bit
    later = list(reader.frames(start=3))
    np.testing.assert_array_equal(later[0], reference[3].positions)


def test_gpumd_dump_files_read_as_ase_reads_them(shared_data):
    folder = shared_data / "gpumd-samples" / "dump_observer"
    for name in ("reference_observer0.xyz", "reference_observer1.xyz"):
        path = folder / name
        reader = open_trajectory(path)
        reference = read(path, index=":")
        assert reader.species == reference[0].get_chemical_symbols() == ["C"] * 159
        np.testing.assert_allclose(reader.cell, np.eye(3) * 10.0)
        positions = list(reader.frames())
        assert len(positions) == len(reference) == 4
        for ours, theirs in zip(positions, reference):
            np.testing.assert_array_equal(ours, theirs.positions)


def test_chunk_boundaries_do_not_matter(tmp_path):
    """A chunk of a few hundred bytes splits lines and numbers everywhere: streaming with a
    bounded buffer must still read every frame exactly."""
    frames = random_frames(n_frames=12, n_atoms=9, seed=4)
    path = tmp_path / "traj.xyz"
    write(path, frames, format="extxyz")
    reader = ExtxyzReader(path)
    reference = list(reader.frames())
    original = trajectory_text.ChunkedText.__init__.__defaults__
    try:
        trajectory_text.ChunkedText.__init__.__defaults__ = (257,)
        small = list(ExtxyzReader(path).frames())
    finally:
        trajectory_text.ChunkedText.__init__.__defaults__ = original
    for a, b in zip(reference, small):
        np.testing.assert_array_equal(a, b)


def test_ase_traj_is_read_frame_by_frame(tmp_path):
    frames = random_frames(n_frames=4)
    path = tmp_path / "md.traj"
    with Trajectory(str(path), "w") as handle:
        for atoms in frames:
            handle.write(atoms)
    reader = open_trajectory(path)
    assert reader.format == "ase" and reader.estimated_frame_count() == 4
    assert reader.species == frames[0].get_chemical_symbols()
    for ours, atoms in zip(reader.frames(), frames):
        np.testing.assert_allclose(ours, atoms.positions, rtol=0, atol=1e-12)


def write_lammps_dump(path, frames, ids_order, scaled=False, triclinic=(0.3, 0.1, 0.2)):
    xy, xz, yz = triclinic
    lx, ly, lz = 6.0, 5.5, 7.0
    cell = np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])
    origin = np.array([-1.0, 0.5, 2.0])
    lines = []
    for step, (symbols, positions) in enumerate(frames):
        lines += ["ITEM: TIMESTEP", str(step * 10), "ITEM: NUMBER OF ATOMS", str(len(symbols)),
                  "ITEM: BOX BOUNDS xy xz yz pp pp pp",
                  f"{origin[0] + min(0, xy, xz, xy + xz)} "
                  f"{origin[0] + lx + max(0, xy, xz, xy + xz)} {xy}",
                  f"{origin[1] + min(0, yz)} {origin[1] + ly + max(0, yz)} {xz}",
                  f"{origin[2]} {origin[2] + lz} {yz}",
                  "ITEM: ATOMS id type element " + ("xs ys zs" if scaled else "x y z") + " vx"]
        fractional = (positions - origin) @ np.linalg.inv(cell)
        for i in ids_order[step]:
            values = fractional[i] if scaled else positions[i]
            lines.append(f"{i + 1} 1 {symbols[i]} {values[0]:.12f} {values[1]:.12f} "
                         f"{values[2]:.12f} 0.5")
    path.write_text("\n".join(lines) + "\n")
    return cell


@pytest.mark.parametrize("scaled", [False, True])
def test_lammps_dump_is_sorted_by_id_with_its_triclinic_cell(tmp_path, scaled):
    rng = np.random.default_rng(5)
    symbols = ["Si", "O", "O", "Si", "H"]
    frames = [(symbols, rng.uniform(0, 5, (5, 3))) for _ in range(3)]
    orders = [rng.permutation(5) for _ in frames]
    path = tmp_path / "dump.lammpstrj"
    cell = write_lammps_dump(path, frames, orders, scaled=scaled)
    reader = open_trajectory(path)
    assert reader.format == "lammps" and reader.species == symbols
    np.testing.assert_allclose(reader.cell, cell, atol=1e-12)
    for ours, (_, positions) in zip(reader.frames(), frames):
        np.testing.assert_allclose(ours, positions, atol=1e-9)


def test_number_parser_matches_python_float():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0, 10, 300), rng.normal(0, 1e-6, 50),
                             rng.normal(0, 1e8, 50)])
    texts = ([f"{v:.10f}" for v in values[:200]] + [repr(float(v)) for v in values[200:]]
             + [f"{v:.17g}" for v in values[:100]] + [f"{v:.6e}" for v in values[:100]]
             + ["1", "-0", "+3.5", "1.5E+02", "2.5d-3", ".5", "5."])
    line = (" ".join(texts) + "\n").encode()
    buffer = np.frombuffer(line, dtype=np.uint8)
    roles = np.arange(len(texts), dtype=np.int64)
    out = np.empty((1, len(texts)))
    status, _, _, _ = trajectory_text.parse_atom_lines(
        buffer, 0, 1, roles, True, out, np.empty(1, dtype=np.uint64),
        trajectory_text._POWERS_OF_TEN)
    assert status == trajectory_text.STATUS_OK
    expected = [float(t.replace("d", "e")) for t in texts]
    np.testing.assert_array_equal(out[0], expected)


def test_memory_does_not_grow_with_the_trajectory(tmp_path, monkeypatch):
    """Peak memory (tracemalloc, which sees numpy's buffers) of a whole S(q,w) run is the same
    for 300 and 3000 frames: frames are streamed, only a block of them is held (a reader that
    kept the frames would hold 2 MB more)."""
    import tracemalloc

    from mantid_mdinsim.sqw import compute_sqw

    from .harmonic import HarmonicCrystal, write_extxyz

    crystal = HarmonicCrystal(cells=3, temperature_k=100.0, species=["Si"] * 27)
    positions = crystal.positions(np.arange(3000) * 10.0)
    short = write_extxyz(tmp_path / "short.xyz", positions[:300], crystal.cell, crystal.species,
                         time_step_fs=10.0)
    long = write_extxyz(tmp_path / "long.xyz", positions, crystal.cell, crystal.species,
                        time_step_fs=10.0)
    monkeypatch.setattr(trajectory_text.ChunkedText.__init__, "__defaults__", (1 << 14,))
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 1 << 14)
    peaks = []
    for path in (short, long):
        compute_sqw(trajectories=[str(path)], time_step_fs=10.0, window=8,
                    q_max_inv_angstrom=2.5, q_count=20)            # compile, warm caches
        tracemalloc.start()
        compute_sqw(trajectories=[str(path)], time_step_fs=10.0, window=8,
                    q_max_inv_angstrom=2.5, q_count=20)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert long.stat().st_size > 9 * short.stat().st_size
    assert peaks[1] < 1.1 * peaks[0], peaks
