"""The GPUMD backend: its inputs (read back by calorine and checked against GPUMD 5.6's
documented keyword syntax), its handling of gpumd's outputs and failures (with a stand-in
gpumd, fake_gpumd.py), and, where a real gpumd exists (GPU machines), real runs."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from mantid_mdinsim.errors import ExternalProgramError, ParameterError
from mantid_mdinsim.md import iter_frames, read_thermo_csv, run_md
from mantid_mdinsim.md.gpumd import (DUMP_XYZ_GROUP_FIRST, DUMP_XYZ_INTERVAL_FIRST,
                                     dump_xyz_syntax, run_in_parameters, write_inputs)
from mantid_mdinsim.md.outputs import frame_time_fs
from mantid_mdinsim.md.parameters import MD_PARAMETERS
from mantid_mdinsim.md.protocol import RunSpec, build_protocol

#: Parameter counts GPUMD 5.6 accepts after each keyword (doc/gpumd/input_parameters/*.rst and
#: the parser, src/main_gpumd/run.cu and src/integrate/integrate.cu).
ENSEMBLE_ARITY = {"nve": {0}, "nvt_bdp": {3}, "nvt_lan": {3}, "npt_scr": {6, 10, 16},
                  "pimd": {4, 7, 11, 17}, "trpmd": {1}}
KEYWORD_ARITY = {"potential": {1}, "time_step": {1, 2}, "velocity": {1, 3},
                 "dump_thermo": {1}, "dump_restart": {1}, "run": {1}}


def check_against_gpumd_syntax(run_in_path):
    """Read run.in with calorine's reader and check every line against GPUMD's syntax."""
    from calorine.gpumd import read_runfile

    entries = read_runfile(str(run_in_path))
    words = [line.split() for line in run_in_path.read_text().splitlines() if line.strip()]
    assert len(entries) == len(words)
    for (keyword, _), tokens in zip(entries, words):
        arguments = tokens[1:]
        if keyword == "ensemble":
            name = arguments[0]
            assert len(arguments) - 1 in ENSEMBLE_ARITY[name], tokens
            if name in ("nvt_bdp", "nvt_lan", "npt_scr"):
                assert float(arguments[3]) >= 1.0            # T_coup = tau_T/dt >= 1
            if name in ("pimd", "trpmd"):
                beads = int(arguments[1])
                assert 2 <= beads <= 128 and beads % 2 == 0
        elif keyword == "dump_xyz":
            assert int(arguments[0]) >= 1 and arguments[1] == "dump.xyz"
            assert set(arguments[2:]) <= {"velocity"}
        else:
            assert len(arguments) in KEYWORD_ARITY[keyword], tokens
            if keyword == "velocity" and len(arguments) == 3:
                assert arguments[1] == "seed" and int(arguments[2]) > 0
    return entries


def protocol_for(**changes):
    values = dict(structure="s", model="m", output_dir="o", temperature_k=[300.0],
                  time_step_fs=1.0, equilibration_time_ps=1.0, production_time_ps=2.0,
                  dump_interval_fs=10.0)
    values.update(changes)
    return build_protocol(MD_PARAMETERS.resolve(values))


@pytest.mark.parametrize("changes, ensembles", [
    ({}, [("npt_scr", 6), ("nve", 0)]),
    ({"equilibration": "nvt"}, [("nvt_lan", 3), ("nve", 0)]),
    ({"equilibration": "nvt", "thermostat": "bussi"}, [("nvt_bdp", 3), ("nve", 0)]),
    ({"equilibration": "pimd_npt", "production": "trpmd", "number_of_beads": 32},
     [("pimd", 7), ("trpmd", 1)]),
    # classical production after PIMD: Langevin thermalisation first (protocol.py)
    ({"equilibration": "pimd_nvt", "production": "nve"},
     [("pimd", 4), ("nvt_lan", 3), ("nve", 0)]),
    ({"equilibration": "none"}, [("nve", 0)]),
])
def test_run_in_follows_gpumd_syntax(tmp_path, si_model, changes, ensembles):
    protocol = protocol_for(**changes)
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    spec = RunSpec(300.0, 0, 12345, tmp_path)
    write_inputs(tmp_path, protocol, spec, atoms, str(si_model))
    entries = check_against_gpumd_syntax(tmp_path / "run.in")
    found = [(v[0] if isinstance(v, tuple) else v, len(v) - 1 if isinstance(v, tuple) else 0)
             for k, v in entries if k == "ensemble"]
    assert found == ensembles
    runs = [v for k, v in entries if k == "run"]
    assert runs == ([protocol.equilibration_steps] if changes.get("equilibration") != "none"
                    else []) + ([protocol.thermalisation_steps]
                                if protocol.thermalisation_steps else []) + [
        protocol.production_steps]
    if protocol.thermalisation_steps:
        # five Langevin times of the default 100 fs, at the target temperature, after pimd
        assert protocol.thermalisation_steps * protocol.time_step_fs == 500.0
        thermalisation = [v for k, v in entries if k == "ensemble"][1]
        assert tuple(map(float, thermalisation[1:])) == (300.0, 300.0, 100.0)
    assert ("velocity", (300.0, "seed", 12345)) not in entries  # read_runfile casts to float
    assert dict(entries)["velocity"] == 300.0 and dict(entries)["time_step"] == 1.0
    assert (tmp_path / "nep.txt").read_bytes() == si_model.read_bytes()


def test_model_xyz_reads_back_with_calorine(tmp_path, si_model):
    from calorine.gpumd import read_xyz

    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 1, 1))
    atoms.rattle(0.02, seed=1)
    write_inputs(tmp_path, protocol_for(), RunSpec(300.0, 0, 1, tmp_path), atoms, str(si_model))
    model = read_xyz(str(tmp_path / "model.xyz"))
    np.testing.assert_allclose(model.positions, atoms.positions, atol=1e-7)
    np.testing.assert_allclose(np.array(model.cell), np.array(atoms.cell), atol=1e-7)
    assert model.get_chemical_symbols() == atoms.get_chemical_symbols()
    np.testing.assert_allclose(model.get_array("mass"), atoms.get_masses())


# The two parsers of src/measure/dump_xyz.cu: GPUMD's v5.6 tag, and later sources (master
# since commit 1bb23e2f, "Replace positional group arguments in dump_xyz with a group option").
GROUP_FIRST_SOURCE = b'PRINT_INPUT_ERROR("dump_xyz should have at least 4 parameters.\\n");'
INTERVAL_FIRST_SOURCE = (b'"dump_xyz no longer takes <grouping_method> <group_id> as its first two '
                         b'parameters. Use dump_xyz <interval> <filename> [group ..."')


@pytest.mark.parametrize("content, syntax, expected", [
    (b"\x7fELF..." + GROUP_FIRST_SOURCE, DUMP_XYZ_GROUP_FIRST, ("-1", "0", "5", "dump.xyz")),
    (b"\x7fELF..." + INTERVAL_FIRST_SOURCE, DUMP_XYZ_INTERVAL_FIRST, ("5", "dump.xyz")),
    (b"\x7fELF...", DUMP_XYZ_INTERVAL_FIRST, ("5", "dump.xyz")),
])
def test_dump_xyz_follows_the_syntax_of_the_gpumd_at_hand(tmp_path, content, syntax, expected):
    executable = tmp_path / "gpumd"
    executable.write_bytes(content)
    assert dump_xyz_syntax(executable) == syntax
    protocol = protocol_for(dump_interval_fs=5.0, time_step_fs=1.0)
    lines = dict(run_in_parameters(protocol, RunSpec(300.0, 0, 1, tmp_path),
                                   np.eye(3) * 10.9, dump_syntax=syntax))
    assert tuple(str(v) for v in lines["dump_xyz"]) == expected


def test_the_device_kits_gpumd_parses_dump_xyz_interval_first(shared_data):
    """The GPUMD sources the device kit builds hold the later parser (their run.in samples too)."""
    import tarfile

    kit = shared_data.parent / "tools" / "device-kit" / "gpumd-5.6-src.tar.gz"
    if not kit.is_file():
        pytest.skip("the device kit's GPUMD sources are not available")
    with tarfile.open(kit) as archive:
        source = archive.extractfile("gpumd-5.6/src/measure/dump_xyz.cu").read()
    assert b"no longer takes <grouping_method>" in source
    assert b"at least 4 parameters" not in source


def test_a_triclinic_cell_gets_six_pressure_components(tmp_path):
    primitive = bulk("Si", "diamond", a=5.43)       # fcc primitive cell: not orthogonal
    lines = run_in_parameters(protocol_for(pressure_gpa=2.0, bulk_modulus_gpa=98.0),
                              RunSpec(300.0, 0, 1, tmp_path), np.array(primitive.cell))
    ensemble = [value for key, value in lines if key == "ensemble"][0]
    assert ensemble[0] == "npt_scr" and len(ensemble) - 1 == 16
    assert ensemble[4:10] == (2.0, 2.0, 2.0, 0, 0, 0) and ensemble[10:16] == (98.0,) * 6


def test_a_coupling_shorter_than_the_time_step_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="thermostat_coupling_fs.*at least one time step"):
        run_in_parameters(protocol_for(thermostat_coupling_fs=0.5),
                          RunSpec(300.0, 0, 1, tmp_path), np.eye(3) * 5.43)


def gpumd_run(tmp_path, si_structure, si_model, executable, **changes):
    values = dict(structure=str(si_structure), model=str(si_model),
                  output_dir=str(tmp_path / "runs"), temperature_k=[300.0], supercell=[1, 1, 2],
                  time_step_fs=2.0, equilibration_time_ps=0.2, production_time_ps=0.4,
                  dump_interval_fs=10.0, checkpoint_interval_ps=0.1, max_frequency_mev=70.0,
                  backend="gpumd", gpumd_executable=str(executable))
    values.update(changes)
    return run_md(**values)


@pytest.mark.parametrize("protocol", [
    {},
    {"equilibration": "pimd_npt", "production": "trpmd", "number_of_beads": 4},
])
def test_outputs_of_gpumd_become_the_run_files(tmp_path, si_structure, si_model, fake_gpumd,
                                              clean_fake_environment, protocol):
    result = gpumd_run(tmp_path, si_structure, si_model, fake_gpumd, **protocol)
    run = result.runs[0]
    assert result.backend == "gpumd" and run["backend"] == "gpumd"
    # the stand-in moves every atom on x0 + A sin(wt + phase), A = 0.1: U = A^2/2 exactly
    assert run["mean_squared_displacement_angstrom2"] == pytest.approx(0.005, rel=1e-6)
    frames = list(iter_frames(run["trajectory_path"]))
    assert len(frames) == 40
    # GPUMD's global time: production starts after 100 equilibration steps of 2 fs
    assert [frame_time_fs(f) for f in frames[:2]] == [210.0, 220.0]
    thermo = read_thermo_csv(run["thermo_path"])
    assert thermo["phase"].tolist().count("equilibration") == 20
    assert thermo["step"][-1] == 300 and thermo["time_fs"][-1] == 600.0
    folder = result.output_dir / "T_300K" / "run_000"
    run_in = (folder / "gpumd" / "segment_00" / "run.in").read_text()
    assert ("ensemble trpmd 4" in run_in) == bool(protocol)
    assert not (folder / "gpumd.partial").exists()


@pytest.mark.parametrize("mode, message", [
    ("fail", "(?s)failed with exit status 1.*names a species absent"),
    ("silent", "exited normally but did not write"),
])
def test_a_gpumd_that_fails_or_writes_nothing(tmp_path, si_structure, si_model, fake_gpumd,
                                             monkeypatch, mode, message):
    monkeypatch.setenv("FAKE_GPUMD_MODE", mode)
    with pytest.raises(ExternalProgramError, match=message):
        gpumd_run(tmp_path, si_structure, si_model, fake_gpumd)
    folder = tmp_path / "runs" / "T_300K" / "run_000"
    # Nothing to resume from: only gpumd's log is kept, no half-made gpumd.partial/ (issue 14).
    assert (folder / "gpumd.failed.log").is_file()
    assert not (folder / "gpumd.partial").exists()
    assert not (folder / "trajectory.xyz").exists() and not (folder / "summary.json").exists()


def test_an_interrupted_gpumd_run_resumes_from_its_restart_file(tmp_path, si_structure,
                                                                si_model, fake_gpumd,
                                                                monkeypatch):
    monkeypatch.delenv("FAKE_GPUMD_MODE", raising=False)
    monkeypatch.setenv("FAKE_GPUMD_CRASH_AFTER", "130")   # production step; restart at 100
    with pytest.raises(ExternalProgramError, match="exit status 137"):
        gpumd_run(tmp_path, si_structure, si_model, fake_gpumd)
    folder = tmp_path / "runs" / "T_300K" / "run_000"
    assert (folder / "gpumd.partial").is_dir() and not (folder / "trajectory.xyz").exists()
    monkeypatch.delenv("FAKE_GPUMD_CRASH_AFTER")
    run = gpumd_run(tmp_path, si_structure, si_model, fake_gpumd).runs[0]
    assert run["timings"]["resumed_from_step"] == 100 + 100
    times = [frame_time_fs(f) for f in iter_frames(run["trajectory_path"])]
    np.testing.assert_allclose(times, 200.0 + 10.0 * np.arange(1, 41))
    assert run["mean_squared_displacement_angstrom2"] == pytest.approx(0.005, rel=1e-6)
    thermo = read_thermo_csv(run["thermo_path"])
    np.testing.assert_array_equal(thermo["step"], 5 * np.arange(1, 61))
    assert (folder / "gpumd" / "segment_01" / "run.in").read_text().count("ensemble") == 1


def test_gpumd_built_with_netcdf_dumps_netcdf(tmp_path, si_structure, si_model,
                                             fake_gpumd_netcdf, monkeypatch):
    """dump_netcdf where gpumd has it; the trajectory is the stand-in's analytic path; an
    interrupted run resumes and joins the NetCDF segments with a continuous time; sqw reads the
    result with the species file beside it."""
    monkeypatch.delenv("FAKE_GPUMD_MODE", raising=False)
    monkeypatch.setenv("FAKE_GPUMD_CRASH_AFTER", "130")
    with pytest.raises(ExternalProgramError, match="exit status 137"):
        gpumd_run(tmp_path, si_structure, si_model, fake_gpumd_netcdf)
    monkeypatch.delenv("FAKE_GPUMD_CRASH_AFTER")
    run = gpumd_run(tmp_path, si_structure, si_model, fake_gpumd_netcdf).runs[0]
    folder = tmp_path / "runs" / "T_300K" / "run_000"
    run_in = (folder / "gpumd" / "segment_00" / "run.in").read_text()
    assert "dump_netcdf 5 dump.nc precision double" in run_in and "dump_xyz" not in run_in
    assert run["trajectory_path"].endswith("trajectory.nc")
    assert (folder / "trajectory.species.txt").read_text().split()[-1] == "Si"
    assert run["timings"]["resumed_from_step"] == 100 + 100
    frames = list(iter_frames(run["trajectory_path"]))
    np.testing.assert_allclose([frame_time_fs(f) for f in frames],
                               200.0 + 10.0 * np.arange(1, 41))
    assert run["mean_squared_displacement_angstrom2"] == pytest.approx(0.005, rel=1e-6)
    from mantid_mdinsim.io.trajectory import open_trajectory

    reader = open_trajectory(run["trajectory_path"])
    assert reader.format == "netcdf" and set(reader.species) == {"Si"}
    assert reader.frame_interval_fs == pytest.approx(10.0)


# -- real GPUMD (GPU machines) ------------------------------------------------------------
@pytest.mark.gpu
def test_real_gpumd_conserves_energy_in_nve(tmp_path, si_structure, si_model):
    from mantid_mdinsim.external import find_executable

    result = run_md(structure=str(si_structure), model=str(si_model),
                    output_dir=str(tmp_path / "runs"), temperature_k=[300.0],
                    supercell=[4, 4, 4], time_step_fs=1.0, equilibration="nvt",
                    equilibration_time_ps=2.0, production_time_ps=10.0, dump_interval_fs=10.0,
                    backend="gpumd", gpumd_executable=str(find_executable("gpumd")))
    run = result.runs[0]
    assert abs(run["energy_drift_ev_per_atom_per_ps"]) < 1e-5
    assert run["mean_temperature_k"] == pytest.approx(300.0, rel=0.05)
    assert run["number_of_frames"] == 1000


@pytest.mark.gpu
def test_real_gpumd_and_the_cpu_backend_agree(tmp_path, si_structure, si_model):
    """The same NVT protocol on both backends: mean potential energy per atom and mean
    temperature agree within their statistical spread."""
    from mantid_mdinsim.external import find_executable

    common = dict(structure=str(si_structure), model=str(si_model), temperature_k=[300.0],
                  supercell=[2, 2, 2], time_step_fs=2.0, equilibration="nvt",
                  equilibration_time_ps=1.0, production_time_ps=4.0, dump_interval_fs=10.0)
    gpu = run_md(output_dir=str(tmp_path / "gpu"), backend="gpumd",
                 gpumd_executable=str(find_executable("gpumd")), **common).runs[0]
    cpu = run_md(output_dir=str(tmp_path / "cpu"), backend="cpu", **common).runs[0]
    for key in ("mean_potential_energy_ev", "mean_temperature_k"):
        spread = 3 * np.hypot(gpu[key.replace("mean", "std")], cpu[key.replace("mean", "std")])
        assert abs(gpu[key] - cpu[key]) < spread, key
    assert gpu["mean_squared_displacement_angstrom2"] == pytest.approx(
        cpu["mean_squared_displacement_angstrom2"], rel=0.3)


@pytest.mark.gpu
def test_real_gpumd_dump_netcdf_into_sqw(tmp_path, si_structure, si_model):
    """The real gpumd writes dump_netcdf (where built with NetCDF); sqw reads it and gives the
    same S(q,w) from the NetCDF file as from the same frames written as extended XYZ."""
    from mantid_mdinsim.external import find_executable
    from mantid_mdinsim.md.gpumd import dump_netcdf_supported
    from mantid_mdinsim.md.outputs import format_frame
    from mantid_mdinsim.sqw import compute_sqw

    executable = find_executable("gpumd")
    if not dump_netcdf_supported(executable):
        pytest.skip("this gpumd was built without NetCDF (USE_NETCDF)")
    result = run_md(structure=str(si_structure), model=str(si_model),
                    output_dir=str(tmp_path / "runs"), temperature_k=[300.0],
                    supercell=[3, 3, 3], time_step_fs=1.0, equilibration="nvt",
                    equilibration_time_ps=1.0, production_time_ps=3.0, dump_interval_fs=10.0,
                    backend="gpumd", gpumd_executable=str(executable))
    trajectory = result.runs[0]["trajectory_path"]
    assert trajectory.endswith(".nc")
    xyz = tmp_path / "same.xyz"
    with open(xyz, "w") as handle:
        for frame in iter_frames(trajectory):
            handle.write(format_frame(frame.get_chemical_symbols(), frame.positions,
                                      np.array(frame.cell), frame_time_fs(frame)))
    settings = dict(time_step_fs=10.0, window=50, q_max_inv_angstrom=4.0, q_count=50)
    from_netcdf = compute_sqw(settings, trajectories=[trajectory])
    from_xyz = compute_sqw(settings, trajectories=[str(xyz)])
    for name, (values, _) in from_xyz.parts.items():
        np.testing.assert_allclose(from_netcdf.parts[name][0], values, rtol=1e-6,
                                   atol=1e-9 * np.nanmax(np.abs(values)))


def test_a_gpumd_run_that_blows_up_stops_with_a_clear_error(tmp_path, si_structure, si_model,
                                                            fake_gpumd, monkeypatch):
    """Issue 14: gpumd's thermo shows a run-away temperature: PhysicsError, no trajectory.xyz
    (nothing to average as data), gpumd's outputs kept for inspection."""
    from mantid_mdinsim.errors import PhysicsError

    monkeypatch.setenv("FAKE_GPUMD_MODE", "runaway")
    with pytest.raises(PhysicsError, match="gpumd's run .* became unphysical: the temperature "
                                           "ran away to 3e"):
        gpumd_run(tmp_path, si_structure, si_model, fake_gpumd)
    folder = tmp_path / "runs" / "T_300K" / "run_000"
    assert not (folder / "trajectory.xyz").exists()
    assert (folder / "gpumd.partial").is_dir()


