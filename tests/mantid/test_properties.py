"""Parameters -> Mantid properties: types, defaults, validators and their messages, groups,
EnabledWhen settings, values read back for the core, and validateInputs from the core's checks."""

from __future__ import annotations

import numpy as np
import pytest
from mantid.api import FileProperty, MultipleFileProperty, PythonAlgorithm
from mantid.kernel import (Direction, EnabledWhenProperty, FloatArrayProperty, IntArrayProperty,
                           StringArrayProperty)

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.mantid.algorithm_base import MDAlgorithm
from mantid_mdinsim.mantid.properties import EMPTY_DBL, EMPTY_INT
from mantid_mdinsim.parameters import Kind, Parameter, ParameterSet

from .conftest import REAL_MANTID

TOY = ParameterSet("Toy", (
    Parameter("trajectories", str, "Trajectory files", kind=Kind.INPUT_FILES,
              extensions=(".xyz",), group="Input"),
    Parameter("time_step_fs", float, "Time between frames", unit="fs", minimum=0.0,
              exclusive_minimum=True, group="Input"),
    Parameter("window", int, "Correlation window", unit="frames", default=100, minimum=2,
              maximum=10000),
    Parameter("q_max_inv_angstrom", float, "Largest |q|", unit="1/Angstrom", default=None,
              minimum=0.0, exclusive_minimum=True, maximum=50.0, mantid_name="QMax"),
    Parameter("batch", int, "Batch size", default=None, minimum=1, maximum=1000),
    Parameter("weights", str, "Weights", default="neutron", choices=("neutron", "xray")),
    Parameter("mode", str, "Mode (unset: the core decides)", default=None,
              choices=("fast", "exact")),
    Parameter("label", str, "A free text", default=None),
    Parameter("per_q", bool, "One spectrum per q-point", default=False),
    Parameter("temperature_k", float, "Temperatures", unit="K", minimum=0.0,
              exclusive_minimum=True, multiple=True, mantid_name="Temperatures"),
    Parameter("supercell", int, "Repetitions", default=(1, 1, 1), minimum=1, multiple=True),
    Parameter("species", str, "Species", default=None, multiple=True),
    Parameter("q_file", str, "q-point file", kind=Kind.INPUT_FILE, default=None,
              extensions=(".txt",)),
    Parameter("model", str, "Model file", kind=Kind.INPUT_FILE, extensions=(".txt",)),
    Parameter("output_dir", str, "Output folder", kind=Kind.DIRECTORY),
    Parameter("output", str, "Output file", kind=Kind.OUTPUT_FILE, default="out.nxs",
              extensions=(".nxs",), mantid_name="OutputFile"),
))


def _no_equal_window_and_batch(values):
    if values["batch"] is not None and values["batch"] == values["window"]:
        raise ParameterError("batch", "must differ from the window", "choose another batch")


class ToyAlgorithm(MDAlgorithm, PythonAlgorithm):
    PARAMETERS = TOY
    STEP = "Toy"
    ENABLED_WHEN = {"batch": ("per_q", True), "q_file": ("weights", ("neutron", "xray")),
                    "label": ("q_max_inv_angstrom", None)}

    def PyInit(self):
        self.declare_parameters()

    def validateInputs(self):
        return self.validate_parameters(cross_check=_no_equal_window_and_batch)

    def PyExec(self):
        self.resolved = self.resolved_parameters()


@pytest.fixture
def files(tmp_path):
    trajectory = tmp_path / "a.xyz"
    trajectory.write_text("1\n\nSi 0 0 0\n")
    model = tmp_path / "nep.txt"
    model.write_text("nep4 1 Si\n")
    return trajectory, model, tmp_path


def toy(files, **overrides):
    trajectory, model, folder = files
    algorithm = ToyAlgorithm()
    algorithm.initialize()
    algorithm.setRethrows(True)
    values = {"Trajectories": str(trajectory), "TimeStepFs": 5.0, "Temperatures": [300.0],
              "Model": str(model), "OutputDir": str(folder / "runs")}
    values.update(overrides)
    for key, value in values.items():
        algorithm.setProperty(key, value)
    return algorithm


