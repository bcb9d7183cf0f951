"""The shared parameter definitions: validation, defaults and the CLI built from them."""

import argparse

import pytest

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.parameters import Kind, Parameter, ParameterSet

PARAMETERS = ParameterSet("example", (
    Parameter("trajectory", str, "Trajectory file.", kind=Kind.INPUT_FILES, cli_positional=True),
    Parameter("time_step_fs", float, "Time between stored frames.", unit="fs",
              minimum=0.0, exclusive_minimum=True),
    Parameter("window", int, "Correlation window.", unit="frames", default=100, minimum=2),
    Parameter("weights", str, "Weighting.", default="neutron",
              choices=("neutron", "xray", "electron", "none")),
    Parameter("temperature_k", float, "Temperatures.", unit="K", default=(300.0,),
              minimum=0.0, exclusive_minimum=True, multiple=True, flag="--temperature"),
    Parameter("per_q", bool, "One spectrum per q-point.", default=False),
))


def test_resolve_fills_defaults_and_converts_types():
    resolved = PARAMETERS.resolve(trajectory=["a.xyz"], time_step_fs="10")
    assert resolved == {"trajectory": ["a.xyz"], "time_step_fs": 10.0, "window": 100,
                        "weights": "neutron", "temperature_k": [300.0], "per_q": False}


@pytest.mark.parametrize("name, value, text", [
    ("time_step_fs", 0.0, "must be > 0 fs"),
    ("window", 1, "must be >= 2 frames"),
    ("window", 2.5, "not a valid int"),
    ("weights", "neutrons", "choose one of: neutron, xray, electron, none"),
    ("temperature_k", [300, -1], "must be > 0 K"),
    ("time_step_fs", float("nan"), "not a valid float"),
])
def test_bad_values_name_the_parameter_and_the_fix(name, value, text):
    given = {"trajectory": ["a.xyz"], "time_step_fs": 1.0, name: value}
    with pytest.raises(ParameterError) as error:
        PARAMETERS.resolve(given)
    assert f"parameter '{name}'" in str(error.value)
    assert text in str(error.value)


def test_missing_and_unknown_parameters():
    with pytest.raises(ParameterError, match="time_step_fs.*--time-step-fs / TimeStepFs"):
        PARAMETERS.resolve(trajectory=["a.xyz"])
    with pytest.raises(ParameterError, match="not a parameter of example"):
        PARAMETERS.resolve(trajectory=["a.xyz"], time_step_fs=1.0, windw=3)


def test_cli_options_come_from_the_definitions():
    parser = argparse.ArgumentParser()
    PARAMETERS.add_to_argparse(parser)
    args = parser.parse_args(["a.xyz", "b.xyz", "--time-step-fs", "5", "--temperature", "300",
                              "900", "--per-q"])
    assert PARAMETERS.from_argparse(args) == {
        "trajectory": ["a.xyz", "b.xyz"], "time_step_fs": 5.0, "window": 100,
        "weights": "neutron", "temperature_k": [300.0, 900.0], "per_q": True}
    help_text = parser.format_help()
    assert "Unit: fs" in help_text and "Allowed: > 0" in help_text
    with pytest.raises(ParameterError, match="must be > 0 fs"):
        PARAMETERS.from_argparse(parser.parse_args(["a.xyz", "--time-step-fs", "-1"]))


def test_mantid_names_are_camel_case():
    assert PARAMETERS["time_step_fs"].property_name == "TimeStepFs"
    assert PARAMETERS["per_q"].property_name == "PerQ"


def test_a_default_outside_its_bounds_is_a_programming_error():
    with pytest.raises(ParameterError):
        Parameter("window", int, "w", default=1, minimum=2)


# -- aliases and "applies when" ---------------------------------------------------------------
from mantid_mdinsim.parameters import when  # noqa: E402

CONDITIONAL = ParameterSet("conditional", (
    Parameter("instrument", str, "Spectrometer.", choices=("TOSCA", "IN1-LAGRANGE", "MAPS"),
              aliases=(("Lagrange", "IN1-LAGRANGE"), ("IN1", "IN1-LAGRANGE")),
              ignore_case=True, metavar="NAME", default=None),
    Parameter("incident_energy_mev", float, "Ei.", unit="meV", default=None, flag="--ei",
              applies_when=when("instrument", "MAPS")),
    Parameter("equilibration", str, "Ensemble.", default="npt", choices=("npt", "nvt")),
    Parameter("pressure_gpa", float, "Pressure.", unit="GPa", default=0.0,
              applies_when=when("equilibration", "npt")),
    Parameter("ensemble_size", int, "Models.", default=1, minimum=1),
    Parameter("split_mode", str, "Splits.", default="bagging", choices=("bagging", "kfold"),
              applies_when=when("ensemble_size")),
    Parameter("output", str, "Output.", kind=Kind.OUTPUT_FILE, default="out.nxs"),
    Parameter("plot", bool, "Plot.", default=True, applies_when=when("output")),
))


