"""MDComputeSqw: the dialog from the shared definitions, a small run whose workspaces equal the
core's result (units, axes, distribution, errors, partials), and invalid inputs rejected."""

from __future__ import annotations

import numpy as np
import pytest
from mantid.api import AnalysisDataService, ITableWorkspace, WorkspaceGroup

from mantid_mdinsim.io.nexus import load_processed_nexus
from mantid_mdinsim.mantid.workspaces import spectrum_to_workspace
from mantid_mdinsim.sqw.compute import compute_sqw
from mantid_mdinsim.sqw.parameters import SQW_PARAMETERS

from .conftest import assert_properties_match, load_algorithm, make_algorithm

SETTINGS = dict(time_step_fs=5.0, window=20, q_max_inv_angstrom=4.0, q_count=40)


@pytest.fixture(scope="module")
def trajectory(tmp_path_factory):
    """120 frames of 8 Si atoms oscillating with a 100 fs period (41 meV)."""
    from ase.build import bulk
    from ase.io import write

    base = bulk("Si", "diamond", 5.431, cubic=True)
    phases = np.random.default_rng(0).uniform(0, 2 * np.pi, (8, 3))
    frames = []
    for index in range(120):
        atoms = base.copy()
        atoms.positions += 0.05 * np.sin(2 * np.pi * index * 5.0 / 100.0 + phases)
        frames.append(atoms)
    path = tmp_path_factory.mktemp("sqw") / "trajectory.xyz"
    write(path, frames)
    return path


@pytest.fixture(scope="module")
def run(trajectory):
    AnalysisDataService.clear(True)
    output_file = trajectory.with_name("sqw.nxs")
    algorithm = make_algorithm("MDComputeSqw", InputTrajectories=str(trajectory),
                               TimeStepFs=5.0, Window=20, QMax=4.0, QCount=40,
                               OutputWorkspace="sqw", OutputPartials="parts",
                               OutputQPoints="qpoints", OutputFile=str(output_file), Plot=False)
    assert algorithm.execute()
    outputs = {name: AnalysisDataService.retrieve(name) for name in ("sqw", "parts", "qpoints")}
    expected = compute_sqw(dict(trajectories=[str(trajectory)], **SETTINGS))
    return outputs, {item.name: item for item in expected.workspaces()}, output_file


def test_category_summary_and_dialog_follow_the_shared_definitions():
    algorithm = load_algorithm("MDComputeSqw")()
    algorithm.initialize()
    assert algorithm.category() == "Simulation"
    assert {"Abins", "Abins2D", "MDApplyInstrument"} <= set(algorithm.seeAlso())
    assert_properties_match(algorithm, SQW_PARAMETERS)
    assert algorithm.getProperty("Zones").settings is not None


def test_sqw_workspace_equals_the_core_with_units_axes_and_errors(run):
    outputs, expected, _ = run
    workspace, total = outputs["sqw"], expected["sqw"]
    np.testing.assert_allclose(workspace.extractY(), total.values, rtol=1e-12)
    np.testing.assert_allclose(workspace.extractE(), total.errors, rtol=1e-12)
    np.testing.assert_array_equal(workspace.readX(0), total.x.values)
    assert workspace.getAxis(0).getUnit().unitID() == "DeltaE"
    assert workspace.getAxis(1).getUnit().unitID() == "MomentumTransfer"
    np.testing.assert_array_equal(workspace.getAxis(1).extractValues(), total.vertical.values)
    assert workspace.isDistribution()
    assert workspace.YUnitLabel() == total.y_unit_label
    run_logs = workspace.getRun()
    assert run_logs.getProperty("mdinsim_step").value == "MDComputeSqw"
    assert run_logs.getProperty("window").value == 20


def test_partials_and_sw_form_a_group_named_after_the_output(run):
    outputs, expected, _ = run
    group = outputs["parts"]
    assert isinstance(group, WorkspaceGroup)
    names = [name for name in expected if name not in ("sqw", "qpoints")]
    assert group.getNames() == [f"parts_{name}" for name in names]
    for index, name in enumerate(names):
        np.testing.assert_allclose(group.getItem(index).extractY(), expected[name].values,
                                   rtol=1e-12)
    sw = group.getItem(names.index("sw"))
    assert sw.getAxis(1).isText()
    assert isinstance(outputs["qpoints"], ITableWorkspace)
    assert outputs["qpoints"].rowCount() == expected["qpoints"].n_rows


def test_the_output_file_loads_as_the_same_workspace(run):
    """The processed NeXus file is what Mantid's Load reads; the workspace built from it equals
    the algorithm's output workspace."""
    outputs, _, output_file = run
    loaded = {item.name: item for item in load_processed_nexus(output_file)}
    from_file = spectrum_to_workspace(loaded["sqw"])
    np.testing.assert_allclose(from_file.extractY(), outputs["sqw"].extractY(), rtol=1e-12)
    np.testing.assert_allclose(from_file.getAxis(1).extractValues(),
                               outputs["sqw"].getAxis(1).extractValues())
    assert from_file.getAxis(0).getUnit().unitID() == "DeltaE"
    assert not output_file.with_name(output_file.name + ".checkpoint.npz").exists()


