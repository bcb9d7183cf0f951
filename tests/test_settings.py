"""The typed settings of a step (:class:`StepSettings`): built from the one ParameterSet."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.parameters import REQUIRED, Parameter, ParameterSet, StepSettings

TOY = ParameterSet("Toy", (
    Parameter("temperature_k", float, "temperature", unit="K", minimum=0.0, multiple=True,
              default=REQUIRED),
    Parameter("window", int, "window", default=10, minimum=2),
    Parameter("mode", str, "mode", default="fast", choices=("fast", "exact"),
              aliases=(("quick", "fast"),)),
))


@dataclass(frozen=True)
class ToySettings(StepSettings, parameters=TOY):
    temperature_k: tuple[float, ...]
    window: int
    mode: str


def test_settings_are_validated_filled_and_frozen():
    settings = ToySettings.from_values({"temperature_k": [300, 900]}, mode="quick")
    assert settings.temperature_k == (300.0, 900.0)
    assert settings.window == 10 and settings.mode == "fast"
    with pytest.raises(FrozenInstanceError):
        settings.window = 3  # type: ignore[misc]
    assert settings.as_values() == {"temperature_k": [300.0, 900.0], "window": 10,
                                    "mode": "fast"}
    assert settings.given() == {"temperature_k": [300.0, 900.0]}
    assert settings.replace(window=20).window == 20
    assert ToySettings.from_values(settings, window=4).temperature_k == (300.0, 900.0)
    assert hash(settings) == hash(ToySettings.from_values(temperature_k=[300, 900]))


def test_settings_refuse_what_the_parameters_refuse():
    with pytest.raises(ParameterError, match="window"):
        ToySettings.from_values(temperature_k=[300], window=1)
    with pytest.raises(ParameterError, match="temperature_k"):
        ToySettings.from_values()
    with pytest.raises(ParameterError, match="windw"):
        ToySettings.from_values(temperature_k=[300], windw=4)
    with pytest.raises(ParameterError, match="window"):
        ToySettings.from_values(temperature_k=[300]).replace(window=0)


def test_fields_must_match_the_parameters():
    @dataclass(frozen=True)
    class Drifted(StepSettings, parameters=TOY):
        temperature_k: tuple[float, ...]
        window: int

    with pytest.raises(TypeError, match=r"missing \['mode'\]"):
        Drifted.from_values(temperature_k=[300])


def test_each_step_declares_its_settings_from_its_parameters_and_its_command_builds_them(
        tmp_path):
    """SqwSettings, InstrumentSettings and HarmonicSettings have exactly their step's
    parameters, in order; each command's StepCLI.settings gives that object, equal to the one
    the Python API builds from the same values."""
    import argparse

    from mantid_mdinsim.harmonic.cli import COMMAND as HARMONIC
    from mantid_mdinsim.harmonic.parameters import HarmonicSettings
    from mantid_mdinsim.instrument.cli import COMMAND as INSTRUMENT
    from mantid_mdinsim.instrument.parameters import InstrumentSettings
    from mantid_mdinsim.sqw.cli import COMMAND as SQW
    from mantid_mdinsim.sqw.parameters import SqwSettings

    output = str(tmp_path / "out.nxs")
    cases = [
        (SQW, SqwSettings, ["run.xyz", "--time-step-fs", "10", "--output", output],
         {"trajectories": ["run.xyz"], "time_step_fs": 10.0, "output": output}),
        (INSTRUMENT, InstrumentSettings, ["sqw.nxs", "--instrument", "tosca", "--output", output],
         {"input_file": "sqw.nxs", "instrument": "TOSCA", "output_file": output}),
        (HARMONIC, HarmonicSettings, ["si.cif", "--temperature", "300", "--output", output],
         {"structure": "si.cif", "temperature_k": 300.0, "output": output}),
    ]
    for command, settings_type, argv, values in cases:
        settings_type._check_fields()
        parser = argparse.ArgumentParser()
        command.add_arguments(parser)
        settings = command.settings(parser.parse_args(argv))
        assert isinstance(settings, settings_type)
        assert settings == settings_type.from_values(values)
        assert settings.given() == values