def test_classical_production_after_pimd_thermalises_and_resumes(tmp_path, si_structure,
                                                                 si_model, fake_gpumd,
                                                                 monkeypatch):
    """pimd_nvt then nve: a Langevin thermalisation run (5 thermostat times of 100 fs = 250
    steps of 2 fs) between them, its thermo rows labelled, production frames timed after it,
    and a production interrupted after it resumes from GPUMD's restart file."""
    monkeypatch.delenv("FAKE_GPUMD_MODE", raising=False)
    monkeypatch.setenv("FAKE_GPUMD_CRASH_AFTER", "130")   # production step; restart at 100
    pimd = dict(equilibration="pimd_nvt", production="nve", number_of_beads=4)
    with pytest.raises(ExternalProgramError, match="exit status 137"):
        gpumd_run(tmp_path, si_structure, si_model, fake_gpumd, **pimd)
    folder = tmp_path / "runs" / "T_300K" / "run_000"
    run_in = (folder / "gpumd.partial" / "segment_00" / "run.in").read_text()
    assert run_in.index("ensemble pimd") < run_in.index("ensemble nvt_lan") < run_in.index(
        "ensemble nve")
    monkeypatch.delenv("FAKE_GPUMD_CRASH_AFTER")
    run = gpumd_run(tmp_path, si_structure, si_model, fake_gpumd, **pimd).runs[0]
    assert run["timings"]["resumed_from_step"] == 100 + 250 + 100
    times = [frame_time_fs(f) for f in iter_frames(run["trajectory_path"])]
    np.testing.assert_allclose(times, 700.0 + 10.0 * np.arange(1, 41))
    thermo = read_thermo_csv(run["thermo_path"])
    np.testing.assert_array_equal(thermo["step"], 5 * np.arange(1, 111))
    phases = thermo["phase"].tolist()
    assert phases == ["equilibration"] * 20 + ["thermalisation"] * 50 + ["production"] * 40
    assert run["production_start_fs"] == 700.0
