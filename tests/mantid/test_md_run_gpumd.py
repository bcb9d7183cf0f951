"""MDRunGPUMD: the dialog from the shared definitions, a tiny CPU run whose workspaces equal the
files the core wrote, and invalid inputs rejected with their messages."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from mantid.api import AnalysisDataService, ITableWorkspace

from mantid_mdinsim.md.parameters import MD_PARAMETERS

from .conftest import assert_properties_match, load_algorithm, make_algorithm


def test_category_summary_and_dialog_follow_the_shared_definitions():
    algorithm = load_algorithm("MDRunGPUMD")()
    algorithm.initialize()
    assert algorithm.category() == "Simulation"
    assert {"Abins", "Abins2D", "MDComputeSqw"} <= set(algorithm.seeAlso())
    assert_properties_match(algorithm, MD_PARAMETERS)
    assert algorithm.getProperty("PressureGpa").settings is not None
    assert algorithm.getProperty("NumberOfBeads").settings is not None


@pytest.fixture(scope="module")
def md_run(shared_data, tmp_path_factory):
    """The smallest real run: 8 Si atoms, the published Si NEP, 50 fs of NVE on CPU."""
    from ase.build import bulk
    from ase.io import write

    folder = tmp_path_factory.mktemp("md")
    write(folder / "si.xyz", bulk("Si", "diamond", 5.431, cubic=True))
    AnalysisDataService.clear(True)
    algorithm = make_algorithm(
        "MDRunGPUMD", InputStructure=str(folder / "si.xyz"),
        NEPModel=str(shared_data / "nep" / "Si_2022_NEP4_3body.txt"), Temperatures=[300.0],
        OutputDir=str(folder / "runs"), Equilibration="none", ProductionTimePs=0.05,
        DumpIntervalFs=5.0, MaxFrequencyMev=70.0, Backend="cpu", Processes=1,
        OutputWorkspace="thermo", OutputRunsTable="runs")
    assert algorithm.execute()
    outputs = {name: AnalysisDataService.retrieve(name) for name in ("thermo", "runs")}
    return algorithm, outputs, folder


def test_thermo_table_equals_the_runs_thermo_file(md_run):
    algorithm, outputs, folder = md_run
    thermo = outputs["thermo"]
    assert isinstance(thermo, ITableWorkspace)
    with open(folder / "runs" / "T_300K" / "run_000" / "thermo.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert thermo.rowCount() == len(rows) > 0
    for name in ("time_fs", "temperature_k", "potential_energy_ev", "total_energy_ev"):
        np.testing.assert_allclose(thermo.column(name), [float(r[name]) for r in rows])
    # Energy is conserved in NVE to well below the kinetic energy scale (8 atoms at 300 K).
    total = np.asarray(thermo.column("total_energy_ev"))
    assert np.ptp(total) < 0.05 * np.mean(thermo.column("kinetic_energy_ev"))
    assert "mdinsim_version" in thermo.getComment()


def test_trajectory_paths_are_given_for_mdcomputesqw(md_run):
    algorithm, outputs, folder = md_run
    trajectories = list(algorithm.getProperty("Trajectories").value)
    expected = folder / "runs" / "T_300K" / "run_000" / "trajectory.nc"   # the default format
    assert trajectories == [str(expected)] and expected.is_file()
    runs = outputs["runs"]
    assert runs.column("trajectory_path") == [str(expected)]
    assert runs.column("temperature_target_k") == [300.0]


@pytest.mark.parametrize("name, value, message", [
    ("TimeStepFs", 0.0, "Selected value 0 is <= the lower bound (0)"),
    ("TimeStepFs", 25.0, "Selected value 25 is > the upper bound (20)"),
    ("Temperatures", [300.0, -5.0], "At index 1: Selected value -5 is <= the lower bound (0)"),
    ("Equilibration", "npe", 'The value "npe" is not in the list of allowed values'),
    ("NumberOfRuns", 0, "Selected value 0 is < the lower bound (1)"),
    ("Supercell", [2, 0, 2], "At index 1: Selected value 0 is < the lower bound (1)"),
])
def test_bad_values_are_refused_when_set(name, value, message):
    algorithm = make_algorithm("MDRunGPUMD")
    with pytest.raises(ValueError) as error:
        algorithm.setProperty(name, value)
    assert message in str(error.value)


def test_missing_inputs_stop_the_algorithm(ads):
    algorithm = make_algorithm("MDRunGPUMD", OutputWorkspace="thermo")
    with pytest.raises(RuntimeError, match="Some invalid Properties found"):
        algorithm.execute()
    for name in ("InputStructure", "NEPModel"):
        assert algorithm.getProperty(name).isValid == "No file specified."
    assert algorithm.getProperty("Temperatures").isValid == \
        "A value must be entered for this parameter"


def test_a_missing_output_folder_is_reported_by_validate_inputs(tmp_path):
    structure = tmp_path / "si.xyz"
    structure.write_text("1\n\nSi 0 0 0\n")
    model = tmp_path / "nep.txt"
    model.write_text("nep4 1 Si\n")
    algorithm = make_algorithm("MDRunGPUMD", InputStructure=str(structure), NEPModel=str(model),
                               Temperatures=[300.0], OutputWorkspace="thermo")
    assert algorithm.validateInputs() == {
        "OutputDir": "a value is required (give --output-dir / OutputDir)"}
