"""AMBER NetCDF trajectories: files written the GPUMD way (src/measure/dump_netcdf.cu: NetCDF-3
64-bit offset, and NetCDF-4 as with compression; single and double precision) by libraries other
than the reader's (scipy.io.netcdf_file, h5netcdf), and by the CPU backend's writer, read back
against the same trajectory in extended XYZ; S(q,w) from both equal; bad files refused."""

from pathlib import Path

import numpy as np
import pytest
from ase.geometry import cell_to_cellpar

from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.io.trajectory import open_trajectory
from mantid_mdinsim.io.trajectory_netcdf import NetcdfTrajectoryWriter
from mantid_mdinsim.io.trajectory_species import species_file_for, write_species_file
from mantid_mdinsim.sqw import compute_sqw

from ..sqw.harmonic import HarmonicCrystal, write_extxyz

pytest.importorskip("netCDF4")

ELEMENTS = ["Si", "C"]          # the NEP header's order: type 0 is Si, type 1 is C
TIME_STEP_FS = 10.0


@pytest.fixture(scope="module")
def crystal_frames():
    crystal = HarmonicCrystal(cells=3, temperature_k=300.0, seed=4,
                              species=["C" if i % 4 == 0 else "Si" for i in range(27)])
    positions = crystal.positions(np.arange(90) * TIME_STEP_FS)
    return crystal, positions


def gpumd_layout(path: Path, crystal, positions, netcdf4: bool, single: bool) -> Path:
    """What dump_netcdf writes: global attributes, dimensions, cell lengths/angles, time in ps,
    a per-frame int type, coordinates in the restricted frame (a cubic cell: unrotated)."""
    types = np.array([ELEMENTS.index(s) for s in crystal.species], dtype=np.int32)
    cell = np.asarray(crystal.cell)
    parameters = cell_to_cellpar(cell)
    real = "f4" if single else "f8"
    n_frames, n_atoms = positions.shape[:2]
    if netcdf4:
        import h5netcdf

        data = h5netcdf.File(path, "w")
        data.dimensions = {"frame": None, "spatial": 3, "atom": n_atoms, "cell_spatial": 3,
                           "cell_angular": 3, "label": 10}

        def variable(name, kind, dims, values, units=None):
            var = data.create_variable(name, dims, kind, compression="gzip")
            if dims and dims[0] == "frame":
                data.resize_dimension("frame", n_frames)
            var[...] = values
            if units:
                var.attrs["units"] = units
        attributes = data.attrs
    else:
        from scipy.io import netcdf_file

        data = netcdf_file(path, "w", version=2)   # 64-bit offset, as NC_64BIT_OFFSET
        data.createDimension("frame", None)
        for name, size in (("spatial", 3), ("atom", n_atoms), ("cell_spatial", 3),
                           ("cell_angular", 3), ("label", 10)):
            data.createDimension(name, size)

        def variable(name, kind, dims, values, units=None):
            var = data.createVariable(name, kind, dims)
            var[:] = values
            if units:
                var.units = units
        attributes = None
    globals_ = {"program": "GPUMD", "programVersion": "5.6", "Conventions": "AMBER",
                "ConventionVersion": "1.0"}
    for key, value in globals_.items():
        if attributes is not None:
            attributes[key] = value
        else:
            setattr(data, key, value)
    variable("time", "f8", ("frame",), np.arange(n_frames) * TIME_STEP_FS / 1000.0,
             "picosecond")
    variable("cell_lengths", "f8", ("frame", "cell_spatial"),
             np.tile(parameters[:3], (n_frames, 1)), "angstrom")
    variable("cell_angles", "f8", ("frame", "cell_angular"),
             np.tile(parameters[3:], (n_frames, 1)), "degree")
    variable("type", "i4", ("frame", "atom"), np.tile(types, (n_frames, 1)))
    variable("coordinates", real, ("frame", "atom", "spatial"), positions.astype(real),
             "angstrom")
    data.close()
    write_species_file(path, ELEMENTS)
    return path