def test_the_incoherent_approximation_is_a_property_and_is_logged(trajectory):
    """Approximation=incoherent: the output is the core's incoherent approximation, says so in
    its logs, and the full total is in the partials group (``<partials>_sqw_full``)."""
    algorithm = make_algorithm("MDComputeSqw", InputTrajectories=str(trajectory),
                               TimeStepFs=5.0, Window=20, QMax=4.0, QCount=40,
                               Approximation="incoherent", OutputWorkspace="sqw_incoherent",
                               OutputPartials="parts_incoherent")
    assert algorithm.execute()
    expected = {item.name: item for item in compute_sqw(dict(
        trajectories=[str(trajectory)], approximation="incoherent", **SETTINGS)).workspaces()}
    workspace = AnalysisDataService.retrieve("sqw_incoherent")
    np.testing.assert_allclose(workspace.extractY(), expected["sqw"].values, rtol=1e-12)
    assert workspace.getRun().getProperty("scattering_approximation").value == "incoherent"
    group = AnalysisDataService.retrieve("parts_incoherent")
    full = group.getItem(group.getNames().index("parts_incoherent_sqw_full"))
    assert full.getRun().getProperty("scattering_approximation").value == "full"


@pytest.mark.parametrize("name, value, message", [
    ("TimeStepFs", 0.0, "Selected value 0 is <= the lower bound (0)"),
    ("Window", 1, "Selected value 1 is < the lower bound (2)"),
    ("QMax", -1.0, "Selected value -1 is <= the lower bound (0)"),
    ("Weights", "neutrons", 'The value "neutrons" is not in the list of allowed values'),
    ("Incoherent", "maybe", 'The value "maybe" is not in the list of allowed values'),
    ("Approximation", "coherent", 'The value "coherent" is not in the list of allowed values'),
])
def test_bad_values_are_refused_when_set(name, value, message):
    algorithm = make_algorithm("MDComputeSqw")
    with pytest.raises(ValueError) as error:
        algorithm.setProperty(name, value)
    assert message in str(error.value)


def test_missing_trajectories_stop_the_algorithm(ads):
    algorithm = make_algorithm("MDComputeSqw", OutputWorkspace="sqw")
    assert algorithm.getProperty("InputTrajectories").isValid == "No file specified."
    assert algorithm.getProperty("TimeStepFs").isValid == ""      # optional: see below
    with pytest.raises(RuntimeError, match="Some invalid Properties found"):
        algorithm.execute()


def test_time_step_from_the_frame_times_or_named_where_needed(ads, trajectory, tmp_path):
    """TimeStepFs left empty: taken from the frame times a trajectory records (Time=, as
    GPUMD and mdinsim's MD write them), the same workspace as with it given; an ASE-written
    file records none, and the error names the property."""
    algorithm = make_algorithm("MDComputeSqw", InputTrajectories=str(trajectory), Window=20,
                               QMax=4.0, QCount=40, OutputWorkspace="sqw", Plot=False)
    with pytest.raises(RuntimeError, match=r"parameter 'TimeStepFs': is needed: .*"
                       r"trajectory.xyz records no frame times"):
        algorithm.execute()
    assert not ads.doesExist("sqw")
    lines = trajectory.read_text().splitlines(keepends=True)
    timed, frame = [], 0
    for index, line in enumerate(lines):
        if index and lines[index - 1].strip() == "8" and "Lattice=" in line:
            line = f"Time={5.0 * frame:.3f} " + line
            frame += 1
        timed.append(line)
    timed_path = tmp_path / "timed.xyz"
    timed_path.write_text("".join(timed))
    for name, extra in (("taken", {}), ("given", {"TimeStepFs": 5.0})):
        assert make_algorithm("MDComputeSqw", InputTrajectories=str(timed_path), Window=20,
                              QMax=4.0, QCount=40, OutputWorkspace=name, Plot=False,
                              **extra).execute()
    taken, given = ads.retrieve("taken"), ads.retrieve("given")
    np.testing.assert_array_equal(taken.extractY(), given.extractY())
    np.testing.assert_array_equal(taken.readX(0), given.readX(0))
    assert taken.getRun().getLogData("time_step_fs").value == 5.0


def test_a_trajectory_shorter_than_the_window_fails_with_the_cores_message(ads, trajectory):
    algorithm = make_algorithm("MDComputeSqw", InputTrajectories=str(trajectory),
                               TimeStepFs=5.0, Window=500, QMax=4.0, QCount=40,
                               OutputWorkspace="sqw")
    with pytest.raises(RuntimeError, match=str(trajectory.name)):
        algorithm.execute()
    assert not ads.doesExist("sqw")


def test_zones_without_a_path_are_refused_by_validate_inputs(ads, trajectory):
    """The refusing condition of the definitions (when("q_path", refuse=...)) reaches Mantid's
    validateInputs, keyed by the property, with the core's message; with a path it passes."""
    common = dict(InputTrajectories=str(trajectory), TimeStepFs=5.0, Window=20,
                  OutputWorkspace="sqw")
    algorithm = make_algorithm("MDComputeSqw", QMax=4.0, Zones=3, **common)
    assert algorithm.validateInputs() == {
        "Zones": "3 is given, but zones repeat a --q-path, which is not given (give --q-path "
                 "too, or leave --zones out)"}
    assert make_algorithm("MDComputeSqw", QMax=4.0, QPath="G-X", Zones=3,
                          **common).validateInputs() == {}


def test_an_error_found_while_running_names_the_property(ads, trajectory):
    """A ParameterError the core raises while running (no q-points: found only once the
    trajectory's cell is known) names the dialog's property, QMax, not the core's name."""
    algorithm = make_algorithm("MDComputeSqw", InputTrajectories=str(trajectory),
                               TimeStepFs=5.0, Window=20, OutputWorkspace="sqw")
    with pytest.raises(RuntimeError, match=r"parameter 'QMax': no q-points are chosen") as error:
        algorithm.execute()
    assert "q_max_inv_angstrom" not in str(error.value)
    assert not ads.doesExist("sqw")