@pytest.mark.parametrize("given, name", [
    ("TOSCA", "TOSCA"), ("tosca", "TOSCA"), ("Lagrange", "IN1-LAGRANGE"),
    ("in1", "IN1-LAGRANGE"), ("maps", "MAPS")])
def test_a_choice_is_named_in_any_case_or_by_an_alias(given, name):
    assert CONDITIONAL.resolve(instrument=given)["instrument"] == name


def test_an_unknown_choice_lists_the_choices_and_case_matters_without_ignore_case():
    with pytest.raises(ParameterError, match="'TOSKA' is not one of the allowed values.*"
                       "TOSCA, IN1-LAGRANGE, MAPS"):
        CONDITIONAL.resolve(instrument="TOSKA")
    with pytest.raises(ParameterError, match="'NPT' is not one of the allowed values"):
        CONDITIONAL.resolve(equilibration="NPT")


def test_an_alias_must_name_a_choice():
    with pytest.raises(TypeError, match="alias X of unknown Y"):
        Parameter("a", str, "a", choices=("Z",), aliases=(("X", "Y"),))


def test_the_cli_accepts_aliases_and_shows_the_metavar():
    parser = argparse.ArgumentParser()
    CONDITIONAL.add_to_argparse(parser)
    assert CONDITIONAL.from_argparse(parser.parse_args(["--instrument", "lagrange"])
                                     )["instrument"] == "IN1-LAGRANGE"
    assert "--instrument NAME" in parser.format_help()
    # Without aliases argparse itself lists and checks the choices, as before.
    assert "--equilibration {npt,nvt}" in parser.format_help()


@pytest.mark.parametrize("given, context, warned", [
    ({"pressure_gpa": 1.0}, {"equilibration": "nvt"}, ["--pressure-gpa"]),
    ({"pressure_gpa": 1.0}, {"equilibration": "npt"}, []),
    ({"pressure_gpa": 0.0}, {"equilibration": "nvt"}, []),  # the default: nothing to say
    ({"incident_energy_mev": 50.0}, {"instrument": "TOSCA"}, ["--ei"]),
    ({"incident_energy_mev": 50.0}, {"instrument": "MAPS"}, []),
    ({"split_mode": "kfold"}, {}, ["--split-mode"]),            # ensemble_size at its default
    ({"split_mode": "kfold"}, {"ensemble_size": 4}, []),
    ({"plot": False}, {}, []),                                    # a default output file is set
    ({"plot": False}, {"output": None}, ["--plot"]),              # no file (Mantid): no plot
])
def test_a_value_given_where_it_does_not_apply_is_reported(given, context, warned):
    notes = CONDITIONAL.inapplicable(given, {**CONDITIONAL.defaults(), **context})
    assert [note.split(" / ")[0] for note in notes] == warned
    if warned:
        assert "is not used: it applies only when" in notes[0]


def test_the_message_names_both_faces_and_the_values():
    notes = CONDITIONAL.inapplicable({"pressure_gpa": 1.0}, {"equilibration": "nvt"})
    assert notes == ["--pressure-gpa / PressureGpa is not used: it applies only when "
                     "--equilibration / Equilibration is npt"]


def test_conditions_name_parameters_of_the_set():
    with pytest.raises(ValueError, match="condition on unknown parameter nope"):
        CONDITIONAL.with_conditions({"plot": when("nope")})


def test_the_step_cli_warns_on_stderr_and_still_runs(capsys):
    from mantid_mdinsim.md.cli import COMMAND

    parser = argparse.ArgumentParser()
    COMMAND.add_arguments(parser)
    base = ["si.xyz", "--model", "nep.txt", "--temperature", "300", "--output-dir", "runs"]
    settings = COMMAND.settings(parser.parse_args(base + ["--equilibration", "nvt",
                                                          "--pressure-gpa", "2"]))
    assert settings["pressure_gpa"] == 2.0 and settings["equilibration"] == "nvt"
    assert capsys.readouterr().err == (
        "mdinsim md: warning: --pressure-gpa / PressureGpa is not used: it applies only when "
        "--equilibration / Equilibration is npt or pimd_npt\n")
    COMMAND.settings(parser.parse_args(base + ["--equilibration", "npt", "--pressure-gpa", "2"]))
    assert capsys.readouterr().err == ""