def test_properties_have_the_definitions_names_defaults_docs_and_groups():
    algorithm = ToyAlgorithm()
    algorithm.initialize()
    names = [p.name for p in algorithm.getProperties()]
    assert names == [p.property_name for p in TOY]
    assert algorithm.getProperty("Window").value == 100
    assert algorithm.getProperty("Weights").value == "neutron"
    assert algorithm.getProperty("Weights").allowedValues == ["neutron", "xray"]
    assert algorithm.getProperty("PerQ").value is False
    # An optional choice without a default may stay unset: Mantid's ListValidator allows ""
    # only when listed, so it leads the list; read back as None.
    assert algorithm.getProperty("Mode").allowedValues == ["", "fast", "exact"]
    assert algorithm.getProperty("Mode").isValid == ""
    assert algorithm.parameter_values()["mode"] is None
    assert list(algorithm.getProperty("Supercell").value) == [1, 1, 1]
    assert algorithm.getProperty("QMax").value == EMPTY_DBL
    assert algorithm.getProperty("Batch").value == EMPTY_INT
    assert algorithm.getProperty("TimeStepFs").documentation == TOY["time_step_fs"].describe()
    assert "Unit: fs" in algorithm.getProperty("TimeStepFs").documentation
    assert algorithm.getProperty("TimeStepFs").getGroup == "Input"
    assert algorithm.getProperty("Window").getGroup == ""
    assert isinstance(algorithm.getProperty("Trajectories"), MultipleFileProperty)
    assert isinstance(algorithm.getProperty("Model"), FileProperty)
    assert isinstance(algorithm.getProperty("Temperatures"), FloatArrayProperty)
    assert isinstance(algorithm.getProperty("Supercell"), IntArrayProperty)
    assert isinstance(algorithm.getProperty("Species"), StringArrayProperty)
    # An output file is optional in Mantid: the workspaces are the result.
    assert algorithm.getProperty("OutputFile").value == ""
    assert all(p.direction == Direction.Input for p in algorithm.getProperties())


def test_enabled_when_settings_follow_the_other_setting(files):
    algorithm = toy(files)
    settings = algorithm.getProperty("Batch").settings
    assert isinstance(settings, EnabledWhenProperty)
    if REAL_MANTID:
        pytest.skip("isEnabled is evaluated by Workbench's dialog")
    assert not settings.isEnabled(algorithm)
    algorithm.setProperty("PerQ", True)
    assert settings.isEnabled(algorithm)
    label = algorithm.getProperty("Label").settings
    assert not label.isEnabled(algorithm)
    algorithm.setProperty("QMax", 5.0)
    assert label.isEnabled(algorithm)
    assert algorithm.getProperty("QFile").settings.isEnabled(algorithm)


@pytest.mark.parametrize("name, value, message", [
    ("TimeStepFs", 0.0, "Selected value 0 is <= the lower bound (0)"),
    ("TimeStepFs", -1.5, "Selected value -1.5 is <= the lower bound (0)"),
    ("Window", 1, "Selected value 1 is < the lower bound (2)"),
    ("Window", 20000, "Selected value 20000 is > the upper bound (10000)"),
    ("QMax", 0.0, "Selected value 0 is <= the lower bound (0)"),
    ("Weights", "neutrons", 'The value "neutrons" is not in the list of allowed values'),
    ("Temperatures", [300.0, -1.0], "At index 1: Selected value -1 is <= the lower bound (0)"),
    ("Supercell", [1, 0, 1], "At index 1: Selected value 0 is < the lower bound (1)"),
])
def test_validators_reject_out_of_range_values_with_mantids_messages(files, name, value, message):
    algorithm = toy(files)
    before = algorithm.getPropertyValue(name)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        algorithm.setProperty(name, value)
    assert algorithm.getPropertyValue(name) == before


def test_wrong_python_types_are_refused(files):
    algorithm = toy(files)
    with pytest.raises(TypeError):
        algorithm.setProperty("Window", 2.5)
    with pytest.raises(TypeError):
        algorithm.setProperty("PerQ", "maybe-not-a-bool-object" and 3)


def test_missing_mandatory_values_stop_execution(files):
    algorithm = ToyAlgorithm()
    algorithm.initialize()
    assert algorithm.getProperty("TimeStepFs").isValid == "A value must be entered for this parameter"
    assert algorithm.getProperty("Temperatures").isValid == \
        "A value must be entered for this parameter"
    assert algorithm.getProperty("Model").isValid == "No file specified."
    with pytest.raises(RuntimeError, match="Some invalid Properties found"):
        algorithm.execute()
    assert not algorithm.isExecuted()


def test_a_missing_input_file_is_rejected_when_set(files):
    algorithm = toy(files)
    missing = files[2] / "missing.txt"
    with pytest.raises(ValueError, match="not found"):
        algorithm.setProperty("Model", str(missing))


def test_values_are_read_back_as_the_core_expects_them(files):
    trajectory, model, folder = files
    algorithm = toy(files)
    assert algorithm.execute()
    assert algorithm.resolved == {
        "trajectories": [str(trajectory)], "time_step_fs": 5.0, "window": 100,
        "q_max_inv_angstrom": None, "batch": None, "weights": "neutron", "mode": None,
        "label": None, "per_q": False, "temperature_k": [300.0], "supercell": [1, 1, 1],
        "species": None, "q_file": None, "model": str(model),
        "output_dir": str(folder / "runs"), "output": None}


def test_set_values_reach_the_core(files):
    algorithm = toy(files, QMax=7.5, Batch=3, PerQ=True, Species=["Si", "O"],
                    Supercell=np.array([2, 2, 2]), Label="x", OutputFile="result.nxs")
    assert algorithm.execute()
    resolved = algorithm.resolved
    assert resolved["q_max_inv_angstrom"] == 7.5 and resolved["batch"] == 3
    assert resolved["per_q"] is True and resolved["species"] == ["Si", "O"]
    assert resolved["supercell"] == [2, 2, 2] and resolved["label"] == "x"
    assert resolved["output"].endswith("result.nxs")