@pytest.fixture(scope="module")
def files(crystal_frames, tmp_path_factory):
    crystal, positions = crystal_frames
    folder = tmp_path_factory.mktemp("netcdf")
    made = {"xyz": write_extxyz(folder / "trajectory.xyz", positions, crystal.cell,
                                crystal.species, time_step_fs=TIME_STEP_FS)}
    for netcdf4 in (False, True):
        for single in (False, True):
            name = f"gpumd_nc{4 if netcdf4 else 3}_{'single' if single else 'double'}.nc"
            made[name] = gpumd_layout(folder / name, crystal, positions, netcdf4, single)
    types = [ELEMENTS.index(s) for s in crystal.species]
    with NetcdfTrajectoryWriter(folder / "cpu.nc", types) as writer:
        for index, frame in enumerate(positions):
            writer.write(frame, crystal.cell, index * TIME_STEP_FS)
    write_species_file(folder / "cpu.nc", ELEMENTS)
    made["cpu.nc"] = folder / "cpu.nc"
    return made


@pytest.mark.parametrize("name", ["gpumd_nc3_double.nc", "gpumd_nc4_double.nc",
                                  "gpumd_nc3_single.nc", "gpumd_nc4_single.nc", "cpu.nc"])
def test_netcdf_reads_back_as_the_same_trajectory_in_xyz(files, name):
    xyz = open_trajectory(files["xyz"])
    netcdf = open_trajectory(files[name])
    assert netcdf.format == "netcdf"
    assert netcdf.species == xyz.species and netcdf.n_atoms == xyz.n_atoms
    np.testing.assert_allclose(netcdf.cell, xyz.cell, atol=1e-9)
    assert netcdf.frame_interval_fs == pytest.approx(xyz.frame_interval_fs, rel=1e-12)
    assert netcdf.estimated_frame_count() == 90
    # float coordinates (GPUMD's default precision) keep seven digits; the text file ten
    tolerance = 2e-5 if "single" in name else 1e-9
    count = 0
    for a, b in zip(netcdf.frames(start=3), xyz.frames(start=3)):
        np.testing.assert_allclose(a, b, atol=tolerance)
        count += 1
    assert count == 87
    netcdf.close()
    xyz.close()


def test_sqw_from_netcdf_equals_sqw_from_xyz(files):
    settings = dict(time_step_fs=TIME_STEP_FS, window=20, q_max_inv_angstrom=4.0, q_count=40)
    from_xyz = compute_sqw(settings, trajectories=[str(files["xyz"])])
    from_netcdf = compute_sqw(settings, trajectories=[str(files["gpumd_nc4_double.nc"])])
    for name, (values, _) in from_xyz.parts.items():
        np.testing.assert_allclose(from_netcdf.parts[name][0], values, rtol=1e-7,
                                   atol=1e-9 * np.nanmax(np.abs(values)))


def test_species_from_a_nep_model_or_a_structure(files, tmp_path, crystal_frames):
    crystal, _ = crystal_frames
    source = files["gpumd_nc3_double.nc"]
    bare = tmp_path / "bare.nc"
    bare.write_bytes(source.read_bytes())
    with pytest.raises(InputFileError, match="type indices.*--species-from"):
        open_trajectory(bare)
    model = tmp_path / "nep.txt"
    model.write_text("nep4 2 Si C\ncutoff 5 4 40 20\n")
    assert open_trajectory(bare, species_from=model).species == crystal.species
    from ase import Atoms
    from ase.io import write

    structure = tmp_path / "start.xyz"
    write(structure, Atoms(crystal.species, positions=np.zeros((27, 3)), cell=crystal.cell,
                           pbc=True))
    assert open_trajectory(bare, species_from=structure).species == crystal.species
    swapped = tmp_path / "swapped.txt"
    swapped.write_text("nep4 1 Si\n")
    with pytest.raises(InputFileError, match="has type 1.*lists 1 elements"):
        open_trajectory(bare, species_from=swapped)
    wrong = tmp_path / "wrong.xyz"
    write(wrong, Atoms(["Si"] * 26 + ["C"], positions=np.zeros((27, 3)), cell=crystal.cell))
    with pytest.raises(InputFileError, match="type 0 of bare.nc the species C, Si"):
        open_trajectory(bare, species_from=wrong)


def test_time_step_taken_from_the_netcdf_time(files):
    """No time step given: the file's ``time`` (ps, GPUMD's dump_netcdf layout) gives it, the
    same S(q,w) as with it given."""
    settings = dict(window=20, q_max_inv_angstrom=4.0, q_count=40,
                    trajectories=[str(files["gpumd_nc3_double.nc"])])
    taken = compute_sqw(settings)
    given = compute_sqw(settings, time_step_fs=TIME_STEP_FS)
    assert taken.settings.time_step_fs == pytest.approx(TIME_STEP_FS, rel=1e-12)
    np.testing.assert_allclose(taken.energy_mev, given.energy_mev, rtol=1e-12)
    for name, (values, _) in given.parts.items():
        np.testing.assert_allclose(taken.parts[name][0], values, rtol=1e-12)


