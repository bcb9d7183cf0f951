"""Readers on real GPUMD 5.6 files (shared/data/gpumd-samples), and the trajectory and thermo
files the CPU backend writes, read back by ASE and by dynasor (the S(q,w) step's readers)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.md.outputs import (AppendFile, THERMO_NAMES, format_frame, format_thermo_row,
                                       frame_time_fs, iter_frames, read_gpumd_thermo,
                                       read_thermo_csv, thermo_header)


def test_gpumd_thermo_out_of_a_64000_atom_nve_run(shared_data):
    path = shared_data / "gpumd-samples" / "carbon" / "thermo1.out"
    table = read_gpumd_thermo(path, time_step_fs=1.0)
    # Independent: the raw columns with numpy (header: T KE PE sxx syy szz syz sxz sxy a b c).
    raw = np.loadtxt(path)
    assert len(table["step"]) == raw.shape[0] == 10
    np.testing.assert_allclose(table["temperature_k"], raw[:, 0])
    np.testing.assert_allclose(table["kinetic_energy_ev"], raw[:, 1])
    np.testing.assert_allclose(table["total_energy_ev"], raw[:, 1] + raw[:, 2])
    np.testing.assert_allclose(table["pressure_gpa"], raw[:, 3:6].mean(axis=1))
    np.testing.assert_allclose(table["volume_angstrom3"], 75.2**3)
    # dump_thermo 10 with a 1 fs step (run.in): rows at 10, 20, ... fs
    np.testing.assert_allclose(table["time_fs"], 10.0 * np.arange(1, 11))
    np.testing.assert_array_equal(table["step"], 10 * np.arange(1, 11))
    # equipartition: KE = 3/2 N k_B T for the 64000 atoms of the header
    np.testing.assert_allclose(table["kinetic_energy_ev"],
                               1.5 * 64000 * units.kB * table["temperature_k"], rtol=1e-5)


def test_gpumd_thermo_out_of_an_npt_then_nve_run(shared_data):
    table = read_gpumd_thermo(shared_data / "gpumd-samples" / "graphene_dos" / "thermo1.out",
                              phase="equilibration")
    assert len(table["step"]) == 100
    # npt_ber relaxes the in-plane cell: the area shrinks from the first rows, c stays 3.35
    raw = np.loadtxt(shared_data / "gpumd-samples" / "graphene_dos" / "thermo1.out")
    np.testing.assert_allclose(table["volume_angstrom3"],
                               np.abs(np.linalg.det(raw[:, 9:18].reshape(-1, 3, 3))))
    assert table["time_fs"][-1] == pytest.approx(100 * 100.0)


def test_gpumd_dump_xyz_frames(shared_data):
    path = shared_data / "gpumd-samples" / "dump_observer" / "reference_observer0.xyz"
    frames = list(iter_frames(path))
    assert len(frames) == 4 and len(frames[0]) == 159
    # run.in: time_step 1.0, dump every step -> Time 1, 2, 3, 4 fs
    assert [frame_time_fs(f) for f in frames] == [1.0, 2.0, 3.0, 4.0]
    assert np.allclose(np.diag(np.array(frames[0].cell)), 10.0)
    assert set(frames[0].get_chemical_symbols()) == {"C"}
    # the velocities (A/fs) carry the frames forward: x(t+1) ~ x(t) + v dt for most atoms
    step = frames[1].positions - frames[0].positions
    step -= 10.0 * np.rint(step / 10.0)
    predicted = 0.5 * (frames[0].arrays["vel"] + frames[1].arrays["vel"]) * 1.0
    assert np.median(np.abs(step - predicted)) < 1e-3


def test_a_cut_off_trajectory_is_reported_not_misread(tmp_path, shared_data):
    source = (shared_data / "gpumd-samples" / "dump_observer" / "reference_observer0.xyz")
    text = source.read_text()
    cut = tmp_path / "dump.xyz"
    cut.write_text(text[: int(len(text) * 0.6)])
    with pytest.raises(InputFileError, match="dump.xyz: is not a complete extended XYZ"):
        list(iter_frames(cut))


def test_written_frames_read_back_by_ase_and_dynasor(tmp_path):
    from ase.build import bulk
    from dynasor import Trajectory

    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    rng = np.random.default_rng(3)
    path = tmp_path / "trajectory.xyz"
    frames = []
    with AppendFile(path) as handle:
        for k in range(3):
            positions = atoms.positions + 0.05 * rng.standard_normal(atoms.positions.shape)
            velocities = 0.01 * rng.standard_normal(atoms.positions.shape)
            frames.append((positions, velocities))
            handle.write(format_frame(atoms.get_chemical_symbols(), positions,
                                      np.array(atoms.cell), 14.0 * (k + 1), velocities))
    read = list(iter_frames(path))
    for (positions, velocities), frame in zip(frames, read):
        np.testing.assert_allclose(frame.positions, positions, atol=1e-8)
        np.testing.assert_allclose(frame.arrays["vel"], velocities, atol=1e-8)
    assert [frame_time_fs(f) for f in read] == [14.0, 28.0, 42.0]
    # dynasor, with the units GPUMD's files carry (Angstrom, fs)
    trajectory = Trajectory(str(path), trajectory_format="extxyz", length_unit="Angstrom",
                            time_unit="fs")
    dynasor_frames = list(trajectory)
    assert len(dynasor_frames) == 3 and trajectory.n_atoms == 64
    np.testing.assert_allclose(dynasor_frames[1].get_positions_as_array(trajectory.atomic_indices),
                               frames[1][0], atol=1e-8)
    np.testing.assert_allclose(
        dynasor_frames[1].get_velocities_as_array(trajectory.atomic_indices), frames[1][1],
        atol=1e-8)


def test_append_file_truncates_to_a_checkpoint_offset(tmp_path):
    path = tmp_path / "thermo.csv.partial"
    with AppendFile(path, header=thermo_header()) as handle:
        row = {name: 1.0 for name in THERMO_NAMES}
        row.update(step=5, phase="equilibration")
        handle.write(format_thermo_row(row))
        offset = handle.offset()
        row.update(step=10)
        handle.write(format_thermo_row(row))
    with AppendFile(path, truncate_to=offset) as handle:
        row.update(step=15, phase="production")
        handle.write(format_thermo_row(row))
    table = read_thermo_csv(path)
    assert table["step"].tolist() == [5, 15]
    assert table["phase"].tolist() == ["equilibration", "production"]
    with pytest.raises(InputFileError, match="fewer than the 100000 its checkpoint recorded"):
        AppendFile(path, truncate_to=100000)