def test_validate_inputs_gives_the_cores_messages_by_property(files):
    # An optional value has no upper bound on the property (EMPTY_DBL is above it), so the
    # bound is checked by validateInputs with the core's message.
    algorithm = toy(files, QMax=60.0, Batch=2000)
    issues = algorithm.validateInputs()
    assert issues == {"QMax": "60 1/Angstrom is out of range (it must be > 0 and <= 50 1/Angstrom)",
                      "Batch": "2000 is out of range (it must be >= 1 and <= 1000)"}
    with pytest.raises(RuntimeError, match="Some invalid Properties found: \n Batch: 2000 is out"):
        algorithm.execute()


def test_a_mandatory_output_folder_is_checked_by_validate_inputs(files):
    algorithm = toy(files, OutputDir="")
    assert algorithm.validateInputs() == {
        "OutputDir": "a value is required (give --output-dir / OutputDir)"}


def test_cross_checks_of_the_core_map_to_the_property(files):
    algorithm = toy(files, Batch=100)
    assert algorithm.validateInputs() == {
        "Batch": "must differ from the window (choose another batch)"}


def test_several_trajectory_files_are_one_list(files):
    trajectory, _, folder = files
    second = folder / "b.xyz"
    second.write_text(trajectory.read_text())
    algorithm = toy(files, Trajectories=f"{trajectory},{second}")
    assert algorithm.execute()
    assert algorithm.resolved["trajectories"] == [str(trajectory), str(second)]


# -- EnabledWhen from the definitions (Parameter.applies_when) --------------------------------
from mantid.kernel import logger as _logger  # noqa: E402

from mantid_mdinsim.parameters import when  # noqa: E402

CONDITIONAL = ParameterSet("Conditional", (
    Parameter("equilibration", str, "Ensemble", default="npt", choices=("npt", "nvt", "none")),
    Parameter("pressure_gpa", float, "Pressure", unit="GPa", default=0.0,
              applies_when=when("equilibration", "npt")),
    Parameter("time_ps", float, "Time", unit="ps", default=10.0,
              applies_when=when("equilibration", "npt", "nvt")),
    Parameter("q_path", str, "Path", default=None),
    Parameter("zones", int, "Zones", default=1, minimum=1, applies_when=when("q_path")),
))


class ConditionalAlgorithm(MDAlgorithm, PythonAlgorithm):
    PARAMETERS = CONDITIONAL
    STEP = "Conditional"

    def PyInit(self):
        self.declare_parameters()

    def PyExec(self):
        self.resolved = self.resolved_parameters()


def test_enabled_when_comes_from_the_definitions():
    algorithm = ConditionalAlgorithm()
    algorithm.initialize()
    for name in ("PressureGpa", "TimePs", "Zones"):
        assert isinstance(algorithm.getProperty(name).settings, EnabledWhenProperty)
    assert algorithm.getProperty("Equilibration").settings is None
    if REAL_MANTID:
        pytest.skip("isEnabled is evaluated by Workbench's dialog")
    pressure, time, zones = (algorithm.getProperty(n).settings
                             for n in ("PressureGpa", "TimePs", "Zones"))
    assert pressure.isEnabled(algorithm) and time.isEnabled(algorithm)
    algorithm.setProperty("Equilibration", "nvt")
    assert not pressure.isEnabled(algorithm) and time.isEnabled(algorithm)
    algorithm.setProperty("Equilibration", "none")
    assert not time.isEnabled(algorithm)
    assert not zones.isEnabled(algorithm)
    algorithm.setProperty("QPath", "GXL")
    assert zones.isEnabled(algorithm)


def test_a_property_set_where_it_does_not_apply_is_logged_as_a_warning():
    algorithm = ConditionalAlgorithm()
    algorithm.initialize()
    algorithm.setRethrows(True)
    algorithm.setProperty("Equilibration", "nvt")
    algorithm.setProperty("PressureGpa", 2.0)
    del _logger.messages[:]
    assert algorithm.execute()
    assert algorithm.resolved["pressure_gpa"] == 2.0
    warnings = [text for _, priority, text in _logger.messages if priority == "warning"]
    assert warnings == ["ConditionalAlgorithm: --pressure-gpa / PressureGpa is not used: it "
                        "applies only when --equilibration / Equilibration is npt"]


@pytest.mark.parametrize("name", ["MDTrainNEP", "MDRunGPUMD", "MDComputeSqw",
                                  "MDApplyInstrument"])
def test_every_condition_of_the_definitions_greys_out_its_property(name):
    from .conftest import load_algorithm

    algorithm = load_algorithm(name)()
    algorithm.initialize()
    conditional = [p for p in algorithm.declared_parameters if p.applies_when is not None]
    assert conditional
    for parameter in conditional:
        assert isinstance(algorithm.getProperty(parameter.property_name).settings,
                          EnabledWhenProperty), parameter.name