def test_a_disagreeing_time_step_is_refused(files):
    with pytest.raises(ParameterError, match="10 fs apart"):
        compute_sqw(trajectories=[str(files["cpu.nc"])], time_step_fs=2.0, window=20,
                    q_max_inv_angstrom=4.0)


@pytest.mark.parametrize("name", ["gpumd_nc3_double.nc", "gpumd_nc4_double.nc"])
def test_truncated_files_are_refused(files, tmp_path, name):
    data = files[name].read_bytes()
    for keep in (len(data) // 2, len(data) - 100):
        cut = tmp_path / f"cut_{keep}.nc"
        cut.write_bytes(data[:keep])
        species_file_for(cut).write_text("Si C\n")
        with pytest.raises(InputFileError, match="cut_") as error:
            reader = open_trajectory(cut)
            for _ in reader.frames():
                pass
        assert "truncated" in str(error.value)


def test_truncated_netcdf3_refused_quietly(files, tmp_path):
    """The refusal frees scipy's half-read file at once, quietly. Left in the error's frames,
    it was freed later by the garbage collector, anywhere, warning "Cannot close a
    netcdf_file opened with mmap=True" (seen in this file's run before 3 December)."""
    import gc
    import warnings

    from scipy.io import netcdf_file

    data = files["gpumd_nc3_double.nc"].read_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for keep in (len(data) // 2, len(data) - 100):
            cut = tmp_path / f"cut_{keep}.nc"
            cut.write_bytes(data[:keep])
            species_file_for(cut).write_text("Si C\n")
            with pytest.raises(InputFileError, match="truncated") as error:
                open_trajectory(cut)
            # the error kept (as a caller may) does not keep scipy's file alive
            assert not [item for item in gc.get_objects() if isinstance(item, netcdf_file)]
            del error
        gc.collect()
    assert [str(warning.message) for warning in caught
            if "netcdf_file" in str(warning.message)] == []


def test_garbled_and_mismatched_files_are_refused(files, tmp_path):
    import netCDF4

    garbled = tmp_path / "garbled.nc"
    garbled.write_bytes(b"CDF\x02" + bytes(range(256)) * 8)
    with pytest.raises(InputFileError, match="cannot be opened as NetCDF"):
        open_trajectory(garbled)

    def edited(name, change):
        path = tmp_path / name
        path.write_bytes(files["cpu.nc"].read_bytes())
        species_file_for(path).write_text("Si C\n")
        with netCDF4.Dataset(path, "a") as data:
            change(data)
        return path

    def no_pbc(data):
        data.variables["cell_lengths"][0] = [0.0, 0.0, 0.0]

    with pytest.raises(InputFileError, match="frame 0.*not a periodic cell"):
        open_trajectory(edited("nopbc.nc", no_pbc))

    def new_cell(data):
        data.variables["cell_lengths"][40] = data.variables["cell_lengths"][40] * 1.01

    reader = open_trajectory(edited("npt.nc", new_cell))
    with pytest.raises(InputFileError, match="frame 40.*the cell changes"):
        list(reader.frames())

    def retype(data):
        types = data.variables["type"][50]
        types[3] = 1 - types[3]
        data.variables["type"][50] = types

    reader = open_trajectory(edited("retyped.nc", retype))
    with pytest.raises(InputFileError, match="frame 50.*atom 3 has another type"):
        list(reader.frames())

    def nan(data):
        data.variables["coordinates"][60, 5, 1] = np.nan

    reader = open_trajectory(edited("nan.nc", nan))
    with pytest.raises(InputFileError, match="frame 60.*atom 5.*not a finite"):
        list(reader.frames())

    def not_amber(data):
        data.Conventions = "CF-1.8"

    with pytest.raises(InputFileError, match="not AMBER"):
        open_trajectory(edited("cf.nc", not_amber))

    def time_backwards(data):
        data.variables["time"][1] = -1.0

    with pytest.raises(InputFileError, match="frame 1.*time does not increase"):
        open_trajectory(edited("backwards.nc", time_backwards))