def test_every_step_command_is_built_by_the_one_builder():
    import importlib

    from mantid_mdinsim.cli import COMMANDS
    from mantid_mdinsim.step_cli import StepCLI

    for name in ("train", "md", "sqw", "instrument", "harmonic", "predict"):
        module = importlib.import_module(COMMANDS[name][0])
        assert isinstance(module.COMMAND, StepCLI)
        assert module.add_arguments == module.COMMAND.add_arguments


# -- refusing conditions ------------------------------------------------------------------------
REFUSING = ParameterSet("refusing", (
    Parameter("q_path", str, "Path.", default=None),
    Parameter("zones", int, "Zones.", default=1, minimum=1,
              applies_when=when("q_path", refuse="zones repeat a --q-path, which is not given")),
    Parameter("resolution", str, "Resolution.", default="instrument",
              choices=("instrument", "none")),
    Parameter("resolution_model", str, "Model.", default=None,
              applies_when=when("resolution", "instrument", refuse="--resolution none applies "
                                "no resolution")),
    Parameter("split_mode", str, "Splits.", default="bagging", applies_when=when("q_path")),
))


@pytest.mark.parametrize("given, message", [
    ({"zones": 3}, "parameter 'zones': 3 is given, but zones repeat a --q-path, which is not "
                   "given (give --q-path too, or leave --zones out)"),
    ({"resolution": "none", "resolution_model": "PyChop_fit"},
     "parameter 'resolution_model': PyChop_fit is given, but --resolution none applies no "
     "resolution (leave --resolution-model out, or give --resolution instrument)"),
])
def test_a_refusing_condition_is_an_error_of_resolve_not_a_warning(given, message):
    with pytest.raises(ParameterError) as error:
        REFUSING.resolve(given)
    assert str(error.value) == message
    # Not a warning as well: inapplicable() leaves refusing conditions to resolve().
    assert REFUSING.inapplicable(given) == []


@pytest.mark.parametrize("given", [
    {"zones": 1},                                      # the default: nothing was asked
    {"zones": 3, "q_path": "G-X"},                     # the condition holds
    {"resolution": "none"},
    {"resolution_model": "PyChop_fit"},
    {"split_mode": "kfold"},                           # a warning-only condition: no error
])
def test_values_that_apply_or_stay_at_their_defaults_are_accepted(given):
    assert {name: REFUSING.resolve(given)[name] for name in given} == given


def test_every_face_refuses_zones_without_a_path(tmp_path):
    """The CLI (StepCLI.settings), the Python API (compute_sqw, SqwSettings) refuse it alike
    before any file is read (the trajectory does not exist); Mantid's validateInputs is tested
    in tests/mantid/test_md_compute_sqw.py."""
    from mantid_mdinsim.sqw import SqwSettings, compute_sqw
    from mantid_mdinsim.sqw.cli import COMMAND

    parser = argparse.ArgumentParser()
    COMMAND.add_arguments(parser)
    missing = str(tmp_path / "missing.xyz")
    args = parser.parse_args([missing, "--time-step-fs", "10", "--zones", "3",
                              "--output", str(tmp_path / "sqw.nxs")])
    for face in (lambda: COMMAND.settings(args),
                 lambda: compute_sqw(trajectories=[missing], time_step_fs=10.0, zones=3),
                 lambda: SqwSettings.from_values(trajectories=[missing], time_step_fs=10.0,
                                                 zones=3)):
        with pytest.raises(ParameterError, match="parameter 'zones'.*give --q-path too"):
            face()


def test_every_face_refuses_a_resolution_model_without_resolution():
    import numpy as np

    from mantid_mdinsim.instrument import InstrumentSettings, apply_instrument
    from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis

    sqw = Spectrum(x=energy_axis(np.linspace(0.0, 50.0, 51)), values=np.ones((3, 50)),
                   vertical=momentum_axis(np.array([1.0, 2.0, 3.0])), distribution=True)
    for face in (lambda: apply_instrument(sqw, instrument="ARCS", resolution="none",
                                          resolution_model="PyChop_fit"),
                 lambda: InstrumentSettings.from_values(instrument="ARCS", resolution="none",
                                                        resolution_model="PyChop_fit")):
        with pytest.raises(ParameterError, match="parameter 'resolution_model'.*--resolution "
                                                 "none applies no resolution"):
            face()
