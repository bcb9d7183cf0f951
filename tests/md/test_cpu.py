"""The CPU backend (ASE + calorine's CPUNEP): energy conservation, thermostat and barostat
against statistical mechanics and the model's equation of state, exact resumption, and
independent runs in separate processes."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pytest
from ase import units

from mantid_mdinsim.errors import Cancelled, ParameterError
from mantid_mdinsim.md import read_thermo_csv, run_md
from mantid_mdinsim.progress import ProgressReporter


def cpu_run(tmp_path, si_structure, si_model, name="runs", progress=None, **changes):
    values = dict(structure=str(si_structure), model=str(si_model),
                  output_dir=str(tmp_path / name), temperature_k=[300.0], supercell=[2, 2, 2],
                  time_step_fs=2.0, equilibration="nvt", equilibration_time_ps=0.2,
                  production_time_ps=0.4, dump_interval_fs=10.0, max_frequency_mev=65.0,
                  backend="cpu", processes=1)
    values.update(changes)
    return run_md(values, progress)


def block_error(values, n_blocks=8):
    """Standard error of the mean from block averages (the samples are correlated)."""
    blocks = np.array_split(np.asarray(values), n_blocks)
    return np.std([b.mean() for b in blocks], ddof=1) / np.sqrt(n_blocks)


def test_nve_conserves_energy(tmp_path, si_structure, si_model):
    result = cpu_run(tmp_path, si_structure, si_model, time_step_fs=1.0,
                     equilibration_time_ps=0.1, production_time_ps=1.0, thermo_interval_fs=5.0)
    run = result.runs[0]
    thermo = read_thermo_csv(run["thermo_path"])
    production = thermo["phase"] == "production"
    total = thermo["total_energy_ev"][production]
    kinetic = thermo["kinetic_energy_ev"][production]
    # velocity Verlet at omega*dt ~ 0.1: drift far below 1e-4 eV/atom/ps, and total-energy
    # fluctuations two orders of magnitude below the kinetic-energy fluctuations
    assert abs(run["energy_drift_ev_per_atom_per_ps"]) < 1e-4
    assert np.std(total) < 0.01 * np.std(kinetic)
    assert run["mean_temperature_k"] == pytest.approx(300.0, rel=0.25)


def test_nvt_thermostat_samples_the_canonical_temperature(tmp_path, si_structure, si_model):
    result = cpu_run(tmp_path, si_structure, si_model, equilibration="nvt",
                     equilibration_time_ps=3.0, production_time_ps=0.04, thermo_interval_fs=4.0)
    assert result.parameters["thermostat"] == "langevin"     # the default
    thermo = read_thermo_csv(result.runs[0]["thermo_path"])
    t = thermo["temperature_k"][thermo["phase"] == "equilibration"][100:]   # after 0.4 ps
    n_atoms = 64
    # mean within three standard errors; canonical width T*sqrt(2/(3N)) (kinetic energy of
    # 3N quadratic degrees of freedom is Gamma-distributed)
    assert abs(t.mean() - 300.0) < 3 * block_error(t) + 1.0
    assert np.std(t) == pytest.approx(300.0 * np.sqrt(2.0 / (3 * n_atoms)), rel=0.2)


def test_npt_volumes_follow_the_models_equation_of_state(tmp_path, si_structure, si_model):
    """NPT at 0 and 5 GPa: the volume ratio equals that of the model's static equation of state
    (Birch-Murnaghan fit of CPUNEP energies; thermal expansion cancels to first order in the
    ratio), and the mean pressure equals the target within its standard error."""
    from ase.build import bulk
    from ase.eos import EquationOfState
    from calorine.calculators import CPUNEP
    from scipy.optimize import brentq

    calculator = CPUNEP(str(si_model))
    volumes, energies = [], []
    for a in np.linspace(5.30, 5.55, 9):
        atoms = bulk("Si", "diamond", a=a, cubic=True)
        atoms.calc = calculator
        volumes.append(atoms.get_volume())
        energies.append(atoms.get_potential_energy())
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    v0, _, bulk_modulus = eos.fit()

    def pressure(v, h=1e-4):
        return -(eos.func(v * (1 + h), *eos.eos_parameters)
                 - eos.func(v * (1 - h), *eos.eos_parameters)) / (2 * h * v)

    v5 = brentq(lambda v: pressure(v) - 5.0 * units.GPa, 0.8 * v0, v0)
    mean_volume = {}
    for p in (0.0, 5.0):
        result = cpu_run(tmp_path, si_structure, si_model, name=f"p{p:g}", equilibration="npt",
                         pressure_gpa=p, barostat_coupling_fs=400.0,
                         bulk_modulus_gpa=bulk_modulus / units.GPa, equilibration_time_ps=2.0,
                         production_time_ps=0.04, thermo_interval_fs=4.0)
        thermo = read_thermo_csv(result.runs[0]["thermo_path"])
        keep = thermo["phase"] == "equilibration"
        volume = thermo["volume_angstrom3"][keep][150:]           # after 0.6 ps
        pressures = thermo["pressure_gpa"][keep][150:]
        assert abs(pressures.mean() - p) < 3 * block_error(pressures) + 0.05
        mean_volume[p] = volume.mean()
    ratio = mean_volume[5.0] / mean_volume[0.0]
    assert ratio == pytest.approx(v5 / v0, abs=0.006)         # a 5 percent compression
    assert mean_volume[0.0] / 64 == pytest.approx(v0 / 8, rel=0.01)


def _cancel_after(n_reports):
    count = [0]

    def is_cancelled():
        count[0] += 1
        return count[0] > n_reports
    return ProgressReporter(lambda fraction, message: None, is_cancelled)


def _crash_after(n_reports):
    count = [0]

    def callback(fraction, message):
        count[0] += 1
        if count[0] > n_reports:
            raise RuntimeError("simulated crash")
    return ProgressReporter(callback)


@pytest.mark.parametrize("interrupt, n_reports, trajectory_format", [
    ("cancel", 12, "extxyz"),   # during NPT equilibration (Langevin-BAOAB state in the checkpoint)
    ("cancel", 35, "netcdf"),   # during NVE production
    ("crash", 40, "extxyz"),    # a crash between checkpoints: files hold frames past the checkpoint
    ("crash", 40, "netcdf"),
])
def test_an_interrupted_run_resumes_to_identical_frames(tmp_path, si_structure, si_model,
                                                        interrupt, n_reports, trajectory_format):
    settings = dict(equilibration="npt", equilibration_time_ps=0.2, production_time_ps=0.3,
                    checkpoint_interval_ps=0.1, trajectory_format=trajectory_format)
    name = {"extxyz": "trajectory.xyz", "netcdf": "trajectory.nc"}[trajectory_format]
    reference = cpu_run(tmp_path, si_structure, si_model, name="reference", **settings)
    progress = _cancel_after(n_reports) if interrupt == "cancel" else _crash_after(n_reports)
    with pytest.raises(Cancelled if interrupt == "cancel" else RuntimeError):
        cpu_run(tmp_path, si_structure, si_model, name="resumed", progress=progress, **settings)
    folder = tmp_path / "resumed" / "T_300K" / "run_000"
    names = {p.name for p in folder.iterdir()}
    assert {f"{name}.partial", "thermo.csv.partial", "checkpoint.npz"} <= names
    assert name not in names and "summary.json" not in names
    if interrupt == "crash":
        meta = json.loads(bytes(np.load(folder / "checkpoint.npz")["_metadata"]).decode())
        if trajectory_format == "extxyz":
            assert (folder / f"{name}.partial").stat().st_size > meta["trajectory_bytes"]
        else:
            import netCDF4

            with netCDF4.Dataset(folder / f"{name}.partial") as data:
                assert len(data.dimensions["frame"]) > meta["trajectory_bytes"]
    resumed = cpu_run(tmp_path, si_structure, si_model, name="resumed", **settings).runs[0]
    assert resumed["timings"]["resumed_from_step"] > 0
    expected = reference.runs[0]
    assert filecmp.cmp(expected["trajectory_path"], resumed["trajectory_path"], shallow=False)
    assert filecmp.cmp(expected["thermo_path"], resumed["thermo_path"], shallow=False)
    assert resumed["mean_squared_displacement_angstrom2"] == \
        expected["mean_squared_displacement_angstrom2"]
    assert not (folder / "checkpoint.npz").exists()


def test_runs_in_separate_processes_equal_runs_in_one(tmp_path, si_structure, si_model):
    settings = dict(supercell=[1, 1, 2], number_of_runs=2, equilibration_time_ps=0.1,
                    production_time_ps=0.1)
    serial = cpu_run(tmp_path, si_structure, si_model, name="serial", **settings)
    parallel = cpu_run(tmp_path, si_structure, si_model, name="parallel",
                       **{**settings, "processes": 2})
    assert len(parallel.runs) == 2
    assert parallel.runs[0]["seed"] != parallel.runs[1]["seed"]
    for a, b in zip(serial.runs, parallel.runs):
        assert filecmp.cmp(a["trajectory_path"], b["trajectory_path"], shallow=False)
    # a completed folder is reused, not run again; other physics in it is refused
    again = cpu_run(tmp_path, si_structure, si_model, name="serial", **settings)
    assert again.runs[0]["timings"] == serial.runs[0]["timings"]
    with pytest.raises(ParameterError, match="holds runs made with other parameters.*time_step_fs"):
        cpu_run(tmp_path, si_structure, si_model, name="serial", time_step_fs=1.0, **settings)


def test_result_tables_and_summary_for_mantid(tmp_path, si_structure, si_model):
    result = cpu_run(tmp_path, si_structure, si_model, supercell=[1, 1, 1],
                     temperature_k=[200.0, 400.0], equilibration_time_ps=0.1,
                     production_time_ps=0.1)
    runs, thermo = result.workspaces()
    assert runs.n_rows == 2 and runs.units["mean_squared_displacement_angstrom2"] == "Angstrom^2"
    assert thermo.n_rows == sum(len(read_thermo_csv(r["thermo_path"])["step"])
                                for r in result.runs)
    assert thermo.logs["mdinsim_step"] == "MDRunGPUMD"
    summary = json.loads((result.output_dir / "summary.json").read_text())
    assert set(summary["temperatures"]) == {"200", "400"}
    u = result.mean_squared_displacement_angstrom2
    assert u[400.0] > u[200.0] > 0           # more thermal motion at higher temperature
    per_run = json.loads((result.output_dir / "T_200K" / "run_000" / "summary.json").read_text())
    assert per_run["mean_squared_displacement_angstrom2"] == pytest.approx(u[200.0])


def test_production_far_from_the_target_temperature_is_reported(tmp_path, si_structure, si_model):
    """From a perfect lattice without equilibration, NVE equipartition halves the temperature
    (the initial kinetic energy is shared with the potential energy of a harmonic crystal)."""
    result = cpu_run(tmp_path, si_structure, si_model, equilibration="none",
                     production_time_ps=0.3, thermo_interval_fs=4.0)
    mean = result.runs[0]["mean_temperature_k"]
    assert mean == pytest.approx(150.0, rel=0.3)
    assert any("mean production temperature" in w and "target 300 K" in w
               for w in result.warnings)
