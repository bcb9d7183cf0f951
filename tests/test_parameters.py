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
